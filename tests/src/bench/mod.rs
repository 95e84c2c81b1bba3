//! `causeway-bench`: measures Causeway against its own baselines, side by side, in one run.
//!
//! Absolute times on a shared 2-core machine are noise, so every figure that is judged is a
//! ratio against a baseline measured in the same run, on the same data, in interleaved phases
//! where the two can share a server.
//!
//! Layout:
//! - `options`: flags and the two presets (`--smoke` for the test suite, full for the README).
//! - `runtimes`: the server's and the load generator's tokio runtimes, pinned to different
//!   cores when the machine has two.
//! - `echo`: the bare echo RPC (a bytes pass-through codec) mounted on the real server stack.
//! - `server`: a real Causeway server (`run_with`) on a 127.0.0.1 port-0 listener, with echo.
//! - `seed`: product streams written straight through the `EventStore` port.
//! - `load`: the closed loop of N in-flight operations and its HdrHistogram.
//! - `report`: measurements, ratios, targets and the markdown table.
//! - `scenarios`: the seven scenarios of issue 8, grouped by the data set they share.

pub mod echo;
pub mod error;
pub mod load;
pub mod options;
pub mod report;
pub mod runtimes;
pub mod scenarios;
pub mod seed;
pub mod server;

pub use error::BenchError;
pub use options::{Options, Scale};
pub use report::Report;

use self::{report::Header, runtimes::Runtimes, scenarios::Bench};

/// Runs every scenario `options` selects and returns the report; it also writes the report to
/// `options.out` when set. A scenario that fails is reported as a failed row and the others
/// still run, so one broken adapter does not hide the rest of the numbers.
pub fn run(options: &Options, command: &str) -> Result<Report, BenchError> {
    let scale = options.scale();
    let runtimes = Runtimes::build(options.pin())?;
    let base = scratch_dir(options)?;
    let header = Header::capture(options, command, runtimes.pinning());
    let bench = Bench {
        options: options.clone(),
        scale,
        server: runtimes.server_handle(),
        base: base.path().to_path_buf(),
        run_id: run_id(),
        started: std::time::Instant::now(),
    };
    let mut report = Report::new(header);
    runtimes.block_on_client(scenarios::run_all(&bench, &mut report));
    report.header.finish();
    if let Some(out) = &options.out {
        std::fs::write(out, report.to_markdown())
            .map_err(|e| BenchError::new(format!("writing {}: {e}", out.display())))?;
    }
    // The runtimes (and the stores their threads hold) go before the scratch directory does.
    drop(runtimes);
    drop(base);
    Ok(report)
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
