//! One tower layer at the edge of each process that, for every request: continues the caller's
//! W3C trace (or starts one) in a span covering the request, counts and times it by what it
//! called and how it ended, and writes one access-log line (method, code, duration, trace id,
//! subject). Nothing of the request's content is logged, so no token or password can be.
//!
//! gRPC requests are labelled by service, method and status code (from the `grpc-status`
//! header of a trailers-only answer, or from the trailers when the body ends); HTTP requests by
//! route, method and status, the route being what the handler names in the response's
//! [`Route`] extension (`unmatched` otherwise), so labels never grow with paths or ids.

use std::{
    borrow::Cow,
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Instant,
};

use http::{Request, Response};
use http_body::Body;
use opentelemetry::{KeyValue, trace::SpanKind};
use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family, histogram::Histogram},
};
use tower::{Layer, Service};
use tracing::{Instrument, Span, field::Empty, info_span};

use crate::{metrics::Metrics, traces};

mod finish;

/// The target of access-log lines: logs only, never an event on the request's span (whose
/// attributes say the same).
pub(crate) const ACCESS_LOG: &str = "access";

pub use self::finish::Recorded;
use self::finish::{Finish, grpc_status};

/// The route an HTTP handler answered for, put in the response's extensions.
#[derive(Debug, Clone)]
pub struct Route(pub String);

/// Who made the request, put in the response's extensions by the authentication layer, for
/// the access log.
#[derive(Debug, Clone)]
pub struct Subject(pub String);

/// What kind of requests a layer sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// gRPC over HTTP/2: labelled by service, method and gRPC status.
    Grpc,
    /// REST over HTTP: labelled by route, method and HTTP status.
    Http,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct GrpcLabels {
    service: String,
    method: String,
    code: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct HttpLabels {
    route: String,
    method: String,
    status: String,
}

/// Latency buckets for requests, seconds: 0.5 ms to 10 s.
const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Clone)]
struct Families {
    grpc_count: Family<GrpcLabels, Counter>,
    grpc_seconds: Family<GrpcLabels, Histogram>,
    http_count: Family<HttpLabels, Counter>,
    http_seconds: Family<HttpLabels, Histogram>,
}

/// Observes every request of a process.
#[derive(Clone)]
pub struct RequestsLayer {
    protocol: Protocol,
    families: Arc<Families>,
    services: Arc<[&'static str]>,
    active: bool,
}

impl RequestsLayer {
    /// A layer for `protocol` requests, registering its metrics in `metrics`. For gRPC,
    /// `services` are the service names labelled as themselves (others are `unknown`, so a
    /// caller cannot grow the label set).
    pub fn new(protocol: Protocol, metrics: &Metrics, services: &[&'static str]) -> Self {
        let histogram = || Histogram::new(BUCKETS);
        let families = Families {
            grpc_count: Family::default(),
            grpc_seconds: Family::new_with_constructor(histogram),
            http_count: Family::default(),
            http_seconds: Family::new_with_constructor(histogram),
        };
        match protocol {
            Protocol::Grpc => {
                metrics.register(
                    "grpc_requests",
                    "gRPC requests handled, by service, method and status code.",
                    families.grpc_count.clone(),
                );
                metrics.register(
                    "grpc_request_duration_seconds",
                    "Time to answer a gRPC request, until its last byte, in seconds.",
                    families.grpc_seconds.clone(),
                );
            }
            Protocol::Http => {
                metrics.register(
                    "http_requests",
                    "HTTP requests handled, by route, method and status.",
                    families.http_count.clone(),
                );
                metrics.register(
                    "http_request_duration_seconds",
                    "Time to answer an HTTP request, until its last byte, in seconds.",
                    families.http_seconds.clone(),
                );
            }
        }
        Self {
            protocol,
            families: Arc::new(families),
            services: services.into(),
            active: true,
        }
    }

    /// A layer that observes nothing (it only passes requests through): the uninstrumented
    /// baseline the benchmark measures the instrumentation against.
    pub fn inactive(protocol: Protocol) -> Self {
        Self {
            active: false,
            ..Self::new(protocol, &Metrics::default(), &[])
        }
    }
}

impl<S> Layer<S> for RequestsLayer {
    type Service = Observed<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Observed {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service [`RequestsLayer`] wraps.
#[derive(Clone)]
pub struct Observed<S> {
    inner: S,
    layer: RequestsLayer,
}

/// What is known of a request when it arrives.
struct Arrival {
    layer: RequestsLayer,
    started: Instant,
    method: http::Method,
    target: (String, String),
    span: Span,
    /// The trace id as the access log writes it (empty when the span is off).
    trace_id: String,
}

impl<S, B, RB> Service<Request<B>> for Observed<S>
where
    S: Service<Request<B>, Response = Response<RB>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    RB: Body,
{
    type Response = Response<Recorded<RB>>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        if !self.layer.active {
            let response = self.inner.call(request);
            return Box::pin(async move {
                let response = response.await?;
                Ok(response.map(|body| Recorded::new(body, Finish::nothing())))
            });
        }
        let arrival = self.layer.arrival(&request);
        let span = arrival.span.clone();
        let response = self.inner.call(request).instrument(span);
        Box::pin(async move {
            let response = response.await?;
            Ok(arrival.answered(response))
        })
    }
}

impl RequestsLayer {
    fn arrival<B>(&self, request: &Request<B>) -> Arrival {
        let path = request.uri().path();
        let target = match self.protocol {
            Protocol::Grpc => {
                let mut parts = path.trim_start_matches('/').splitn(2, '/');
                let service = parts.next().unwrap_or_default();
                let method = parts.next().unwrap_or_default();
                if self.services.contains(&service) {
                    (service.to_owned(), method.to_owned())
                } else {
                    ("unknown".to_owned(), "unknown".to_owned())
                }
            }
            Protocol::Http => (String::new(), String::new()),
        };
        // The span's one field is its outcome; log lines inside it take its ids from the span
        // itself. Its name, kind and the semantic-convention attributes only matter to an
        // exported (sampled) trace.
        let span = match self.protocol {
            Protocol::Grpc => info_span!("grpc", rpc.grpc.status_code = Empty),
            Protocol::Http => info_span!("http", http.response.status_code = Empty),
        };
        traces::continue_trace(&span, request.headers());
        traces::describe(&span, || match self.protocol {
            Protocol::Grpc => (
                Cow::Owned(path.trim_start_matches('/').to_owned()),
                SpanKind::Server,
                vec![
                    KeyValue::new("rpc.system", "grpc"),
                    KeyValue::new("rpc.service", target.0.clone()),
                    KeyValue::new("rpc.method", target.1.clone()),
                ],
            ),
            Protocol::Http => (
                Cow::Owned(format!("{} {}", request.method(), path)),
                SpanKind::Server,
                vec![
                    KeyValue::new("http.request.method", request.method().to_string()),
                    KeyValue::new("url.path", path.to_owned()),
                ],
            ),
        });
        let trace_id = traces::trace_id(&span).unwrap_or_default();
        Arrival {
            layer: self.clone(),
            started: Instant::now(),
            method: request.method().clone(),
            target,
            span,
            trace_id,
        }
    }
}

impl Arrival {
    fn answered<RB>(self, response: Response<RB>) -> Response<Recorded<RB>> {
        let subject = response.extensions().get::<Subject>().map(|s| s.0.clone());
        let outcome = match self.layer.protocol {
            Protocol::Grpc => grpc_status(response.headers()),
            Protocol::Http => Some(response.status().as_u16().to_string()),
        };
        let route = response
            .extensions()
            .get::<Route>()
            .map_or_else(|| "unmatched".to_owned(), |r| r.0.clone());
        let finish = Finish {
            arrival: Some(self),
            route,
            subject,
            known: outcome,
        };
        response.map(|body| Recorded::new(body, finish))
    }
}
