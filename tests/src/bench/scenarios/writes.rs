//! The write-side data set: one server in the `command` role (the write path alone, no
//! projection competing for the core) and, beside it on the same file, a raw handle on the same
//! event store for the baselines. Seeded with one 20-event product stream per command and per
//! raw operation, and with aggregates of 100 and 1,000 events.

use std::{path::PathBuf, sync::Arc};

use causeway_server::{config::Role, store::EventStore};

use super::{Bench, aggregate, append, command, settle};
use crate::bench::{
    BenchError,
    error::Context,
    report::{Outcome, Report},
    seed,
    server::BenchServer,
};

/// Data-set names (the middle part of each sku).
pub(super) const COMMANDS_1: &str = "cmd1";
pub(super) const COMMANDS_N: &str = "cmdn";
pub(super) const RAW_1: &str = "raw1";
pub(super) const RAW_N: &str = "rawn";
pub(super) const KERNEL_1: &str = "krn1";
pub(super) const KERNEL_N: &str = "krnn";
/// Streams of scenario 1's hot-stream diagnostic: [`HOT_PER_SLOT`] per request in flight.
pub(super) const HOT: &str = "hot";
/// Hot streams per request in flight: enough that concurrent commands rarely share a stream.
pub(super) const HOT_PER_SLOT: usize = 8;
pub(super) const SMALL: &str = "agg-small";
pub(super) const LARGE: &str = "agg-large";
/// Aggregates of each size that loads go round.
pub(super) const AGGREGATES: usize = 10;

/// The running write-side data set.
pub(super) struct WriteSet {
    pub(super) server: BenchServer,
    pub(super) raw: Arc<dyn EventStore>,
}

/// Seeds the data set, starts the server and the raw handle, runs scenarios 1, 4 and 5.
pub(super) async fn run(bench: &Bench, report: &mut Report) {
    let wanted: Vec<u8> = [1, 4, 5]
        .into_iter()
        .filter(|n| bench.options.wants(*n))
        .collect();
    if wanted.is_empty() {
        return;
    }
    let set = match prepare(bench).await {
        Ok(set) => set,
        Err(e) => {
            for n in wanted {
                report.ratio(n, "—", Outcome::Failed(e.to_string()), None);
            }
            return;
        }
    };
    if bench.options.wants(1) {
        let result = command::run(bench, &set, report).await;
        settle(report, 1, result);
    }
    if bench.options.wants(4) {
        let result = append::run(bench, &set, report).await;
        settle(report, 4, result);
    }
    if bench.options.wants(5) {
        let result = aggregate::run(bench, &set, report).await;
        settle(report, 5, result);
    }
    if let Err(e) = close(bench, set).await {
        report.note(format!(
            "Write-side data set did not shut down cleanly: {e}"
        ));
    }
}

async fn prepare(bench: &Bench) -> Result<WriteSet, BenchError> {
    let dir: PathBuf = bench.base.join("writes");
    let scale = &bench.scale;
    let mut streams = Vec::new();
    let mut add = |set: &str, count: usize, events: usize| {
        streams.extend((0..count).map(|n| (seed::sku(&bench.run_id, set, n), events)));
    };
    if bench.options.wants(1) {
        let per_command = scale.command_stream_events;
        add(COMMANDS_1, scale.warmup + scale.requests, per_command);
        add(RAW_1, scale.warmup + scale.requests, per_command);
        add(
            COMMANDS_N,
            scale.warmup + scale.concurrent_requests,
            per_command,
        );
        add(RAW_N, scale.warmup + scale.concurrent_requests, per_command);
        add(KERNEL_1, scale.warmup + scale.requests, per_command);
        add(
            KERNEL_N,
            scale.warmup + scale.concurrent_requests,
            per_command,
        );
        add(HOT, scale.in_flight * HOT_PER_SLOT, per_command);
    }
    if bench.options.wants(5) {
        add(SMALL, AGGREGATES, scale.aggregate_sizes.0);
        add(LARGE, AGGREGATES, scale.aggregate_sizes.1);
    }
    bench.progress(&format!("write side: seeding {} streams", streams.len()));
    // Seeding is not measured: it may skip the fsyncs.
    let mut seeding = bench.config(&dir, Role::Command);
    seeding.durability = causeway_server::config::DurabilityArg::Relaxed;
    let store = bench.open_store(seeding).await?;
    let seeded = seed::products(&store, streams).await;
    bench.close_store(store).await?;
    seeded.doing("seeding the write-side data set")?;

    let server = BenchServer::start(&bench.server, bench.config(&dir, Role::Command)).await?;
    let raw = bench.open_store(bench.config(&dir, Role::Command)).await?;
    Ok(WriteSet { server, raw })
}

async fn close(bench: &Bench, set: WriteSet) -> Result<(), BenchError> {
    let WriteSet { server, raw } = set;
    let stopped = server.stop().await;
    bench.close_store(raw).await?;
    stopped
}
