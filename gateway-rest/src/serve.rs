//! The accept loop: each connection served by hyper with the gateway's limits, so slow, silent
//! or too many clients cannot starve the others.
//!
//! - At most `--max-connections` open at once; more are closed as soon as they are accepted.
//! - HTTP/1.1: a request's headers must arrive within `--header-read-timeout` (hyper counts the
//!   wait for the next request on a kept-alive connection as reading headers too), and the
//!   header section is bounded (hyper answers 431 itself past its read buffer; below that,
//!   [`crate::header_limits`] answers 431 with the JSON error body).
//! - HTTP/2: keep-alive pings find vanished peers; headers are bounded like HTTP/1.1's.
//! - Both: a connection with no request in flight for `--idle-timeout` is closed (GOAWAY on
//!   HTTP/2), including one that never sent a request at all. A response streamed without a
//!   known length (an event stream) counts as in flight until its body ends.
//! - With TLS (`--tls-cert`), each connection's handshake runs in its own task and must finish
//!   within the header-read timeout; a failed one closes the connection, logged at debug level.
//! - On shutdown every connection is asked to close after its requests; the loop returns when
//!   all have.

use std::{
    future::Future,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use axum::{Router, body::Body};
use causeway_tls::{ServerTls, TlsAcceptor};
use http_body_util::BodyExt;
use hyper::body::{Body as _, Incoming};
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::conn::auto::Builder,
    service::TowerToHyperService,
};
use tokio::{
    io::{AsyncRead, AsyncWrite},
    net::{TcpListener, TcpStream},
    sync::{OwnedSemaphorePermit, Semaphore, watch},
    time::Instant,
};
use tower::ServiceExt;
use tracing::{debug, warn};

use crate::config::Config;

/// Room for headers in hyper's read buffer beyond the configured limit, so that moderately
/// oversized headers still reach the middleware and get the JSON 431.
const HEADER_SLACK: usize = 64 * 1024;
/// How long a connection asked to close may take to finish its requests.
const CLOSE_GRACE: Duration = Duration::from_secs(5);
/// How often refused connections are logged at most.
const REFUSAL_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// The connection settings from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Headers of a request (HTTP/1.1) must arrive within this.
    pub header_read_timeout: Duration,
    /// A connection with nothing in flight for this long is closed.
    pub idle_timeout: Duration,
    /// Interval of HTTP/2 keep-alive pings.
    pub keepalive_interval: Duration,
    /// Open connections at most.
    pub max_connections: usize,
    /// Largest header section the gateway reads.
    pub max_header_bytes: usize,
}

impl From<&Config> for ConnectionLimits {
    fn from(config: &Config) -> Self {
        Self {
            header_read_timeout: config.header_read_timeout,
            idle_timeout: config.idle_timeout,
            keepalive_interval: config.keepalive_interval,
            max_connections: config.max_connections,
            max_header_bytes: config.max_header_bytes,
        }
    }
}

/// Serves `app` on `listener` under `limits` (over TLS with `tls`) until `shutdown`, then lets
/// every connection finish what it has in flight.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    tls: Option<ServerTls>,
    shutdown: impl Future<Output = ()> + Send,
) {
    let builder = builder(&limits);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let (closing, close) = watch::channel(false);
    let mut refused = 0u64;
    let mut logged_at: Option<Instant> = None;
    tokio::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of descriptors and the like: back off a little instead of spinning.
                    debug!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            refused += 1;
            if logged_at.is_none_or(|at| at.elapsed() >= REFUSAL_LOG_INTERVAL) {
                warn!(
                    limit = limits.max_connections,
                    refused, "connection limit reached: closing new connections"
                );
                refused = 0;
                logged_at = Some(Instant::now());
            }
            continue;
        };
        let connection = Connection {
            builder: builder.clone(),
            app: app.clone(),
            idle_timeout: limits.idle_timeout,
            close: close.clone(),
            _slot: slot,
        };
        match &tls {
            None => tokio::spawn(connection.serve(stream)),
            Some(tls) => tokio::spawn(connection.serve_tls(
                stream,
                tls.acceptor(),
                limits.header_read_timeout,
            )),
        };
    }
    drop(closing);
    // Every connection holds a slot until it ends: having them all back means all have ended.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let _ = slots.acquire_many(all).await;
}

/// hyper's settings for every connection.
fn builder(limits: &ConnectionLimits) -> Builder<TokioExecutor> {
    let mut builder = Builder::new(TokioExecutor::new());
    let buffer = limits.max_header_bytes.saturating_add(HEADER_SLACK);
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(buffer.max(8192));
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(limits.keepalive_interval)
        .keep_alive_timeout(limits.keepalive_interval)
        .max_header_list_size(u32::try_from(buffer).unwrap_or(u32::MAX));
    builder
}

/// One accepted connection and what it needs.
struct Connection {
    builder: Builder<TokioExecutor>,
    app: Router,
    idle_timeout: Duration,
    close: watch::Receiver<bool>,
    _slot: OwnedSemaphorePermit,
}

impl Connection {
    async fn serve(self, stream: TcpStream) {
        nodelay(&stream);
        self.serve_io(stream).await;
    }

    /// Serves `stream` once its TLS handshake with `acceptor` succeeded within `timeout`.
    async fn serve_tls(self, stream: TcpStream, acceptor: TlsAcceptor, timeout: Duration) {
        nodelay(&stream);
        match tokio::time::timeout(timeout, acceptor.accept(stream)).await {
            Ok(Ok(session)) => self.serve_io(session).await,
            Ok(Err(e)) => debug!(error = %e, "TLS handshake failed"),
            Err(_) => debug!("TLS handshake timed out"),
        }
    }

    async fn serve_io<I>(mut self, stream: I)
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let activity = Arc::new(Activity::new());
        let app = self.app.clone();
        let tracked = activity.clone();
        let service = tower::service_fn(move |request: http::Request<Incoming>| {
            let in_flight = tracked.started();
            let call = app.clone().oneshot(request.map(Body::new));
            async move {
                let response = call.await;
                Ok::<_, std::convert::Infallible>(match response {
                    // A body of unknown length (an event stream) keeps the connection busy
                    // until it ends, not only until its headers are out.
                    Ok(response) if response.body().size_hint().exact().is_none() => {
                        response.map(|body| {
                            Body::new(body.map_frame(move |frame| {
                                let _busy = &in_flight;
                                frame
                            }))
                        })
                    }
                    Ok(response) => response,
                    Err(never) => match never {},
                })
            }
        });
        let connection = self
            .builder
            .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        tokio::pin!(connection);
        let closing = tokio::select! {
            result = connection.as_mut() => return finished(result),
            () = activity.idle_for(self.idle_timeout) => "idle",
            _ = self.close.wait_for(|closing| *closing) => "shutdown",
        };
        debug!(reason = closing, "closing connection");
        connection.as_mut().graceful_shutdown();
        if let Ok(result) = tokio::time::timeout(CLOSE_GRACE, connection).await {
            finished(result);
        }
    }
}

/// Small JSON answers must not wait for a delayed ACK.
fn nodelay(stream: &TcpStream) {
    if let Err(e) = stream.set_nodelay(true) {
        debug!(error = %e, "could not disable Nagle on a connection");
    }
}

fn finished(result: Result<(), Box<dyn std::error::Error + Send + Sync>>) {
    if let Err(e) = result {
        debug!(error = %e, "connection ended with an error");
    }
}

/// Requests in flight on one connection, and since when it has had none.
struct Activity {
    in_flight: AtomicUsize,
    quiet_since: Mutex<Instant>,
}

impl Activity {
    fn new() -> Self {
        Self {
            in_flight: AtomicUsize::new(0),
            quiet_since: Mutex::new(Instant::now()),
        }
    }

    fn started(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight(self.clone())
    }

    /// Resolves once nothing has been in flight for `idle`.
    async fn idle_for(&self, idle: Duration) {
        loop {
            let since = *self.quiet_since.lock().unwrap_or_else(|e| e.into_inner());
            let busy = self.in_flight.load(Ordering::Acquire) > 0;
            let deadline = if busy {
                Instant::now() + idle
            } else {
                since + idle
            };
            if !busy && Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep_until(deadline).await;
        }
    }
}

/// One request in flight; ends when dropped.
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        *self.0.quiet_since.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}
