//! What Causeway's processes tell operators, shared by `causeway-server` and `causeway-gateway`
//! so both speak the same way: logs (text or JSON, no colour codes outside a terminal),
//! Prometheus metrics on their own listener, OpenTelemetry traces over OTLP when the standard
//! `OTEL_*` variables ask for them, W3C trace context in and out, and one access-log line per
//! request.
//!
//! Layout:
//! - `logs`: `LogFormat` and `init`, the process's one tracing subscriber.
//! - `filter`: its filter, `target=level` directives decided once per callsite.
//! - `lines`: its log lines, text or JSON, with the trace and span ids of the spans they are
//!   written in.
//! - `bridge`: the layer that gives every `tracing` span W3C ids and hands the sampled ones
//!   to the OTLP exporter.
//! - `batches`: the batch processor in front of the exporter, its thread at the lowest CPU
//!   priority so that export gives way to requests.
//! - `traces`: the OTLP tracer (from `OTEL_EXPORTER_OTLP_ENDPOINT` and friends) and W3C
//!   `traceparent`/`tracestate` extraction and injection for HTTP headers.
//! - `metrics`: `Metrics`, the process's Prometheus registry, and `serve`, its `/metrics`
//!   endpoint.
//! - `process`: resident memory, CPU time and open file descriptors, read at each scrape.
//! - `requests`: the tower layer that times, counts, traces and logs every request, for gRPC
//!   (service, method, status code) and HTTP (route, method, status).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod batches;
mod bridge;
mod filter;
mod lines;
pub mod logs;
pub mod metrics;
pub mod process;
pub mod requests;
pub mod traces;

pub use logs::{LogFormat, Telemetry, TelemetryError};
pub use metrics::Metrics;
pub use requests::{Protocol, RequestsLayer};
