//! Two tokio runtimes in one process: the server's and the load generator's.
//!
//! Pinning: when asked and the process may use at least two cores, every thread of the server
//! runtime (workers and blocking pool) is pinned to the first core and every thread of the client
//! runtime to the second, with `sched_setaffinity` through the `core_affinity` crate. Linux
//! threads inherit their creator's affinity, so the threads the server starts from its runtime
//! (the embedded store's writer thread, SQLite reads on the blocking pool) stay on the server's
//! core too. In-process raw-store baselines run on the server runtime, so they get exactly the
//! core the server gets. This replaces `taskset -c 0 server` + `taskset -c 1 client` with one
//! process, which keeps the echo service mounted through `run_with` and the baselines in reach.

use std::{
    future::Future,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
};

use tokio::runtime::{Builder, Handle, Runtime};

use super::BenchError;

/// How the two runtimes were placed, for the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pinning {
    /// Threads float over every core (asked for, or fewer than two cores available).
    Off {
        /// Why: `--no-pin`, a smoke run, or the machine.
        reason: String,
    },
    /// Server threads on one core, load generator threads on another.
    Cores {
        /// Core id of the server runtime.
        server: usize,
        /// Core id of the client runtime.
        client: usize,
    },
}

impl std::fmt::Display for Pinning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Off { reason } => write!(f, "not pinned ({reason})"),
            Self::Cores { server, client } => write!(
                f,
                "server runtime and its store threads on core {server}, load generator on core {client}"
            ),
        }
    }
}

/// The server's and the client's runtimes.
pub struct Runtimes {
    server: Runtime,
    client: Runtime,
    pinning: Pinning,
    pin_failed: Arc<AtomicBool>,
}

impl Runtimes {
    /// Builds both runtimes, pinned to cores 0 and 1 of the cores this process may use when
    /// `pin` is set and there are at least two. Pinned runtimes get one worker thread each, the
    /// core they own; unpinned ones get one per core, like `#[tokio::main]`.
    pub fn build(pin: bool) -> Result<Self, BenchError> {
        let cores = core_affinity::get_core_ids().unwrap_or_default();
        let pin_failed = Arc::new(AtomicBool::new(false));
        let (pinning, server_core, client_core) = match (pin, cores.as_slice()) {
            (false, _) => (
                Pinning::Off {
                    reason: "--no-pin or --smoke".into(),
                },
                None,
                None,
            ),
            (true, [server, client, ..]) => (
                Pinning::Cores {
                    server: server.id,
                    client: client.id,
                },
                Some(*server),
                Some(*client),
            ),
            (true, _) => (
                Pinning::Off {
                    reason: format!("only {} core(s) available", cores.len()),
                },
                None,
                None,
            ),
        };
        let workers = std::thread::available_parallelism().map_or(2, usize::from);
        let server = runtime("bench-server", server_core, workers, &pin_failed)?;
        let client = runtime("bench-client", client_core, workers, &pin_failed)?;
        // `block_on` polls the orchestration on the calling thread: it belongs to the client.
        if let Some(core) = client_core
            && !core_affinity::set_for_current(core)
        {
            pin_failed.store(true, Ordering::Relaxed);
        }
        Ok(Self {
            server,
            client,
            pinning,
            pin_failed,
        })
    }

    /// How the runtimes are placed; says so when a thread could not be pinned.
    pub fn pinning(&self) -> Pinning {
        if self.pin_failed.load(Ordering::Relaxed) {
            return Pinning::Off {
                reason: "sched_setaffinity was refused".into(),
            };
        }
        self.pinning.clone()
    }

    /// Spawns onto the server runtime: servers, stores and in-process baselines run there.
    pub fn server_handle(&self) -> Handle {
        self.server.handle().clone()
    }

    /// Runs the orchestration (and every gRPC client) on the client runtime.
    pub fn block_on_client<F: Future>(&self, future: F) -> F::Output {
        self.client.block_on(future)
    }
}

fn runtime(
    name: &'static str,
    core: Option<core_affinity::CoreId>,
    workers: usize,
    pin_failed: &Arc<AtomicBool>,
) -> Result<Runtime, BenchError> {
    let mut builder = Builder::new_multi_thread();
    builder.enable_all().thread_name(name);
    match core {
        Some(core) => {
            let failed = Arc::clone(pin_failed);
            builder.worker_threads(1).on_thread_start(move || {
                if !core_affinity::set_for_current(core) {
                    failed.store(true, Ordering::Relaxed);
                }
            });
        }
        None => {
            builder.worker_threads(workers);
        }
    }
    builder
        .build()
        .map_err(|e| BenchError::new(format!("building the {name} runtime: {e}")))
}
