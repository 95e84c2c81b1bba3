//! The stream of connections tonic serves: accepted from the listener, each holding a slot of
//! the connection limit from the moment it is accepted, and with TLS only once its handshake
//! has succeeded.
//!
//! Handshakes run as tasks of their own, many at once, so one slow or silent client cannot hold
//! up the next accept; each must finish within the handshake timeout, which also bounds the
//! HTTP/2 preface that follows it (both count from the accept). A failed handshake (no client
//! certificate, an unknown CA, an expired certificate) closes that connection and is logged at
//! debug level with its reason; nothing reaches tonic.

use std::{
    io,
    net::SocketAddr,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use causeway_tls::{PeerIdentity, ServerTls};
use futures::Stream;
use tokio::{
    net::{TcpListener, TcpStream},
    sync::{OwnedSemaphorePermit, Semaphore},
    task::JoinSet,
    time::Instant,
};

use super::{
    Connections,
    guarded::{Guarded, Refusals},
    tls::Link,
};

/// Accepts taken in one poll before handshakes get their turn, so a flood of new connections
/// cannot keep finished handshakes from being served.
const ACCEPTS_PER_POLL: usize = 64;

/// Accepted (and, with TLS, shaken-hands) connections; see the module docs.
pub struct Incoming {
    listener: TcpListener,
    slots: Arc<Semaphore>,
    settings: Connections,
    refused: Refusals,
    tls: Option<ServerTls>,
    handshakes: JoinSet<Option<Guarded>>,
}

impl Incoming {
    pub(super) fn new(
        listener: TcpListener,
        settings: Connections,
        tls: Option<ServerTls>,
    ) -> Self {
        Self {
            listener,
            slots: Arc::new(Semaphore::new(settings.effective_max_connections())),
            settings,
            refused: Refusals::default(),
            tls,
            handshakes: JoinSet::new(),
        }
    }

    /// Takes one accepted socket: a plaintext connection ready to serve, or `None` when it was
    /// refused or its TLS handshake now runs.
    fn admit(&mut self, stream: TcpStream, remote: SocketAddr) -> Option<Guarded> {
        let Ok(slot) = self.slots.clone().try_acquire_owned() else {
            self.refused.note(self.settings.max_connections);
            return None;
        };
        let accepted = Instant::now();
        // gRPC writes small frames and waits for the answer; with Nagle on, a response can sit
        // ~40 ms behind a delayed ACK.
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "could not disable Nagle on a connection");
        }
        let opened = Opened {
            remote,
            slot,
            accepted,
            settings: self.settings,
        };
        match &self.tls {
            None => Some(opened.guard(Link::Plain(stream), None)),
            Some(tls) => {
                self.handshakes
                    .spawn(handshake(tls.clone(), stream, opened));
                None
            }
        }
    }
}

/// What an accepted connection keeps while its handshake runs.
struct Opened {
    remote: SocketAddr,
    slot: OwnedSemaphorePermit,
    accepted: Instant,
    settings: Connections,
}

impl Opened {
    fn guard(self, link: Link, peer: Option<PeerIdentity>) -> Guarded {
        Guarded::new(
            link,
            self.remote,
            peer,
            self.slot,
            &self.settings,
            self.accepted,
        )
    }
}

/// The TLS handshake of one connection, within what is left of the handshake timeout.
async fn handshake(tls: ServerTls, stream: TcpStream, opened: Opened) -> Option<Guarded> {
    let deadline = opened.accepted + opened.settings.handshake_timeout;
    let remote = opened.remote;
    match tokio::time::timeout_at(deadline, tls.acceptor().accept(stream)).await {
        Ok(Ok(session)) => {
            let peer = session
                .get_ref()
                .1
                .peer_certificates()
                .and_then(PeerIdentity::of);
            Some(opened.guard(Link::Tls(Box::new(session)), peer))
        }
        Ok(Err(e)) => {
            tracing::debug!(%remote, error = %e, "TLS handshake failed");
            None
        }
        Err(_) => {
            tracing::debug!(%remote, "TLS handshake timed out");
            None
        }
    }
}

impl Stream for Incoming {
    type Item = io::Result<Guarded>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let mut listening = false;
        for _ in 0..ACCEPTS_PER_POLL {
            match this.listener.poll_accept(cx) {
                Poll::Ready(Ok((stream, remote))) => {
                    if let Some(ready) = this.admit(stream, remote) {
                        return Poll::Ready(Some(Ok(ready)));
                    }
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Some(Err(e))),
                Poll::Pending => {
                    listening = true;
                    break;
                }
            }
        }
        if !listening {
            // More may be waiting: come back after the handshakes had their turn.
            cx.waker().wake_by_ref();
        }
        while let Poll::Ready(Some(done)) = this.handshakes.poll_join_next(cx) {
            match done {
                Ok(Some(ready)) => return Poll::Ready(Some(Ok(ready))),
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "a TLS handshake task failed"),
            }
        }
        Poll::Pending
    }
}
