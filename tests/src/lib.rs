//! Harness for Causeway's end-to-end tests: real servers on free loopback ports, talked to over
//! real gRPC, and stopped when the test ends.
//!
//! Layout:
//! - `TestServer`: the server library's `run` on a port-0 listener in this process.
//! - `tools`: locating the tools the project's scripts install (grpcurl).
//! - `kurrentdb`: a KurrentDB protocol double (in memory, loopback) for the KurrentDB adapter.
//! - `scenarios`: end-to-end scenarios shared by every event store backend.
//! - `mongo`: a MongoDB server (SecantusDB, or `CAUSEWAY_TEST_MONGODB_URL`) for the read store.
//! - `crash`: processes under load killed with SIGKILL for rounds, then every promise checked.
//! - `mtls`: a secured server demanding client certificates, and the clients the TLS tests
//!   use on it.
//! - `pki`: certificates made at test time (a CA, server and client certificates, expired
//!   ones, files rotated as cert-manager does).
//! - `proxy`: a TCP proxy that drops a response after the server did the work (lost answers).
//! - `bearer_gate`: the order-command service behind a bearer-token check, for SDK token tests.
//! - `readme`: the README's marked shell examples, run against live servers.
//! - `tokens`: bearer tokens for the auth tests, minted with a server's own keys or forged.
//! - `external_issuer`: an identity provider outside Rust (PyJWT): its keys, JWKs and tokens.
//! - `jwks_host`: an identity provider's JWKS endpoint on loopback that counts its fetches.
//! - `gateway`: the REST gateway in this process, in front of a test server.
//! - `bench`: the benchmark harness behind `causeway-bench` (`scripts/bench`).
//! - `contract`: the contract gate (`contract-check`): breaking changes to `proto/` against the
//!   released baselines, and stored-event fixtures read through today's upcasters.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod bearer_gate;
pub mod bench;
pub mod contract;
pub mod crash;
pub mod external_issuer;
pub mod gateway;
pub mod jwks_host;
pub mod kurrentdb;
pub mod mongo;
pub mod mtls;
pub mod pki;
pub mod proxy;
pub mod readme;
pub mod scenarios;
pub mod tokens;
pub mod tools;

use std::{net::SocketAddr, sync::Arc, time::Duration};

use causeway_server::{
    config::Config,
    server::ServerError,
    store::{
        EventStore,
        embedded::{Durability, EmbeddedEventStore},
        kurrentdb::KurrentDbEventStore,
    },
};
use tempfile::TempDir;
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};
use tonic::transport::{Channel, Endpoint};

/// Where a test server keeps its events.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum EventBackend {
    /// The embedded SQLite store in the server's data directory.
    #[default]
    Embedded,
    /// KurrentDB at this connection string: the protocol double's, or a real server's.
    KurrentDb(String),
}

/// A server running in this process on `127.0.0.1:<free port>` with its own data directory.
pub struct TestServer {
    /// Where it listens.
    pub addr: SocketAddr,
    metrics_addr: Option<SocketAddr>,
    rest_addr: Option<SocketAddr>,
    events: EventBackend,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), ServerError>>>,
    data_dir: TempDir,
}

impl TestServer {
    /// Starts a server with default configuration on a fresh data directory, with
    /// authentication and fulfilment off (see [`unchecked`]; the scenarios that use it are about
    /// what callers do, not who they are; `start_secured` is for those that are).
    pub async fn start() -> Self {
        let data_dir = tempfile::tempdir().expect("temp dir");
        Self::start_with(unchecked(Config::with_data_dir(data_dir.path())), data_dir).await
    }

    /// Starts a server with default configuration, authentication on, on a fresh data
    /// directory, without per-caller limits (see [`unlimited`]).
    pub async fn start_secured() -> Self {
        let data_dir = tempfile::tempdir().expect("temp dir");
        Self::start_with(unlimited(Config::with_data_dir(data_dir.path())), data_dir).await
    }

    /// Starts a server as [`TestServer::start_secured`] does, without fulfilment (see
    /// [`without_fulfilment`]).
    pub async fn start_secured_without_fulfilment() -> Self {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let config = without_fulfilment(unlimited(Config::with_data_dir(data_dir.path())));
        Self::start_with(config, data_dir).await
    }

    /// Starts a server as [`TestServer::start`] does, storing its events in `backend`.
    pub async fn start_on(backend: &EventBackend) -> Self {
        Self::start_on_with(backend, |_| {}).await
    }

    /// Starts a server as [`TestServer::start_on`] does, with its configuration changed by
    /// `adjust` first (tighter feed limits, say).
    pub async fn start_on_with(backend: &EventBackend, adjust: impl FnOnce(&mut Config)) -> Self {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let mut config = unchecked(Config::with_data_dir(data_dir.path()));
        if let EventBackend::KurrentDb(url) = backend {
            config.kurrentdb_url = Some(url.as_str().into());
        }
        adjust(&mut config);
        Self::start_with(config, data_dir).await
    }

    /// Starts a server with `config`, keeping `data_dir` alive as long as the server.
    pub async fn start_with(config: Config, data_dir: TempDir) -> Self {
        Self::start_serving(config, data_dir, false, false).await
    }

    /// Starts a server with `config`, serving `/metrics` on a port of its own (see
    /// [`TestServer::metrics_addr`]).
    pub async fn start_with_metrics(config: Config, data_dir: TempDir) -> Self {
        Self::start_serving(config, data_dir, true, false).await
    }

    /// Starts a server with `config`, also serving the REST routes in-process on a port of its
    /// own (`--rest-listen`; see [`TestServer::rest_url`]).
    pub async fn start_with_rest(config: Config, data_dir: TempDir) -> Self {
        Self::start_serving(config, data_dir, false, true).await
    }

    async fn start_serving(config: Config, data_dir: TempDir, metrics: bool, rest: bool) -> Self {
        let config = mongo::apply_read_models(config);
        let events = config
            .kurrentdb_url
            .as_ref()
            .map_or(EventBackend::Embedded, |url| {
                EventBackend::KurrentDb(url.expose().to_owned())
            });
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
        let addr = listener.local_addr().expect("local addr");
        let metrics = match metrics {
            true => Some(TcpListener::bind("127.0.0.1:0").await.expect("bind port 0")),
            false => None,
        };
        let metrics_addr = metrics
            .as_ref()
            .map(|l| l.local_addr().expect("local addr"));
        let rest = match rest {
            true => Some(TcpListener::bind("127.0.0.1:0").await.expect("bind port 0")),
            false => None,
        };
        let rest_addr = rest.as_ref().map(|l| l.local_addr().expect("local addr"));
        let (stop, stopped) = oneshot::channel::<()>();
        let extras = causeway_server::server::Extras {
            metrics,
            rest,
            ..Default::default()
        };
        let task = tokio::spawn(causeway_server::server::run_with(
            listener,
            config,
            async {
                let _ = stopped.await;
            },
            extras,
        ));
        Self {
            addr,
            metrics_addr,
            rest_addr,
            events,
            stop: Some(stop),
            task: Some(task),
            data_dir,
        }
    }

    /// Where the server serves `/metrics`, when started with
    /// [`TestServer::start_with_metrics`].
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_addr
    }

    /// `http://127.0.0.1:<port>` of the REST routes the server serves itself, when started
    /// with [`TestServer::start_with_rest`].
    pub fn rest_url(&self) -> Option<String> {
        self.rest_addr.map(|addr| format!("http://{addr}"))
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The data directory the server uses.
    pub fn data_dir(&self) -> &std::path::Path {
        self.data_dir.path()
    }

    /// Where the server keeps its events.
    pub fn events(&self) -> &EventBackend {
        &self.events
    }

    /// A second writer to the server's event store, as another process would be: for tests that
    /// put events in behind the server's back.
    pub fn event_store(&self) -> Arc<dyn EventStore> {
        match &self.events {
            EventBackend::Embedded => Arc::new(
                EmbeddedEventStore::open(self.data_dir(), Durability::Full)
                    .expect("open the embedded event store"),
            ),
            EventBackend::KurrentDb(url) => {
                Arc::new(KurrentDbEventStore::connect(url).expect("a valid KurrentDB url"))
            }
        }
    }

    /// A token for `subject` with `roles`, minted with the server's own signing keys as
    /// `causeway-server token` would, once the server answers (it makes its keys first).
    pub async fn token(&self, subject: &str, roles: &[&str]) -> String {
        let mut health = tonic_health::pb::health_client::HealthClient::new(self.channel().await);
        let request = || tonic_health::pb::HealthCheckRequest {
            service: String::new(),
        };
        let answered = async {
            while health.check(request()).await.is_err() {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(30), answered)
            .await
            .expect("the server answers within 30 s");
        let ring = causeway_server::auth::keys::KeyRing::new(self.data_dir().join("keys"));
        causeway_server::auth::tokens::TokenIssuer::new(ring, "causeway", "causeway")
            .mint(
                subject,
                roles.iter().map(|r| (*r).to_owned()).collect(),
                None,
                Duration::from_secs(3600),
            )
            .expect("mint a token")
            .token
    }

    /// A connected channel (retries the connection briefly while the server starts).
    pub async fn channel(&self) -> Channel {
        let endpoint = Endpoint::from_shared(self.url())
            .expect("valid url")
            .timeout(Duration::from_secs(30));
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            match endpoint.connect().await {
                Ok(channel) => return channel,
                Err(e) if tokio::time::Instant::now() < deadline => {
                    let _ = e;
                    tokio::task::yield_now().await;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(e) => panic!("server at {} never accepted: {e}", self.addr),
            }
        }
    }

    /// Stops the server gracefully and returns its data directory (to restart on it).
    pub async fn stop(mut self) -> TempDir {
        self.shutdown().await;
        let dir = tempfile::tempdir().expect("temp dir");
        std::mem::replace(&mut self.data_dir, dir)
    }

    async fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await
                .expect("server task panicked")
                .expect("server returned an error");
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// `config` with authentication switched off, and fulfilment too: the scenarios that start
/// servers this way are about commands, queries and stores, and confirm their orders by hand
/// (the fulfilment scenarios switch it back on with [`fulfilling`]).
pub fn unchecked(mut config: Config) -> Config {
    config.auth = causeway_server::config::AuthMode::Disabled;
    without_fulfilment(config)
}

/// `config` without per-caller rate and in-flight limits: the suites that start secured servers
/// are about who callers are, not how often they call, and as many calls as a machine manages
/// in a second must not turn an expected refusal into `RESOURCE_EXHAUSTED`. The limits' own
/// tests (`tests/rate_limits.rs`) set theirs.
pub fn unlimited(mut config: Config) -> Config {
    config.rate_limits = causeway_server::auth::limits::RateLimits::OFF;
    config
}

/// `config` with fulfilment off: orders never touch stock, staff confirm them, and nothing
/// but the test's own calls appends events (so a test can show a refusal changed nothing).
pub fn without_fulfilment(mut config: Config) -> Config {
    config.fulfilment = causeway_server::config::FulfilmentMode::Disabled;
    config
}

/// `config` with fulfilment on, giving each order `timeout` to be settled.
pub fn fulfilling(mut config: Config, timeout: Duration) -> Config {
    config.fulfilment = causeway_server::config::FulfilmentMode::Enabled;
    config.fulfilment_timeout = timeout;
    config
}

/// A fresh UUIDv7 command id, as the SDK would make.
pub fn command_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Command options with a fresh command id and nothing else.
pub fn options() -> Option<causeway_client::common::CommandOptions> {
    Some(causeway_client::common::CommandOptions {
        command_id: command_id(),
        ..Default::default()
    })
}
