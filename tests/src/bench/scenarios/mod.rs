//! The seven scenarios of issue 8 and those added since, grouped by the data set they share,
//! so that a run seeds each data set once:
//! - `writes`: a command-role server and a raw store over 20-event streams and aggregates of 100
//!   and 1,000 events: scenario 1 (`command`), 4 (`append`) and 5 (`aggregate`).
//! - `reads`: an all-roles server over the catch-up data set (1,000,000 events by default):
//!   scenario 3 (`catchup`), 2 (`query`), 6 (`gateway`, REST gateway vs direct gRPC), 12
//!   (`feed`, event feed subscribers vs the raw store read) and 7 (`rebuild`).
//! - `auth`: two all-roles servers on small data sets of their own, authentication on and
//!   `--auth disabled`: scenario 8, what checking a token costs a command and a query.
//! - `fulfilment`: an all-roles server fulfilling orders over well-stocked products: scenario
//!   10, an order placed and confirmed end to end against one command.
//! - `transport`: scenario 11, the echo RPC over plaintext, TLS and mTLS.
//! - `hot`: scenario 13, one stream under 1, 16 and 32 clients (ABORTED share, throughput).
//! - `longrun`: scenario 14, 200,000 commands against the `causeway-server` binary in a
//!   process of its own (throughput drift, resident memory, threads).
//! - `length`: scenario 15, a command on a 10,000-event stream against a 10-event one, cache
//!   off, with and without snapshots.
//! - `tails`: scenario 16, p99 / p50 of a command at 32 in flight over gRPC and REST.
//! - `observe`: scenario 9, a hot-stream command with and without instrumentation, and with
//!   spans exported over OTLP.
//!
//! A scenario that fails becomes a failed row; the others still run.

mod aggregate;
mod append;
mod auth;
mod catchup;
mod command;
mod feed;
mod fulfilment;
mod gateway;
mod hot;
mod length;
mod longrun;
mod observe;
mod query;
mod reads;
mod rebuild;
mod tails;
mod transport;
mod writes;

use std::{future::Future, path::Path, path::PathBuf, sync::Arc, time::Instant};

use causeway_server::{
    config::{AuthMode, Config, DurabilityArg, FulfilmentMode, Role},
    store::EventStore,
};
use tokio::runtime::Handle;

use super::{
    BenchError, Options, Scale,
    error::Context,
    load::Plan,
    report::{Outcome, Report},
};

/// What every scenario of one run shares.
pub struct Bench {
    /// The flags.
    pub options: Options,
    /// The counts.
    pub scale: Scale,
    /// The server runtime: servers, stores and in-process baselines run there.
    pub server: Handle,
    /// The scratch directory the data sets live in.
    pub base: PathBuf,
    /// Prefix of every sku this run writes.
    pub run_id: String,
    /// When the run started, for progress lines.
    pub started: Instant,
    /// The core the server runtime is pinned to, for server processes the run starts.
    pub server_core: Option<usize>,
}

impl Bench {
    /// Tells the person waiting on a quarter-hour run what it is doing (stderr; not in smoke
    /// runs, which the test suite keeps quiet).
    pub fn progress(&self, what: &str) {
        if !self.options.smoke {
            eprintln!(
                "[causeway-bench {:>5.0} s] {what}",
                self.started.elapsed().as_secs_f64()
            );
        }
    }

    /// Server configuration for data set `dir`, serving `role`, with the adapters the flags
    /// name (the KurrentDB/MongoDB hook) and full durability. Read models on MongoDB go to a
    /// database of this run's own: a MongoDB outlives the run (the events, embedded, do not),
    /// and another run's checkpoints there would pass for this run's progress.
    pub fn config(&self, dir: &Path, role: Role) -> Config {
        let mut config = Config::with_data_dir(dir);
        config.role = role;
        config.durability = DurabilityArg::Full;
        config.kurrentdb_url = self.options.kurrentdb_url.as_deref().map(Into::into);
        config.mongodb_url = self.options.mongodb_url.as_deref().map(Into::into);
        if config.mongodb_url.is_some() {
            config.mongodb_database = format!("causeway_bench_{}", self.run_id);
        }
        config.log = "warn".to_owned();
        // The scenarios measure the platform's own work; the cost of checking tokens is
        // measured on its own, against this.
        config.auth = AuthMode::Disabled;
        // The seeded data sets hold no orders; the fulfilment scenario switches it on.
        config.fulfilment = FulfilmentMode::Disabled;
        config
    }

    /// Opens the event store `config` names on the server runtime (so its threads run where the
    /// server's do), exactly as the server opens its own.
    pub async fn open_store(&self, config: Config) -> Result<Arc<dyn EventStore>, BenchError> {
        self.on_server(async move {
            causeway_server::server::open_event_store(&config)
                .await
                .doing("opening the event store")
        })
        .await
    }

    /// Closes a store on a blocking thread of the server runtime: the embedded store joins its
    /// writer thread when dropped, which must not block an async worker.
    pub async fn close_store(&self, store: Arc<dyn EventStore>) -> Result<(), BenchError> {
        self.server
            .spawn_blocking(move || drop(store))
            .await
            .doing("closing the event store")
    }

    /// Registers one product per sku (one event each) in the store `config` names, with
    /// relaxed durability (seeding is not what is measured), and closes the store again so a
    /// server can open it; `what` names the data set in an error.
    pub async fn seed_products(
        &self,
        config: &Config,
        skus: &[String],
        what: &str,
    ) -> Result<(), BenchError> {
        let mut seeding = config.clone();
        seeding.durability = DurabilityArg::Relaxed;
        let store = self.open_store(seeding).await?;
        let streams = skus.iter().map(|sku| (sku.clone(), 1)).collect();
        let seeded = super::seed::products(&store, streams).await;
        self.close_store(store).await?;
        seeded.doing(&format!("seeding {what}")).map(drop)
    }

    /// Runs `work` on the server runtime and waits for it from the client side.
    pub async fn on_server<T, F>(&self, work: F) -> Result<T, BenchError>
    where
        T: Send + 'static,
        F: Future<Output = Result<T, BenchError>> + Send + 'static,
    {
        self.server.spawn(work).await.doing("server-side task")?
    }

    /// A phase of `count` measured operations at `in_flight`, after the usual warm-up.
    pub fn plan(&self, in_flight: usize, count: usize) -> Plan {
        Plan::new(in_flight, self.scale.warmup, count, self.scale.phase_limit)
    }

    /// [`Bench::plan`] split into the run's rounds, for subjects and baselines to take turns.
    pub fn rounds(&self, in_flight: usize, count: usize) -> Vec<Plan> {
        self.plan(in_flight, count).split(self.scale.rounds)
    }

    /// The skus of data set `set`, `0..count`.
    pub fn skus(&self, set: &str, count: usize) -> Arc<Vec<String>> {
        Arc::new(
            (0..count)
                .map(|n| super::seed::sku(&self.run_id, set, n))
                .collect(),
        )
    }
}

/// Runs every selected scenario, adding its rows to `report`.
pub async fn run_all(bench: &Bench, report: &mut Report) {
    writes::run(bench, report).await;
    reads::run(bench, report).await;
    if bench.options.wants(8) {
        let result = auth::run(bench, report).await;
        settle(report, 8, result);
    }
    fulfilment::run(bench, report).await;
    transport::run(bench, report).await;
    hot::run(bench, report).await;
    length::run(bench, report).await;
    tails::run(bench, report).await;
    longrun::run(bench, report).await;
    // Last: its traced phase installs a span exporter for the whole process.
    observe::run(bench, report).await;
}

/// Records `result` of scenario `n`: nothing more on success (the scenario added its rows),
/// a failed row otherwise.
fn settle(report: &mut Report, n: u8, result: Result<(), BenchError>) {
    if let Err(e) = result {
        report.ratio(n, "—", Outcome::Failed(e.to_string()), None);
    }
}
