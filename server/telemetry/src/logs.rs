//! The process's one tracing subscriber: an `EnvFilter`, a text or JSON formatter on stdout
//! (colour only when stdout is a terminal), and the layer that gives spans W3C ids and, when
//! OTLP export is configured, exports the sampled ones.

use std::{io::IsTerminal, sync::Arc};

use opentelemetry_sdk::trace::SpanProcessor;
use tracing_subscriber::{
    EnvFilter, Layer, Registry,
    fmt::{MakeWriter, writer::BoxMakeWriter},
    layer::SubscriberExt,
    reload,
    util::SubscriberInitExt,
};

use crate::{bridge::Bridge, traces};

/// How log lines look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines (coloured only on a terminal).
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

/// Why telemetry could not start.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// The log filter does not parse.
    #[error("invalid log filter {filter:?}: {reason}")]
    Filter {
        /// The filter given.
        filter: String,
        /// Why it does not parse.
        reason: String,
    },
    /// The OTLP exporter could not be built from the `OTEL_*` settings.
    #[error("cannot export traces over OTLP: {0}")]
    Otlp(String),
    /// A subscriber was already installed in this process.
    #[error("telemetry was already initialised in this process")]
    AlreadyInitialised,
}

/// Keeps the span exporter alive; dropping it flushes the spans still buffered for export.
pub struct Telemetry {
    export: Option<Arc<dyn SpanProcessor>>,
    filter: reload::Handle<EnvFilter, Registry>,
}

impl std::fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Telemetry")
            .field("exporting", &self.exporting())
            .finish_non_exhaustive()
    }
}

impl Telemetry {
    /// Whether spans are exported.
    pub fn exporting(&self) -> bool {
        self.export.is_some()
    }

    /// Replaces the filter of logs and spans while the process runs (`off` silences both):
    /// what the benchmark uses to compare the same server with and without them.
    pub fn set_filter(&self, filter: &str) -> Result<(), TelemetryError> {
        let parsed = parse_filter(filter)?;
        self.filter
            .reload(parsed)
            .map_err(|e| TelemetryError::Filter {
                filter: filter.to_owned(),
                reason: e.to_string(),
            })
    }
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(export) = &self.export
            && let Err(e) = export.shutdown()
        {
            eprintln!("could not flush the last traces: {e}");
        }
    }
}

/// Installs the subscriber for `service` (its `service.name` unless `OTEL_SERVICE_NAME` says
/// otherwise). Must run inside a Tokio runtime when OTLP export is configured.
pub fn init(filter: &str, format: LogFormat, service: &str) -> Result<Telemetry, TelemetryError> {
    install(
        filter,
        format,
        traces::export_from_env(service)?,
        BoxMakeWriter::new(std::io::stdout),
    )
}

/// [`init`], exporting spans to the OTLP/gRPC `endpoint` whatever the environment says, with
/// log lines written to `logs` as text (the benchmark's own receiver and a sink).
pub fn init_exporting_to<W>(
    filter: &str,
    service: &str,
    endpoint: &str,
    logs: W,
) -> Result<Telemetry, TelemetryError>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    install(
        filter,
        LogFormat::Text,
        Some(traces::export_to(service, Some(endpoint))?),
        BoxMakeWriter::new(logs),
    )
}

fn parse_filter(filter: &str) -> Result<EnvFilter, TelemetryError> {
    EnvFilter::try_new(filter).map_err(|e| TelemetryError::Filter {
        filter: filter.to_owned(),
        reason: e.to_string(),
    })
}

fn install(
    filter: &str,
    format: LogFormat,
    export: Option<Arc<dyn SpanProcessor>>,
    logs: BoxMakeWriter,
) -> Result<Telemetry, TelemetryError> {
    let (env_filter, handle) = reload::Layer::new(parse_filter(filter)?);
    let formatter = match format {
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_writer(logs)
            .with_ansi(std::io::stdout().is_terminal())
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .with_writer(logs)
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .boxed(),
    };
    // Spans get W3C ids and, when sampled and exported, carry what names them and what their
    // fields say (`bridge`). The access log line is written outside the request's span, with
    // its trace id as a field: a log line, never a span event; the span has its code as
    // `rpc.grpc.status_code` or `http.response.status_code`.
    let spans = Bridge::new(export.clone());
    traces::install_propagator();
    tracing_subscriber::registry()
        .with(env_filter)
        .with(formatter)
        .with(spans)
        .try_init()
        .map_err(|_| TelemetryError::AlreadyInitialised)?;
    Ok(Telemetry {
        export,
        filter: handle,
    })
}
