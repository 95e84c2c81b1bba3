//! The process's one tracing subscriber: the filter (`filter`), text or JSON log lines on
//! stdout (`lines`, colour only when stdout is a terminal), and the layer that gives spans W3C
//! ids and, when OTLP export is configured, exports the sampled ones (`bridge`).

use std::{
    io::{IsTerminal, Write},
    sync::Arc,
};

use opentelemetry_sdk::trace::SpanProcessor;
use tracing_subscriber::{layer::SubscriberExt, util::SubscriberInitExt};

use crate::{bridge::Bridge, filter::Switch, lines::Lines, traces};

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
    filter: Switch,
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

    /// Exports what is batched and waits until it is sent: what the benchmark does after each
    /// traced phase, so that no phase pays for another's spans. A no-op without an exporter.
    pub fn flush(&self) -> Result<(), TelemetryError> {
        match &self.export {
            Some(export) => export
                .force_flush()
                .map_err(|e| TelemetryError::Otlp(e.to_string())),
            None => Ok(()),
        }
    }

    /// Replaces the filter of logs and spans while the process runs (`off` silences both):
    /// what the benchmark uses to compare the same server with and without them.
    pub fn set_filter(&self, filter: &str) -> Result<(), TelemetryError> {
        self.filter.set(filter)
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
    let stdout = std::io::stdout();
    let colour = format == LogFormat::Text && stdout.is_terminal();
    install(
        filter,
        Lines::new(format, colour, Box::new(stdout)),
        traces::export_from_env(service)?,
    )
}

/// [`init`], exporting spans to the OTLP/gRPC `endpoint` whatever the environment says, with
/// log lines written to `logs` as text (the benchmark's own receiver and a sink).
pub fn init_exporting_to(
    filter: &str,
    service: &str,
    endpoint: &str,
    logs: impl Write + Send + 'static,
) -> Result<Telemetry, TelemetryError> {
    install(
        filter,
        Lines::new(LogFormat::Text, false, Box::new(logs)),
        Some(traces::export_to(service, Some(endpoint))?),
    )
}

fn install(
    filter: &str,
    lines: Lines,
    export: Option<Arc<dyn SpanProcessor>>,
) -> Result<Telemetry, TelemetryError> {
    let filter = Switch::new(filter)?;
    // Spans get W3C ids and, when sampled and exported, carry what names them and what their
    // fields say (`bridge`). The access log line is written outside the request's span, with
    // its trace id as a field: a log line, never a span event; the span has its code as
    // `rpc.grpc.status_code` or `http.response.status_code`.
    let spans = Bridge::new(export.clone());
    traces::install_propagator();
    tracing_subscriber::registry()
        .with(filter.clone())
        .with(lines)
        .with(spans)
        .try_init()
        .map_err(|_| TelemetryError::AlreadyInitialised)?;
    Ok(Telemetry { export, filter })
}
