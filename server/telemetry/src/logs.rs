//! The process's one tracing subscriber: an `EnvFilter`, a text or JSON formatter on stdout
//! (colour only when stdout is a terminal), and, when OTLP export is configured, the
//! OpenTelemetry layer that turns spans into exported traces.

use std::io::IsTerminal;

use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::{EnvFilter, Layer, layer::SubscriberExt, util::SubscriberInitExt};

use crate::traces;

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

/// Keeps the tracer alive; dropping it flushes the spans still buffered for export.
#[derive(Debug)]
pub struct Telemetry {
    tracer: SdkTracerProvider,
    exporting: bool,
}

impl Telemetry {
    /// Whether spans are exported.
    pub fn exporting(&self) -> bool {
        self.exporting
    }
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if self.exporting {
            if let Err(e) = self.tracer.shutdown() {
                eprintln!("could not flush the last traces: {e}");
            }
        }
    }
}

/// Installs the subscriber for `service` (its `service.name` unless `OTEL_SERVICE_NAME` says
/// otherwise). Must run inside a Tokio runtime when OTLP export is configured.
pub fn init(filter: &str, format: LogFormat, service: &str) -> Result<Telemetry, TelemetryError> {
    install(filter, format, traces::provider_from_env(service)?)
}

/// [`init`], exporting spans to the OTLP/gRPC `endpoint` whatever the environment says (the
/// benchmark's own receiver).
pub fn init_exporting_to(
    filter: &str,
    format: LogFormat,
    service: &str,
    endpoint: &str,
) -> Result<Telemetry, TelemetryError> {
    install(
        filter,
        format,
        traces::provider(service, true, Some(endpoint))?,
    )
}

fn install(
    filter: &str,
    format: LogFormat,
    (tracer, exporting): (SdkTracerProvider, bool),
) -> Result<Telemetry, TelemetryError> {
    let env_filter = EnvFilter::try_new(filter).map_err(|e| TelemetryError::Filter {
        filter: filter.to_owned(),
        reason: e.to_string(),
    })?;
    let formatter = match format {
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_ansi(std::io::stdout().is_terminal())
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .boxed(),
    };
    let otel = {
        use opentelemetry::trace::TracerProvider;
        tracing_opentelemetry::layer().with_tracer(tracer.tracer("causeway"))
    };
    traces::install_propagator();
    tracing_subscriber::registry()
        .with(env_filter)
        .with(formatter)
        .with(otel)
        .try_init()
        .map_err(|_| TelemetryError::AlreadyInitialised)?;
    Ok(Telemetry { tracer, exporting })
}
