//! Which connections are busy: a request counts as in flight from the moment the routes see it
//! until its response body has been sent (or dropped), so a long server stream keeps its
//! connection busy, and a connection is idle only when nothing is in flight on it.

use std::{
    pin::Pin,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    task::{Context, Poll},
};

use futures::{TryFutureExt, future::MapOk};
use http_body::{Body, Frame, SizeHint};
use tokio::time::Instant;
use tower::{Layer, Service};

use super::guarded::ConnectionInfo;

/// Requests in flight on one connection and since when it has had none.
#[derive(Debug)]
pub(crate) struct Activity {
    in_flight: AtomicUsize,
    quiet_since: Mutex<Instant>,
}

impl Activity {
    pub(super) fn new(now: Instant) -> Self {
        Self {
            in_flight: AtomicUsize::new(0),
            quiet_since: Mutex::new(now),
        }
    }

    /// When the last request ended (or the connection opened), or `None` while busy.
    pub(super) fn quiet_since(&self) -> Option<Instant> {
        let since = *self.quiet_since.lock().unwrap_or_else(|e| e.into_inner());
        (self.in_flight.load(Ordering::Acquire) == 0).then_some(since)
    }

    fn started(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight(self.clone())
    }
}

/// One request in flight; ends when dropped.
#[derive(Debug)]
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        // Stamp first, so a reader that sees zero in flight sees this request's end.
        *self.0.quiet_since.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Tells each request's connection that it is busy until the response body is done.
#[derive(Debug, Clone, Copy, Default)]
pub struct ActivityLayer;

impl<S> Layer<S> for ActivityLayer {
    type Service = WithActivity<S>;

    fn layer(&self, inner: S) -> Self::Service {
        WithActivity { inner }
    }
}

/// The service [`ActivityLayer`] wraps around the routes.
#[derive(Debug, Clone)]
pub struct WithActivity<S> {
    inner: S,
}

type Tracked<B> = http::Response<TrackedBody<B>>;

impl<S, B, R> Service<http::Request<B>> for WithActivity<S>
where
    S: Service<http::Request<B>, Response = http::Response<R>>,
{
    type Response = Tracked<R>;
    type Error = S::Error;
    type Future = MapOk<S::Future, Box<dyn FnOnce(http::Response<R>) -> Tracked<R> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        // Connections that are not guarded (in-process tests) carry no info: nothing to track.
        let in_flight = request
            .extensions()
            .get::<ConnectionInfo>()
            .map(|info| info.activity.started());
        self.inner.call(request).map_ok(Box::new(move |response| {
            response.map(|inner| TrackedBody { inner, in_flight })
        }))
    }
}

/// A response body that keeps its request in flight until it is finished or dropped.
#[derive(Debug)]
pub struct TrackedBody<B> {
    inner: B,
    in_flight: Option<InFlight>,
}

impl<B: Body + Unpin> Body for TrackedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if matches!(polled, Poll::Ready(None)) {
            self.in_flight = None;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
