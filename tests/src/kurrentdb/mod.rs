//! A KurrentDB test double: an in-memory server speaking the subset of KurrentDB's gRPC protocol
//! that Causeway's adapter uses, so the real `kurrentdb` client crate can be exercised on
//! machines where KurrentDB cannot run. Test-only; loopback only.
//!
//! - `log`: the records, stream metadata, system records, and KurrentDB's write rules.
//! - `wire`: records, links, ids, positions, filters and errors as the protocol encodes them.
//! - `streams`: the `Streams` service (append, read, delete, tombstone).
//! - `read`: one-shot reads of a stream or of `$all`.
//! - `subscription`: catch-up subscriptions at KurrentDB's checkpoint cadence, with a live
//!   buffer that can overflow (`fell_behind`).
//! - `quickack`: connections that ACK at once, sparing the crate's calls a 40 ms Nagle stall.
//!
//! The double can be stopped and started again on the same port with the same data, which is how
//! the fault tests drop every connection and subscription of a client. The standalone binary
//! `kurrentdb-double` serves one on a port of your choice.
//!
//! Where the real server's behaviour is uncertain the double picks the less forgiving reading.
//! Each protocol fact it implements is pinned with the real client by `tests/kurrentdb_double/`
//! (and with the Node.js client by `tests/kurrentdb_node.rs`). What it leaves out: `BatchAppend`,
//! persistent subscriptions, server-side projections, scavenging, explicit transactions (every
//! event has commit == prepare), clustering (one node, no gossip), authentication and TLS.

mod log;
mod quickack;
mod read;
mod streams;
mod subscription;
mod wire;

use std::{
    net::SocketAddr,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use tokio::{net::TcpListener, sync::watch, task::JoinHandle};
use tokio_stream::wrappers::TcpListenerStream;
use tonic::{Request, Response, Status, transport::Server};

use self::protocol::event_store::client::{
    Empty,
    server_features::{
        SupportedMethod, SupportedMethods,
        server_features_server::{ServerFeatures, ServerFeaturesServer},
    },
    streams::streams_server::StreamsServer,
};
use self::quickack::QuickAck;

/// Messages, server stubs and clients generated from `tests/proto/kurrentdb/` (our own rendering
/// of the protocol's wire names and field numbers).
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod protocol {
    include!(concat!(env!("OUT_DIR"), "/kurrentdb_protocol.rs"));
}

/// The version the double reports: digits and dots, as the client requires.
pub const SERVER_VERSION: &str = "24.10.0";
/// How long `stop` waits for connections to close before cutting them.
const STOP_GRACE: Duration = Duration::from_secs(5);
/// How long `restart` keeps trying to bind the old port (it may linger briefly after a stop).
const REBIND_FOR: Duration = Duration::from_secs(10);

/// What every incarnation of the double shares, so a restart keeps the data.
pub(crate) struct Shared {
    log: Mutex<log::Log>,
    /// The number of records in the log, bumped after each write so subscriptions wake.
    commits: watch::Sender<usize>,
    subscriptions: AtomicU64,
}

impl Shared {
    /// Runs `f` on the log under its lock. Nothing panics while the lock is held, so a poisoned
    /// lock still guards valid data.
    pub(crate) fn with_log<T>(&self, f: impl FnOnce(&mut log::Log) -> T) -> T {
        let mut log = self.log.lock().unwrap_or_else(PoisonError::into_inner);
        let result = f(&mut log);
        let len = log.records().len();
        drop(log);
        self.commits.send_if_modified(|seen| {
            let grew = *seen != len;
            *seen = len;
            grew
        });
        result
    }
}

/// A running (or stopped) double; dropping it stops the server.
pub struct KurrentDbDouble {
    shared: Arc<Shared>,
    addr: SocketAddr,
    running: Option<Running>,
}

struct Running {
    stopping: watch::Sender<bool>,
    task: JoinHandle<Result<(), tonic::transport::Error>>,
}

impl KurrentDbDouble {
    /// Starts a fresh double (only KurrentDB's own system records in it) on a free loopback
    /// port; returns it and the connection string a client should use (no TLS, no discovery
    /// wait).
    pub async fn start() -> (Self, String) {
        Self::start_on(0)
            .await
            .unwrap_or_else(|e| panic!("binding a loopback port for the KurrentDB double: {e}"))
    }

    /// Starts a fresh double on `127.0.0.1:<port>` (0: any free port). Fails when the port is
    /// taken.
    pub async fn start_on(port: u16) -> std::io::Result<(Self, String)> {
        let listener = TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, port)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            log: Mutex::new(log::Log::default()),
            commits: watch::Sender::new(0),
            subscriptions: AtomicU64::new(0),
        });
        let running = Some(serve(Arc::clone(&shared), listener));
        let double = Self {
            shared,
            addr,
            running,
        };
        let url = double.url();
        Ok((double, url))
    }

    /// `kurrentdb://127.0.0.1:<port>?tls=false&discoveryInterval=0`: without the last option
    /// every (re)connect of the client first waits half a second.
    pub fn url(&self) -> String {
        format!("kurrentdb://{}?tls=false&discoveryInterval=0", self.addr)
    }

    /// Where it listens (also while stopped: a restart takes the same port).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// How many subscriptions it has accepted since it was first started; tells a test that a
    /// client really subscribed again after a restart.
    pub fn subscriptions_accepted(&self) -> u64 {
        self.shared.subscriptions.load(Ordering::Relaxed)
    }

    /// Whether it is serving.
    pub fn is_running(&self) -> bool {
        self.running.is_some()
    }

    /// Stops serving: every subscription ends with an UNAVAILABLE status, then connections
    /// close and the port is released. The data stays for [`restart`](Self::restart).
    pub async fn stop(&mut self) {
        let Some(running) = self.running.take() else {
            return;
        };
        running.stopping.send_replace(true);
        let mut task = running.task;
        if tokio::time::timeout(STOP_GRACE, &mut task).await.is_err() {
            task.abort();
            let _ = task.await;
        }
    }

    /// Serves again on the same port with the same data.
    pub async fn restart(&mut self) {
        if self.running.is_some() {
            return;
        }
        let deadline = tokio::time::Instant::now() + REBIND_FOR;
        let listener = loop {
            match TcpListener::bind(self.addr).await {
                Ok(listener) => break listener,
                Err(e) if tokio::time::Instant::now() < deadline => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(e) => panic!("rebinding {} for the KurrentDB double: {e}", self.addr),
            }
        };
        self.running = Some(serve(Arc::clone(&self.shared), listener));
    }
}

impl Drop for KurrentDbDouble {
    fn drop(&mut self) {
        if let Some(running) = self.running.take() {
            running.stopping.send_replace(true);
            running.task.abort();
        }
    }
}

fn serve(shared: Arc<Shared>, listener: TcpListener) -> Running {
    let (stopping, stop) = watch::channel(false);
    let streams = streams::StreamsService::new(Arc::clone(&shared), stop.clone());
    let mut stopped = stop;
    let task = tokio::spawn(
        Server::builder()
            .add_service(StreamsServer::new(streams))
            .add_service(ServerFeaturesServer::new(Features))
            .serve_with_incoming_shutdown(incoming(listener), async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            }),
    );
    Running { stopping, task }
}

/// Accepted connections with Nagle's algorithm off (replies are a few small writes each, and
/// would otherwise wait for the client's delayed ACK) that also ACK every read at once (see
/// `quickack`): about 40 ms less per call.
fn incoming(listener: TcpListener) -> impl futures::Stream<Item = std::io::Result<QuickAck>> {
    use futures::StreamExt;
    TcpListenerStream::new(listener).map(|accepted| {
        let stream = accepted?;
        stream.set_nodelay(true)?;
        Ok(QuickAck(stream))
    })
}

/// `ServerFeatures`: the version and the methods a client may rely on.
struct Features;

#[tonic::async_trait]
impl ServerFeatures for Features {
    async fn get_supported_methods(
        &self,
        _: Request<Empty>,
    ) -> Result<Response<SupportedMethods>, Status> {
        let service = "event_store.client.streams.streams";
        let methods = ["read", "append", "delete", "tombstone"]
            .into_iter()
            .map(|method| SupportedMethod {
                method_name: method.to_owned(),
                service_name: service.to_owned(),
                features: Vec::new(),
            })
            .collect();
        Ok(Response::new(SupportedMethods {
            methods,
            event_store_server_version: SERVER_VERSION.to_owned(),
        }))
    }
}

/// The environment variable naming a real KurrentDB for the "real server" variants of the
/// KurrentDB suites, e.g. `kurrentdb://admin:changeit@localhost:2113?tls=false`.
pub const REAL_SERVER_ENV: &str = "CAUSEWAY_TEST_KURRENTDB_URL";

/// The real KurrentDB to run `suite` against, from [`REAL_SERVER_ENV`]; when it is unset,
/// prints why `suite` is skipped and returns `None`.
pub fn real_server(suite: &str) -> Option<String> {
    match std::env::var(REAL_SERVER_ENV) {
        Ok(url) if !url.trim().is_empty() => Some(url.trim().to_owned()),
        _ => {
            println!(
                "skipped: {suite} against a real KurrentDB; set {REAL_SERVER_ENV} \
                 (e.g. kurrentdb://localhost:2113?tls=false) to run it"
            );
            None
        }
    }
}
