//! `causeway-bench`: measures Causeway against its own baselines, side by side, in one run.
//!
//! Absolute times on a shared 2-core machine are noise, so every figure that is judged is a
//! ratio against a baseline measured in the same run, on the same data, in interleaved phases
//! where the two can share a server.
//!
//! Layout:
//! - `options`: flags and the two presets (`--smoke` for the test suite, full for the README).
//! - here: `run`, and for `--mongodb` the SecantusDB it starts with the test suite's harness
//!   (`crate::mongo`) to keep the run's read models in.
//! - `runtimes`: the server's and the load generator's tokio runtimes, pinned to different
//!   cores when the machine has two.
//! - `echo`: the bare echo RPC (a bytes pass-through codec) mounted on the real server stack.
//! - `server`: a real Causeway server (`run_with`) on a 127.0.0.1 port-0 listener, with echo.
//! - `seed`: product streams written straight through the `EventStore` port.
//! - `load`: the closed loop of N in-flight operations and its HdrHistogram.
//! - `report`: measurements, ratios, targets and the markdown table.
//! - `process`: the `causeway-server` binary as a process of its own, with its memory and threads.
//! - `otlp`: an in-process OTLP trace receiver for the traced phase of scenario 9.
//! - `scenarios`: the scenarios, grouped by the data set they share.

pub mod echo;
pub mod error;
pub mod load;
pub mod options;
pub mod otlp;
pub mod process;
pub mod report;
pub mod runtimes;
pub mod scenarios;
pub mod seed;
pub mod server;

pub use error::BenchError;
pub use options::{Options, Scale};
pub use report::Report;

use std::{
    fs::File,
    io::{BufRead, BufReader, Read},
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

use self::{
    report::{Header, StartedServer},
    runtimes::Runtimes,
    scenarios::Bench,
};
use crate::{
    mongo::{MongoServer, Topology},
    tools::workspace_root,
};

/// Runs every scenario `options` selects and returns the report; it also writes the report to
/// `options.out` when set. A scenario that fails is reported as a failed row and the others
/// still run, so one broken adapter does not hide the rest of the numbers.
///
/// With `--mongodb` (and no `--mongodb-url`) the run first starts SecantusDB, keeps every
/// server's read models there, and stops it again at the end, also when the run fails.
pub fn run(options: &Options, command: &str) -> Result<Report, BenchError> {
    let runtimes = Runtimes::build(options.pin())?;
    let base = scratch_dir(options)?;
    if options.mongodb && options.mongodb_url.is_some() {
        eprintln!(
            "causeway-bench: --mongodb-url (or CAUSEWAY_BENCH_MONGODB_URL) names a MongoDB: \
             using it, not starting SecantusDB"
        );
    }
    let mut mongodb = if options.mongodb && options.mongodb_url.is_none() {
        Some(LocalMongo::start(&runtimes)?)
    } else {
        None
    };
    let result = measure(options, command, &runtimes, &base, mongodb.as_ref());
    if let Some(mongodb) = &mut mongodb {
        runtimes.block_on_client(mongodb.server.stop());
    }
    // SecantusDB, then the runtimes (and the stores their threads hold), go before the scratch
    // directory does. (A panic kills SecantusDB too: `MongoServer` does on drop.)
    drop(mongodb);
    drop(runtimes);
    drop(base);
    result
}

/// The run itself, on `runtimes`, with its data sets under `base` and its read models on
/// `mongodb` when the run started one.
fn measure(
    options: &Options,
    command: &str,
    runtimes: &Runtimes,
    base: &tempfile::TempDir,
    mongodb: Option<&LocalMongo>,
) -> Result<Report, BenchError> {
    let mut options = options.clone();
    if let Some(mongodb) = mongodb {
        options.mongodb_url = Some(mongodb.server.url().to_owned());
    }
    let scale = options.scale();
    let header = Header::capture(
        &options,
        command,
        runtimes.pinning(),
        mongodb.map(|m| &m.started),
    );
    let bench = Bench {
        options: options.clone(),
        scale,
        server: runtimes.server_handle(),
        base: base.path().to_path_buf(),
        run_id: run_id(),
        started: std::time::Instant::now(),
        server_core: match runtimes.pinning() {
            runtimes::Pinning::Cores { server, .. } => Some(server),
            runtimes::Pinning::Off { .. } => None,
        },
    };
    let mut report = Report::new(header);
    runtimes.block_on_client(scenarios::run_all(&bench, &mut report));
    report.header.finish();
    if let Some(out) = &options.out {
        std::fs::write(out, report.to_markdown())
            .map_err(|e| BenchError::new(format!("writing {}: {e}", out.display())))?;
    }
    Ok(report)
}

/// The SecantusDB a `--mongodb` run started, with the test suite's harness (`crate::mongo`):
/// `MongoServer::start_durable`, since `start` would quietly use `CAUSEWAY_TEST_MONGODB_URL`
/// when that is set, and the report must name the server it measured. Its storage is a
/// temporary directory, removed with it (as `start`'s `:memory:` is too).
struct LocalMongo {
    server: MongoServer,
    started: StartedServer,
}

impl LocalMongo {
    /// The topology: a one-node replica set, so that the read store commits each batch in one
    /// multi-document transaction, the way production deployments (replica sets) do.
    const TOPOLOGY: Topology = Topology::ReplicaSet;

    /// Starts SecantusDB from the server runtime, so the process inherits the server's core
    /// when the runtimes are pinned: the read store sits beside the server, as the embedded one
    /// does. The harness panics when it cannot start one; that becomes the run's error.
    fn start(runtimes: &Runtimes) -> Result<Self, BenchError> {
        let launcher = secantusd_launcher()?;
        let started = std::time::Instant::now();
        let server = runtimes
            .block_on_client(
                runtimes
                    .server_handle()
                    .spawn(MongoServer::start_durable(Self::TOPOLOGY)),
            )
            .map_err(|e| {
                let why = match e.try_into_panic() {
                    Ok(panic) => panic
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                        .unwrap_or_else(|| "it panicked".to_owned()),
                    Err(e) => e.to_string(),
                };
                BenchError::new(format!("starting SecantusDB for --mongodb: {why}"))
            })?;
        let version = secantusdb_version(&launcher);
        eprintln!(
            "[causeway-bench] SecantusDB {} answers at {} ({:.1} s to start)",
            version.as_deref().unwrap_or("(version unknown)"),
            server.url(),
            started.elapsed().as_secs_f64()
        );
        let started = StartedServer {
            name: format!(
                "SecantusDB {}",
                version.as_deref().unwrap_or("(version unknown)")
            ),
            detail: format!(
                "secantusd-py on {}: a one-node replica set (each batch commits in one \
                 transaction), storage in a temporary directory",
                server
                    .url()
                    .trim_start_matches("mongodb://")
                    .split('/')
                    .next()
                    .unwrap_or("127.0.0.1")
            ),
        };
        Ok(Self { server, started })
    }
}

/// The launcher the harness runs, by its rule (`crate::mongo::secantusd`: `$CAUSEWAY_SECANTUSD`,
/// else the one in `.venv-tools`), checked here first so that a missing install is one line
/// that says what to do for the bench rather than the harness's panic for tests.
fn secantusd_launcher() -> Result<PathBuf, BenchError> {
    let path = std::env::var_os("CAUSEWAY_SECANTUSD")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(".venv-tools/bin/secantusd-py"));
    if path.exists() {
        Ok(path)
    } else {
        Err(BenchError::new(format!(
            "--mongodb needs secantusd-py, not found at {}: run scripts/setup-test-tools \
             (scripts/bench does when it is missing), set CAUSEWAY_SECANTUSD, or name a \
             MongoDB with --mongodb-url",
            path.display()
        )))
    }
}

/// The installed SecantusDB's version, asked of the Python that runs `launcher` (its `#!`
/// line): this crate has no MongoDB driver of its own to ask the server (`buildInfo`).
fn secantusdb_version(launcher: &Path) -> Option<String> {
    let mut first_line = String::new();
    BufReader::new(File::open(launcher).ok()?.take(512))
        .read_line(&mut first_line)
        .ok()?;
    let mut interpreter = first_line.strip_prefix("#!")?.split_whitespace();
    let program = interpreter.next()?;
    let output = Command::new(program)
        .args(interpreter)
        .args([
            "-c",
            "import importlib.metadata as m; print(m.version('SecantusDB'))",
        ])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let version = String::from_utf8(output.stdout).ok()?.trim().to_owned();
    (output.status.success() && !version.is_empty()).then_some(version)
}

/// The scratch directory every data set of this run lives in, removed at the end.
fn scratch_dir(options: &Options) -> Result<tempfile::TempDir, BenchError> {
    let made = match &options.data_dir {
        Some(parent) => {
            std::fs::create_dir_all(parent)
                .map_err(|e| BenchError::new(format!("creating {}: {e}", parent.display())))?;
            tempfile::Builder::new()
                .prefix("causeway-bench-")
                .tempdir_in(parent)
        }
        None => tempfile::Builder::new().prefix("causeway-bench-").tempdir(),
    };
    made.map_err(|e| BenchError::new(format!("creating the scratch directory: {e}")))
}

/// A short id that keeps this run's streams apart from any other run's in a shared store
/// (KurrentDB keeps streams across runs; the embedded store starts empty every time).
fn run_id() -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    id[..8].to_owned()
}
