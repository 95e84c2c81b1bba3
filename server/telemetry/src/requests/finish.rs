//! The end of one observed request: its outcome (the `grpc-status` of a trailers-only answer or
//! of the trailers, the HTTP status otherwise, `CANCELLED` when the client went away), recorded
//! once in the metrics, the span and the access log, from the response body that carries it.

use std::{
    pin::Pin,
    task::{Context, Poll},
};

use http::HeaderMap;
use http_body::{Body, Frame};
use pin_project_lite::pin_project;

use tracing::info;

use super::{Arrival, GrpcLabels, HttpLabels, Protocol};

pub(super) fn grpc_status(headers: &HeaderMap) -> Option<String> {
    headers
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .map(code_name)
}

/// gRPC status codes by number.
const NAMES: [&str; 17] = [
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
];

/// The canonical name of a gRPC status code number.
fn code_name(number: &str) -> String {
    number
        .trim()
        .parse::<usize>()
        .ok()
        .and_then(|n| NAMES.get(n))
        .map_or_else(|| "UNKNOWN".to_owned(), |name| (*name).to_owned())
}

/// The number of a gRPC status code's canonical name.
fn code_number(name: &str) -> Option<i64> {
    NAMES.iter().position(|n| *n == name).map(|n| n as i64)
}

/// Records a request once: when its body ends (gRPC: at its trailers), or when it is dropped,
/// with the outcome known by then (a dropped body whose outcome is unknown: the client went
/// away, `CANCELLED`).
pub(super) struct Finish {
    pub(super) arrival: Option<Arrival>,
    pub(super) route: String,
    pub(super) subject: Option<String>,
    /// The outcome (gRPC code name or HTTP status), once known.
    pub(super) known: Option<String>,
}

impl Finish {
    /// Records nothing (an inactive layer).
    pub(super) fn nothing() -> Self {
        Self {
            arrival: None,
            route: String::new(),
            subject: None,
            known: None,
        }
    }

    pub(super) fn finish(&mut self, fallback: &str) {
        let code = self.known.take().unwrap_or_else(|| fallback.to_owned());
        self.record(code);
    }

    fn record(&mut self, code: String) {
        let Some(arrival) = self.arrival.take() else {
            return;
        };
        let (service, method) = arrival.target;
        let seconds = arrival.started.elapsed().as_secs_f64();
        let families = &arrival.layer.families;
        let trace_id = &arrival.trace_id;
        let subject = self.subject.as_deref().unwrap_or("-");
        match arrival.layer.protocol {
            Protocol::Grpc => {
                if let Some(number) = code_number(&code) {
                    arrival.span.record("rpc.grpc.status_code", number);
                }
                let labels = GrpcLabels {
                    service,
                    method,
                    code,
                };
                families.grpc_count.get_or_create(&labels).inc();
                families
                    .grpc_seconds
                    .get_or_create(&labels)
                    .observe(seconds);
                info!(
                    target: super::ACCESS_LOG,
                    parent: None,
                    protocol = "grpc",
                    service = %labels.service,
                    method = %labels.method,
                    code = %labels.code,
                    duration_ms = seconds * 1000.0,
                    trace_id = %trace_id,
                    subject = %subject,
                    "request"
                );
            }
            Protocol::Http => {
                if let Ok(status) = code.parse::<u16>() {
                    arrival.span.record("http.response.status_code", status);
                }
                let labels = HttpLabels {
                    route: std::mem::take(&mut self.route),
                    method: arrival.method.to_string(),
                    status: code,
                };
                families.http_count.get_or_create(&labels).inc();
                families
                    .http_seconds
                    .get_or_create(&labels)
                    .observe(seconds);
                info!(
                    target: super::ACCESS_LOG,
                    parent: None,
                    protocol = "http",
                    route = %labels.route,
                    method = %labels.method,
                    status = %labels.status,
                    duration_ms = seconds * 1000.0,
                    trace_id = %trace_id,
                    subject = %subject,
                    "request"
                );
            }
        }
    }
}

impl Drop for Finish {
    fn drop(&mut self) {
        self.finish("CANCELLED");
    }
}

pin_project! {
    /// A response body that records its request when it ends.
    pub struct Recorded<B> {
        #[pin]
        body: B,
        finish: Finish,
    }
}

impl<B> Recorded<B> {
    /// `body`, recording its request through `finish` when it ends.
    pub(super) fn new(body: B, finish: Finish) -> Self {
        Self { body, finish }
    }
}

impl<B: Body> Body for Recorded<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let polled = this.body.poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                // A gRPC answer ends with its trailers; the body may not be polled again.
                if let Some(code) = frame.trailers_ref().and_then(grpc_status) {
                    this.finish.record(code);
                }
            }
            Poll::Ready(Some(Err(_))) => this.finish.record("ERROR".to_owned()),
            Poll::Ready(None) => this.finish.finish("OK"),
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_codes_have_their_canonical_names() {
        assert_eq!(code_name("0"), "OK");
        assert_eq!(code_name("16"), "UNAUTHENTICATED");
        assert_eq!(code_name("99"), "UNKNOWN");
        assert_eq!(code_name("x"), "UNKNOWN");
    }
}
