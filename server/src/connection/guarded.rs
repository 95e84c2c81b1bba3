//! One accepted connection with its guards: a slot of the connection limit, held until the
//! connection is dropped, and a timer that ends the connection when the client is too slow to
//! shake hands or has asked nothing for too long.
//!
//! The timer lives in the socket's read path because that is the one place tonic lets us in
//! below its connection handling: hyper always has a read pending on an HTTP/2 connection, so
//! returning `TimedOut` from that read closes the connection. Nothing is in flight on a
//! connection closed for being idle, so no call is cut short by it.

use std::{
    io,
    net::SocketAddr,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use causeway_tls::PeerIdentity;
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    sync::OwnedSemaphorePermit,
    time::{Instant, Sleep},
};
use tonic::transport::server::Connected;

use super::{Connections, activity::Activity, tls::Link};

/// The HTTP/2 client preface (24 bytes) and the header of the SETTINGS frame that must follow
/// it (9 bytes): a client that has sent these has shaken hands.
const HANDSHAKE_BYTES: usize = 33;

/// How often the refusal of connections over the limit is logged at most.
const REFUSAL_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// What every request on a connection can learn about it (tonic puts it in the extensions).
#[derive(Debug, Clone)]
pub struct ConnectionInfo {
    /// The client's address.
    pub remote: Option<SocketAddr>,
    /// The names of the client's certificate, on a TLS connection whose handshake verified one
    /// (`--tls-client-ca`).
    pub peer: Option<Arc<PeerIdentity>>,
    pub(super) activity: Arc<Activity>,
}

/// An accepted connection (plaintext, or TLS after its handshake) with its limit slot and
/// timers; see the module docs.
#[derive(Debug)]
pub struct Guarded {
    stream: Link,
    info: ConnectionInfo,
    _slot: OwnedSemaphorePermit,
    accepted: Instant,
    received: usize,
    timer: Pin<Box<Sleep>>,
    handshake_timeout: Duration,
    idle_timeout: Duration,
}

impl Guarded {
    /// Guards `stream` from `remote`, accepted at `accepted`, which holds `slot` until it is
    /// dropped; `peer` is the identity its TLS handshake verified.
    pub(super) fn new(
        stream: Link,
        remote: SocketAddr,
        peer: Option<PeerIdentity>,
        slot: OwnedSemaphorePermit,
        settings: &Connections,
        accepted: Instant,
    ) -> Self {
        Self {
            info: ConnectionInfo {
                remote: Some(remote),
                peer: peer.map(Arc::new),
                activity: Arc::new(Activity::new(accepted)),
            },
            stream,
            _slot: slot,
            accepted,
            received: 0,
            timer: Box::pin(tokio::time::sleep_until(
                accepted + settings.handshake_timeout,
            )),
            handshake_timeout: settings.handshake_timeout,
            idle_timeout: settings.idle_timeout,
        }
    }

    /// What the connection is waiting for, and until when.
    fn deadline(&self, now: Instant) -> (Instant, Waiting) {
        if self.received < HANDSHAKE_BYTES {
            return (self.accepted + self.handshake_timeout, Waiting::Handshake);
        }
        match self.info.activity.quiet_since() {
            Some(since) => (since + self.idle_timeout, Waiting::Request),
            // Busy: look again one idle period from now (or when the timer fires anyway).
            None => (
                self.timer.deadline().max(now + self.idle_timeout),
                Waiting::Nothing,
            ),
        }
    }

    /// Called while the read is pending: `Ready` with the error that ends the connection once
    /// a deadline has passed, else `Pending` with the timer armed.
    fn expired(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        loop {
            let now = Instant::now();
            let (deadline, waiting) = self.deadline(now);
            if waiting != Waiting::Nothing && now >= deadline {
                let message = match waiting {
                    Waiting::Handshake => {
                        "the client did not complete the HTTP/2 handshake in time"
                    }
                    _ => "the connection was idle for too long",
                };
                tracing::debug!(remote = ?self.info.remote, message, "closing connection");
                return Poll::Ready(io::Error::new(io::ErrorKind::TimedOut, message));
            }
            if self.timer.deadline() != deadline {
                self.timer.as_mut().reset(deadline);
            }
            if self.timer.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            if waiting == Waiting::Nothing {
                // Fired while busy: re-arm one period on.
                self.timer.as_mut().reset(now + self.idle_timeout);
            }
        }
    }
}

/// What a connection's timer is waiting for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Waiting {
    /// The rest of the client's HTTP/2 preface and first frame.
    Handshake,
    /// A request, on a connection with none in flight.
    Request,
    /// Nothing: requests are in flight.
    Nothing,
}

impl AsyncRead for Guarded {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.stream).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                self.received = self.received.saturating_add(buf.filled().len() - before);
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => self.expired(cx).map(Err),
        }
    }
}

impl AsyncWrite for Guarded {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

impl Connected for Guarded {
    type ConnectInfo = ConnectionInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.info.clone()
    }
}

/// Connections closed at once because the limit was reached, logged at most every
/// [`REFUSAL_LOG_INTERVAL`] so a flood cannot flood the log too.
#[derive(Debug, Default)]
pub(super) struct Refusals {
    unlogged: u64,
    logged_at: Option<Instant>,
}

impl Refusals {
    /// Counts one refused connection, logging now and then.
    pub(super) fn note(&mut self, limit: usize) {
        self.unlogged += 1;
        if self
            .logged_at
            .is_none_or(|at| at.elapsed() >= REFUSAL_LOG_INTERVAL)
        {
            tracing::warn!(
                limit,
                refused = self.unlogged,
                "connection limit reached: closing new connections"
            );
            self.unlogged = 0;
            self.logged_at = Some(Instant::now());
        }
    }
}
