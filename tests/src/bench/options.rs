//! Flags of `causeway-bench` and the counts they resolve to. Two presets: the full run the
//! README's table comes from (kept under ~20 minutes on a 2-core machine), and `--smoke`, tiny
//! counts that finish in seconds so the test suite can run every scenario's code.

use std::{path::PathBuf, time::Duration};

use clap::Parser;

/// What one `causeway-bench` run measures and where it writes the table.
#[derive(Debug, Clone, Default, Parser)]
#[command(
    name = "causeway-bench",
    about = "Measures Causeway against its own baselines (echo RPC, raw store) in one run"
)]
pub struct Options {
    /// Tiny counts, a few seconds: proves every scenario still runs; the numbers mean nothing.
    #[arg(long)]
    pub smoke: bool,

    /// Markdown file the report is written to (it is printed to stdout as well).
    #[arg(long)]
    pub out: Option<PathBuf>,

    /// Directory the scratch data sets are created in (removed afterwards). Put it on the disk
    /// you mean to measure: durable appends wait for its fsync. Default: the system temp dir.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,

    /// Do not pin the server and the load generator to different cores.
    #[arg(long)]
    pub no_pin: bool,

    /// Run only these scenarios (comma-separated numbers, e.g. `1,3`). Default: all.
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<u8>,

    /// Events the projection catch-up scenario (3) replays. The issue fixes 1,000,000.
    #[arg(long)]
    pub catchup_events: Option<u64>,

    /// Measured requests per phase at 1 in flight, scenario 7's commands included (default
    /// 5,000; smoke 8). Scenario 7 seeds 2 × (200 + this) streams of 20 events, which count
    /// towards `--catchup-events`.
    #[arg(long)]
    pub requests: Option<usize>,

    /// Measured requests per phase at 32 in flight (default 20,000; smoke 64).
    #[arg(long)]
    pub concurrent_requests: Option<usize>,

    /// KurrentDB connection string: servers and raw-store baselines use it for events instead
    /// of the embedded store (the hook for the KurrentDB adapter).
    #[arg(long, env = "CAUSEWAY_BENCH_KURRENTDB_URL")]
    pub kurrentdb_url: Option<String>,

    /// MongoDB connection string: servers keep read models there instead of the embedded store
    /// (the hook for the MongoDB adapter), in a database of their own per run.
    #[arg(long, env = "CAUSEWAY_BENCH_MONGODB_URL")]
    pub mongodb_url: Option<String>,

    /// Run the long run's server process (scenario 14) under this command, e.g. `heaptrack -o
    /// /tmp/server` or `perf record -g -o /tmp/perf.data --`, to profile it; its memory and
    /// thread figures then describe the wrapper and mean nothing.
    #[arg(long)]
    pub server_wrapper: Option<String>,

    /// Keep read models in a MongoDB the run starts itself: SecantusDB (`secantusd-py`, which
    /// `scripts/setup-test-tools` installs) on a free 127.0.0.1 port, as a one-node replica set
    /// (batches commit in transactions), stopped at the end. `--mongodb-url` wins when given.
    #[arg(long)]
    pub mongodb: bool,

    /// Run scenario 9 (what observing a command costs) on a durable store, fsync per group
    /// commit as the server's default, instead of a relaxed one (which keeps fsync out of what
    /// is compared and so shows the edge's share at its largest).
    #[arg(long)]
    pub observe_durable: bool,
}

impl Options {
    /// The smoke preset, as the test suite runs it: tiny counts, no pinning (tests share cores).
    pub fn smoke() -> Self {
        Self {
            smoke: true,
            no_pin: true,
            ..Self::default()
        }
    }

    /// Whether scenario `n` is selected.
    pub fn wants(&self, n: u8) -> bool {
        self.only.is_empty() || self.only.contains(&n)
    }

    /// Whether to pin: asked for, and not a smoke run (whose numbers mean nothing anyway).
    pub fn pin(&self) -> bool {
        !self.no_pin && !self.smoke
    }

    /// The counts this run uses.
    pub fn scale(&self) -> Scale {
        let preset = if self.smoke {
            Scale::smoke()
        } else {
            Scale::full()
        };
        Scale {
            requests: self.requests.unwrap_or(preset.requests).max(1),
            concurrent_requests: self
                .concurrent_requests
                .unwrap_or(preset.concurrent_requests)
                .max(1),
            catchup_events: self.catchup_events.unwrap_or(preset.catchup_events).max(1),
            // Scenario 7's phases are at 1 in flight too: `--requests` sizes them as well.
            rebuild_requests: self.requests.unwrap_or(preset.rebuild_requests).max(1),
            ..preset
        }
    }
}

/// Every count of one run. Fixed by the issue: 20-event streams for commands, 32 in flight,
/// 100-event batches, aggregates of 100 and 1,000 events, 1,000,000 events to catch up on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scale {
    /// Unmeasured requests before each measured phase (connections, caches, JIT-free warm-up of
    /// SQLite's page cache and statement caches).
    pub warmup: usize,
    /// Measured operations per phase at 1 in flight.
    pub requests: usize,
    /// Turns subject and baselines take within a phase (see `load`).
    pub rounds: usize,
    /// Measured operations per phase at [`Scale::in_flight`].
    pub concurrent_requests: usize,
    /// The concurrent load: 32 in flight.
    pub in_flight: usize,
    /// Events every command's stream holds before the command (it loads exactly these).
    pub command_stream_events: usize,
    /// Events replayed by the catch-up scenario.
    pub catchup_events: u64,
    /// Events per stream of the catch-up data set.
    pub catchup_stream_events: usize,
    /// Appends measured per phase of the append scenario.
    pub appends: usize,
    /// Events per batch append.
    pub batch_events: usize,
    /// Loads measured per aggregate size.
    pub loads: usize,
    /// The small and the large aggregate.
    pub aggregate_sizes: (usize, usize),
    /// Commands measured per phase of the rebuild scenario (fewer when the rebuild ends first).
    pub rebuild_requests: usize,
    /// Orders fulfilled per phase of scenario 10 at 1 in flight.
    pub fulfilment_orders: usize,
    /// Orders fulfilled per phase of scenario 10 at [`Scale::in_flight`].
    pub concurrent_fulfilment_orders: usize,
    /// Commands of the long run (scenario 14).
    pub long_run_commands: usize,
    /// Commands in flight during the long run.
    pub long_run_in_flight: usize,
    /// Longest any one measured phase may run; a phase cut short says so in the report.
    pub phase_limit: Duration,
    /// Longest the catch-up and rebuild scenarios wait for a projection.
    pub projection_limit: Duration,
}

impl Scale {
    /// The README's run: the fixed sizes, enough samples for a stable p99.
    pub fn full() -> Self {
        Self {
            warmup: 200,
            requests: 5_000,
            rounds: 10,
            concurrent_requests: 20_000,
            in_flight: 32,
            command_stream_events: 20,
            catchup_events: 1_000_000,
            catchup_stream_events: 100,
            appends: 2_000,
            batch_events: 100,
            loads: 1_000,
            aggregate_sizes: (100, 1_000),
            rebuild_requests: 5_000,
            fulfilment_orders: 1_000,
            concurrent_fulfilment_orders: 4_000,
            long_run_commands: 200_000,
            long_run_in_flight: 64,
            phase_limit: Duration::from_secs(90),
            projection_limit: Duration::from_secs(600),
        }
    }

    /// The test suite's run: every code path, tiny counts.
    pub fn smoke() -> Self {
        Self {
            warmup: 2,
            requests: 8,
            rounds: 2,
            concurrent_requests: 64,
            in_flight: 32,
            command_stream_events: 20,
            catchup_events: 2_000,
            catchup_stream_events: 100,
            appends: 4,
            batch_events: 100,
            loads: 4,
            aggregate_sizes: (100, 1_000),
            rebuild_requests: 8,
            fulfilment_orders: 8,
            concurrent_fulfilment_orders: 64,
            long_run_commands: 400,
            long_run_in_flight: 64,
            phase_limit: Duration::from_secs(60),
            projection_limit: Duration::from_secs(120),
        }
    }
}
