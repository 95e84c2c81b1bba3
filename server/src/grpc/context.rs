//! The request context: what every RPC may carry in its headers (correlation id, W3C trace
//! context), read once per request by a tower layer and handed to handlers in the request's
//! extensions. Who the caller is never comes from here: headers such as `x-actor` are ignored,
//! and the actor of a command is the verified principal (see `crate::auth`).

use std::task::{Context, Poll};

use http::HeaderMap;
use tower::{Layer, Service};

/// Longest header value taken into the context; longer ones are ignored (a W3C `traceparent`
/// is 55 characters, ids are at most 128).
const MAX_HEADER_CHARS: usize = 256;

/// What the headers of one request say about it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestContext {
    /// `x-correlation-id`: the business flow, when the caller names one.
    pub correlation_id: Option<String>,
    /// `traceparent`: the caller's W3C trace context.
    pub traceparent: Option<String>,
}

impl RequestContext {
    /// The context in `headers`. Blank, non-ASCII, over-long or control-character values are
    /// treated as absent: these headers are hints, never a reason to refuse a call.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .filter(|v| {
                    !v.is_empty()
                        && v.len() <= MAX_HEADER_CHARS
                        && !v.chars().any(|c| c.is_control())
                })
                .map(str::to_owned)
        };
        Self {
            correlation_id: header("x-correlation-id"),
            traceparent: header("traceparent"),
        }
    }
}

/// Puts a [`RequestContext`] into every request's extensions.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestContextLayer;

impl<S> Layer<S> for RequestContextLayer {
    type Service = WithRequestContext<S>;

    fn layer(&self, inner: S) -> Self::Service {
        WithRequestContext { inner }
    }
}

/// The service [`RequestContextLayer`] wraps around the routes.
#[derive(Debug, Clone)]
pub struct WithRequestContext<S> {
    inner: S,
}

impl<S, B> Service<http::Request<B>> for WithRequestContext<S>
where
    S: Service<http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        let context = RequestContext::from_headers(request.headers());
        request.extensions_mut().insert(context);
        self.inner.call(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_the_tracing_headers_and_ignores_what_it_cannot_use_or_trust() {
        let mut headers = HeaderMap::new();
        headers.insert("x-correlation-id", " flow-1 ".parse().unwrap());
        headers.insert("x-tenant-id", "acme".parse().unwrap());
        headers.insert("x-actor", "admin".parse().unwrap());
        headers.insert(
            "traceparent",
            "x".repeat(MAX_HEADER_CHARS + 1).parse().unwrap(),
        );
        let context = RequestContext::from_headers(&headers);
        assert_eq!(
            context,
            RequestContext {
                correlation_id: Some("flow-1".into()),
                ..RequestContext::default()
            },
            "client-set actor and tenant headers are never taken"
        );
    }
}
