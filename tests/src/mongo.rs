//! MongoDB for the read-store tests: a SecantusDB server (a MongoDB wire-protocol server that
//! `scripts/setup-test-tools` installs from PyPI) started on a free loopback port, as a one-node
//! replica set or with `--standalone`, and stopped when the test ends. When
//! `CAUSEWAY_TEST_MONGODB_URL` is set, the suites use that server instead (each test in its own
//! database), and the "standalone" runs commit through the journal on it by switching
//! transactions off.
//!
//! SecantusDB is GPL-2.0: it only ever runs as a separate process.
//!
//! `process` runs the `causeway-server` binary against such a server.

pub mod process;

use std::{
    future::Future,
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::Arc,
    time::Duration,
};

use causeway_server::{
    config::Config,
    readstore::mongodb::{Atomicity, MongoReadStore, MongoSettings},
};
use tempfile::TempDir;

use crate::tools::workspace_root;

/// How long a started server may take to answer.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a stopped server may take to exit before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);

/// The deployment shape a test wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topology {
    /// A one-node replica set: transactions.
    ReplicaSet,
    /// A standalone server: no transactions, the journal.
    Standalone,
}

impl Topology {
    /// How a store on this topology commits batches.
    pub fn atomicity(self) -> Atomicity {
        match self {
            Self::ReplicaSet => Atomicity::Transactions,
            Self::Standalone => Atomicity::Journal,
        }
    }
}

/// A MongoDB server for one test.
pub struct MongoServer {
    topology: Topology,
    url: String,
    process: Option<Process>,
}

/// A SecantusDB process and what restarting it needs.
struct Process {
    child: Option<Child>,
    port: u16,
    storage: Option<TempDir>,
    logs: TempDir,
}

impl MongoServer {
    /// A server with throwaway (in-memory) storage.
    pub async fn start(topology: Topology) -> Self {
        match external_url() {
            Some(url) => Self {
                topology,
                url,
                process: None,
            },
            None => Self::spawn(topology, None).await,
        }
    }

    /// Always SecantusDB, with storage in a temporary directory, so that [`MongoServer::stop`]
    /// and [`MongoServer::restart`] keep the data: for outage tests, which must control the
    /// server and so never use `CAUSEWAY_TEST_MONGODB_URL`.
    pub async fn start_durable(topology: Topology) -> Self {
        let storage = tempfile::tempdir().expect("temp dir for MongoDB storage");
        Self::spawn(topology, Some(storage)).await
    }

    async fn spawn(topology: Topology, mut storage: Option<TempDir>) -> Self {
        let mut failures = Vec::new();
        // A free port can be taken by someone else before the server binds it: try another.
        for _ in 0..3 {
            let port = crate::tools::free_port();
            let logs = tempfile::tempdir().expect("temp dir for MongoDB logs");
            let mut server = Self {
                topology,
                url: format!("mongodb://127.0.0.1:{port}/?directConnection=true"),
                process: Some(Process {
                    child: None,
                    port,
                    storage: storage.take(),
                    logs,
                }),
            };
            match server.launch().await {
                Ok(()) => return server,
                Err(failure) => {
                    failures.push(failure);
                    storage = server.process.as_mut().and_then(|p| p.storage.take());
                }
            }
        }
        panic!("secantusd-py did not start: {failures:#?}");
    }

    /// The connection string.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The topology asked for.
    pub fn topology(&self) -> Topology {
        self.topology
    }

    /// Settings for a store in `database` that commits the way this topology does (on an
    /// external server, "standalone" switches transactions off).
    pub fn settings(&self, database: &str) -> MongoSettings {
        let settings = MongoSettings::new(database);
        match (self.topology, self.process.is_none()) {
            (Topology::Standalone, true) => settings.with_transactions(false),
            _ => settings,
        }
    }

    /// A store on a fresh database.
    pub async fn store(&self) -> Arc<MongoReadStore> {
        self.store_in(&unique_database()).await
    }

    /// A store on `database`, checked to commit the way the topology does.
    pub async fn store_in(&self, database: &str) -> Arc<MongoReadStore> {
        let store = MongoReadStore::connect(&self.url, self.settings(database))
            .await
            .expect("connect to MongoDB");
        let atomicity = store.atomicity().await.expect("MongoDB answers");
        assert_eq!(atomicity, self.topology.atomicity(), "detected commit path");
        Arc::new(store)
    }

    /// `config` reading and writing its read models in `database` on this server.
    pub fn configure(&self, mut config: Config, database: &str) -> Config {
        config.mongodb_url = Some(self.url.as_str().into());
        config.mongodb_database = database.to_owned();
        config
    }

    /// Stops the server gracefully (SIGTERM, then SIGKILL after a bounded wait).
    pub async fn stop(&mut self) {
        let process = self
            .process
            .as_mut()
            .expect("only a started SecantusDB can stop");
        if let Some(mut child) = process.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let deadline = tokio::time::Instant::now() + STOP_TIMEOUT;
            while matches!(child.try_wait(), Ok(None)) && tokio::time::Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the stopped server again on the same port and storage.
    pub async fn restart(&mut self) {
        self.stop().await;
        if let Err(failure) = self.launch().await {
            panic!("secantusd-py did not restart: {failure}");
        }
    }

    /// Starts the process and waits until it answers; `Err` (with its log) when it exits first.
    async fn launch(&mut self) -> Result<(), String> {
        let url = self.url.clone();
        let topology = self.topology;
        let process = self.process.as_mut().expect("a SecantusDB process");
        let binary = secantusd();
        let storage = process.storage.as_ref().map_or_else(
            || ":memory:".to_owned(),
            |dir| dir.path().display().to_string(),
        );
        let log =
            std::fs::File::create(process.logs.path().join("secantusd.log")).expect("log file");
        let mut command = Command::new(&binary);
        command
            .args(["--host", "127.0.0.1", "--port", &process.port.to_string()])
            .args(["--storage-path", &storage, "--log-level", "WARNING"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        if topology == Topology::Standalone {
            command.arg("--standalone");
        }
        let child = command.spawn().expect("secantusd-py starts");
        process.child = Some(child);
        let deadline = tokio::time::Instant::now() + START_TIMEOUT;
        let settings = MongoSettings::new("causeway_probe").with_finishing_batches(false);
        let address = format!("127.0.0.1:{}", process.port);
        loop {
            if let Some(status) = process
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                return Err(format!(
                    "secantusd-py exited ({status}) before answering:\n{}",
                    std::fs::read_to_string(process.logs.path().join("secantusd.log"))
                        .unwrap_or_default()
                ));
            }
            // Only once the port accepts: before that the driver would wait out its whole
            // server-selection timeout on every try.
            if tokio::net::TcpStream::connect(&address).await.is_ok()
                && let Ok(store) = MongoReadStore::connect(&url, settings.clone()).await
                && store.atomicity().await.is_ok()
            {
                return Ok(());
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "secantusd-py on port {} did not answer within {START_TIMEOUT:?}",
                process.port
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for MongoServer {
    fn drop(&mut self) {
        if let Some(child) = self.process.as_mut().and_then(|p| p.child.as_mut()) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `CAUSEWAY_TEST_MONGODB_URL`, when set and not empty.
pub fn external_url() -> Option<String> {
    std::env::var("CAUSEWAY_TEST_MONGODB_URL")
        .ok()
        .filter(|url| !url.trim().is_empty())
}

/// A database name no other test uses.
pub fn unique_database() -> String {
    format!(
        "causeway_test_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..16]
    )
}

/// The SecantusDB launcher: `$CAUSEWAY_SECANTUSD`, or the one `scripts/setup-test-tools`
/// installs. A missing one fails the test with the command to run, never skips it.
pub fn secantusd() -> PathBuf {
    let path = std::env::var_os("CAUSEWAY_SECANTUSD")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(".venv-tools/bin/secantusd-py"));
    assert!(
        path.exists(),
        "secantusd-py not found at {}: run scripts/setup-test-tools (scripts/test does it for \
         you), or set CAUSEWAY_TEST_MONGODB_URL to use a MongoDB server",
        path.display()
    );
    path
}

tokio::task_local! {
    static READ_MODELS: (String, String);
}

/// Runs `scenario` with every [`TestServer`](crate::TestServer) it starts keeping its read
/// models in `database` on `server` instead of the embedded store. This is how the shared
/// scenarios, which take the event backend as their only parameter, also run on MongoDB.
pub async fn with_read_models<F: Future>(
    server: &MongoServer,
    database: &str,
    scenario: F,
) -> F::Output {
    READ_MODELS
        .scope((server.url.clone(), database.to_owned()), scenario)
        .await
}

/// `config` with the read models of the enclosing [`with_read_models`], if any and unless it
/// names a MongoDB itself.
pub fn apply_read_models(config: Config) -> Config {
    if config.mongodb_url.is_some() {
        return config;
    }
    match READ_MODELS.try_with(|(url, database)| (url.clone(), database.clone())) {
        Ok((url, database)) => Config {
            mongodb_url: Some(url.as_str().into()),
            mongodb_database: database,
            ..config
        },
        Err(_) => config,
    }
}
