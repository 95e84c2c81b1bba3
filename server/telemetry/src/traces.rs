//! Traces: exported over OTLP/gRPC when the standard variables ask for it
//! (`OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`; `OTEL_SERVICE_NAME`,
//! `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_TRACES_SAMPLER[_ARG]` as the SDK reads them;
//! `OTEL_TRACES_EXPORTER=none` turns export off), nothing exported otherwise. W3C trace context
//! (`traceparent`, `tracestate`) is read from incoming headers and written to outgoing ones, so
//! one trace follows a request from the gateway through the server.

use std::sync::Arc;

use http::HeaderMap;
use opentelemetry::{
    Context,
    propagation::{Extractor, Injector, TextMapPropagator},
    trace::{SpanContext, TraceContextExt},
};
use opentelemetry_sdk::{Resource, propagation::TraceContextPropagator, trace::SpanProcessor};

pub use crate::bridge::describe;
use crate::{bridge, logs::TelemetryError};

/// Where the process's sampled spans go: an OTLP batch exporter when the environment names an
/// endpoint, nowhere otherwise. Spans always get W3C ids (so logs carry trace ids and events
/// store a `traceparent`); they leave the process only with an exporter.
pub fn export_from_env(service: &str) -> Result<Option<Arc<dyn SpanProcessor>>, TelemetryError> {
    match export_asked(|name| std::env::var(name).ok()) {
        true => export_to(service, None).map(Some),
        false => Ok(None),
    }
}

/// Whether the variables `var` reads ask for export: an endpoint is named (blank counts as
/// unset) and `OTEL_TRACES_EXPORTER` is not `none`.
fn export_asked(var: impl Fn(&str) -> Option<String>) -> bool {
    let var = |name: &str| var(name).filter(|v| !v.trim().is_empty());
    var("OTEL_TRACES_EXPORTER").is_none_or(|v| v != "none")
        && (var("OTEL_EXPORTER_OTLP_ENDPOINT").is_some()
            || var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").is_some())
}

/// An OTLP/gRPC batch exporter for `service`, to `endpoint` or where the `OTEL_*` variables say.
pub fn export_to(
    service: &str,
    endpoint: Option<&str>,
) -> Result<Arc<dyn SpanProcessor>, TelemetryError> {
    let mut resource = Resource::builder();
    if std::env::var("OTEL_SERVICE_NAME").is_err() {
        resource = resource.with_service_name(service.to_owned());
    }
    let exporter = opentelemetry_otlp::SpanExporter::builder().with_tonic();
    let exporter = match endpoint {
        Some(endpoint) => {
            use opentelemetry_otlp::WithExportConfig;
            exporter.with_endpoint(endpoint)
        }
        None => exporter,
    };
    let exporter = exporter
        .build()
        .map_err(|e| TelemetryError::Otlp(e.to_string()))?;
    let counters = crate::batches::process_counters().clone();
    let config = crate::batches::config_from_env();
    let mut processor = crate::batches::batch_processor(exporter, config, counters)
        .map_err(|e| TelemetryError::Otlp(format!("starting the span exporter: {e}")))?;
    processor.set_resource(&resource.build());
    Ok(Arc::new(processor))
}

/// Makes W3C trace context the process's propagation format.
pub fn install_propagator() {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
}

struct Headers<'a>(&'a HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

struct HeadersMut<'a>(&'a mut HeaderMap);

impl Injector for HeadersMut<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(key.as_bytes()),
            http::HeaderValue::from_str(&value),
        ) {
            self.0.insert(name, value);
        }
    }
}

/// The remote trace context `headers` carry (an empty context when they carry none or a
/// malformed one: a bad `traceparent` starts a new trace, as W3C asks).
pub fn extract(headers: &HeaderMap) -> Context {
    TraceContextPropagator::new().extract(&Headers(headers))
}

/// `read` of the span context of `span`, when the process's subscriber gave it a valid one.
fn context_of<R>(span: &tracing::Span, read: impl FnOnce(&SpanContext) -> R) -> Option<R> {
    bridge::with_recording(span, |_, recording| {
        recording
            .context
            .is_valid()
            .then(|| read(&recording.context))
    })
    .flatten()
}

/// Writes the trace context of `span` into `headers` (`traceparent`, `tracestate`).
pub fn inject(span: &tracing::Span, headers: &mut HeaderMap) {
    if let Some(context) = context_of(span, SpanContext::clone) {
        let context = Context::new().with_remote_span_context(context);
        TraceContextPropagator::new().inject_context(&context, &mut HeadersMut(headers));
    }
}

/// Makes `span` (a root: a request's first span) a child of the trace `headers` carry, or
/// settles it as the root of its own trace when they carry none.
pub fn continue_trace(span: &tracing::Span, headers: &HeaderMap) {
    if !headers.contains_key("traceparent") {
        bridge::settle(span, None);
        return;
    }
    let remote = extract(headers);
    let remote = remote.span();
    let parent = remote.span_context();
    bridge::settle(span, parent.is_valid().then_some(parent));
}

/// Links `span` to the trace of a W3C `traceparent` (a follower such as a projection applying
/// an event that request wrote), without making it part of that trace.
pub fn link_to(span: &tracing::Span, traceparent: &str) {
    let mut headers = HeaderMap::new();
    if let Ok(value) = http::HeaderValue::from_str(traceparent) {
        headers.insert("traceparent", value);
    }
    let remote = extract(&headers);
    let context = remote.span().span_context().clone();
    if context.is_valid() {
        bridge::link(span, context);
    }
}

/// The trace id of `span` as 32 hex digits, when it belongs to a trace (always, once
/// [`crate::logs::init`] ran).
pub fn trace_id(span: &tracing::Span) -> Option<String> {
    context_of(span, |c| {
        let mut id = String::with_capacity(32);
        push_hex(&mut id, &c.trace_id().to_bytes());
        id
    })
}

/// The W3C `traceparent` of `span`, to store with what it writes (events' metadata): version
/// `00`, the trace id, the span id and the flags, as [`inject`] writes it.
pub fn traceparent(span: &tracing::Span) -> Option<String> {
    context_of(span, |c| {
        let mut header = String::with_capacity(55);
        header.push_str("00-");
        push_hex(&mut header, &c.trace_id().to_bytes());
        header.push('-');
        push_hex(&mut header, &c.span_id().to_bytes());
        header.push('-');
        push_hex(&mut header, &[c.trace_flags().to_u8()]);
        header
    })
}

/// Appends `bytes` as lowercase hex, two digits each: how W3C trace context writes ids. Every
/// request formats its trace id at least twice (its access line, its events' `traceparent`);
/// `{:032x}` through `core::fmt` costs several times this (the `span_cost` example).
pub(crate) fn push_hex(out: &mut String, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    out.reserve(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0xf)]));
    }
}

#[cfg(test)]
mod tests {
    use tracing_subscriber::layer::SubscriberExt;

    use super::*;

    #[test]
    fn spans_are_exported_only_when_an_endpoint_is_named_and_export_is_not_off() {
        let asked = |vars: &[(&str, &str)]| {
            export_asked(|name| {
                vars.iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| (*v).to_owned())
            })
        };
        let endpoint = ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317");
        assert!(!asked(&[]), "nothing set: nothing exported");
        assert!(!asked(&[("OTEL_EXPORTER_OTLP_ENDPOINT", " ")]), "blank");
        assert!(asked(&[endpoint]));
        assert!(asked(&[(
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "http://collector:4317"
        )]));
        assert!(!asked(&[endpoint, ("OTEL_TRACES_EXPORTER", "none")]));
        assert!(asked(&[endpoint, ("OTEL_TRACES_EXPORTER", "otlp")]));
    }

    #[test]
    fn ids_are_written_as_the_sdk_writes_them() {
        let trace = opentelemetry::trace::TraceId::from_hex("0af7651916cd43dd8448eb211c80319c")
            .expect("a valid id");
        let span = opentelemetry::trace::SpanId::from(0x00f0_67aa_0ba9_02b7);
        let (mut trace_hex, mut span_hex) = (String::new(), String::new());
        push_hex(&mut trace_hex, &trace.to_bytes());
        push_hex(&mut span_hex, &span.to_bytes());
        assert_eq!(trace_hex, trace.to_string());
        assert_eq!(span_hex, "00f067aa0ba902b7");
        assert_eq!(span_hex, span.to_string());
    }

    #[test]
    fn the_stored_traceparent_is_what_the_propagator_writes_and_continues_the_trace() {
        let subscriber = tracing_subscriber::registry().with(bridge::Bridge::new(None));
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("request");
            let stored = traceparent(&span).expect("a span with a trace");
            let mut headers = HeaderMap::new();
            inject(&span, &mut headers);
            assert_eq!(headers["traceparent"], stored.as_str());

            // A follower linked to it, or a request carrying it, continues that trace.
            let mut carried = HeaderMap::new();
            carried.insert("traceparent", stored.parse().unwrap());
            let next = tracing::info_span!("next");
            continue_trace(&next, &carried);
            assert_eq!(trace_id(&next), trace_id(&span));
        });
    }
}
