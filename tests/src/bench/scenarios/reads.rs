//! The read-side data set: `catchup_events` events in all (1,000,000 by default) in product
//! streams of 100 events, plus the 20-event streams the rebuild scenario's commands need, all
//! written before any server starts. Then an all-roles server starts on it and its projections
//! catch up from position 0: that is scenario 3, and the caught-up read model is what scenarios
//! 2 and 6 query (directly and through the REST gateway), scenario 12 follows through the event
//! feed and scenario 7 rebuilds.

use std::{sync::Arc, time::Instant};

use causeway_server::config::{DurabilityArg, Role};

use super::{Bench, catchup, feed, gateway, query, rebuild, settle};
use crate::bench::{
    BenchError,
    error::Context,
    load::{Measurement, Rounds},
    report::{Outcome, Report},
    seed,
    server::BenchServer,
};

/// Data-set names (the middle part of each sku).
pub(super) const CATALOGUE: &str = "cat";
pub(super) const IDLE: &str = "idle";
pub(super) const DURING_REBUILD: &str = "rebuild";

/// The running read-side data set.
pub(super) struct ReadSet {
    pub(super) server: BenchServer,
    /// Skus of the catalogue streams (each a product the read model holds).
    pub(super) catalogue: Arc<Vec<String>>,
    /// Events in the store when the server started.
    pub(super) events: u64,
    /// The store's head position then.
    pub(super) head: u64,
    /// How long the products projection took to reach `head` from position 0.
    pub(super) catch_up: Measurement,
    /// The raw read-and-decode of the same events (when scenario 3 runs).
    pub(super) replay: Option<Result<Measurement, BenchError>>,
}

pub(super) async fn run(bench: &Bench, report: &mut Report) {
    let wanted: Vec<u8> = [3, 2, 6, 12, 7]
        .into_iter()
        .filter(|n| bench.options.wants(*n))
        .collect();
    if wanted.is_empty() {
        return;
    }
    let set = match prepare(bench, report).await {
        Ok(set) => set,
        Err(e) => {
            for n in wanted {
                report.ratio(n, "—", Outcome::Failed(e.to_string()), None);
            }
            return;
        }
    };
    if bench.options.wants(3) {
        let result = catchup::run(&set, report);
        settle(report, 3, result);
    }
    if bench.options.wants(2) {
        let result = query::run(bench, &set, report).await;
        settle(report, 2, result);
    }
    if bench.options.wants(6) {
        let result = gateway::run(bench, &set, report).await;
        settle(report, 6, result);
    }
    if bench.options.wants(12) {
        let result = feed::run(bench, &set, report).await;
        settle(report, 12, result);
    }
    // Last: it leaves the server on a rebuilt generation.
    if bench.options.wants(7) {
        let result = rebuild::run(bench, &set, report).await;
        settle(report, 7, result);
    }
    if let Err(e) = set.server.stop().await {
        report.note(format!("Read-side server did not shut down cleanly: {e}"));
    }
}

/// The streams of the data set: the rebuild scenario's 20-event streams, then 100-event
/// catalogue streams (the last one shorter) up to `catchup_events` in all.
fn streams(bench: &Bench) -> (Vec<(String, usize)>, Arc<Vec<String>>) {
    let scale = &bench.scale;
    let mut streams = Vec::new();
    if bench.options.wants(7) {
        for set in [IDLE, DURING_REBUILD] {
            streams.extend((0..scale.warmup + scale.rebuild_requests).map(|n| {
                (
                    seed::sku(&bench.run_id, set, n),
                    scale.command_stream_events,
                )
            }));
        }
    }
    let taken: u64 = streams.iter().map(|(_, n)| *n as u64).sum();
    let mut left = scale.catchup_events.saturating_sub(taken).max(1);
    let per_stream = scale.catchup_stream_events.max(1) as u64;
    let mut catalogue = Vec::new();
    while left > 0 {
        let events = left.min(per_stream);
        let sku = seed::sku(&bench.run_id, CATALOGUE, catalogue.len());
        streams.push((sku.clone(), usize::try_from(events).unwrap_or(usize::MAX)));
        catalogue.push(sku);
        left -= events;
    }
    (streams, Arc::new(catalogue))
}

async fn prepare(bench: &Bench, report: &mut Report) -> Result<ReadSet, BenchError> {
    let dir = bench.base.join("reads");
    let (streams, catalogue) = streams(bench);
    let mut seeding = bench.config(&dir, Role::All);
    seeding.durability = DurabilityArg::Relaxed;
    bench.progress(&format!("read side: seeding {} streams", streams.len()));
    let store = bench.open_store(seeding).await?;
    let seeded_at = Instant::now();
    let seeded = seed::products(&store, streams).await;
    let head = store.head_position().await;
    bench.close_store(store).await?;
    let events = seeded.doing("seeding the read-side data set")?;
    let head = head
        .doing("reading the head position")?
        .ok_or_else(|| BenchError::new("the seeded store is empty"))?;
    report.note(format!(
        "Read-side data set: {} events in {} streams, seeded through the store in {:.0} s.",
        crate::bench::report::grouped(events),
        catalogue.len()
            + if bench.options.wants(7) {
                2 * (bench.scale.warmup + bench.scale.rebuild_requests)
            } else {
                0
            },
        seeded_at.elapsed().as_secs_f64()
    ));

    // The replay runs once before the catch-up and once after, so the baseline sees the
    // machine's load on both sides of the subject.
    let mut replay = Rounds::default();
    if bench.options.wants(3) {
        bench.progress(&format!(
            "scenario 3: raw read-and-decode of {events} events"
        ));
        replay.add(catchup::replay(bench, &dir).await?)?;
    }
    bench.progress("scenario 3: server start, projections catch up from position 0");
    let started = Instant::now();
    let server = BenchServer::start_with_rest(&bench.server, bench.config(&dir, Role::All)).await?;
    let probe = catalogue
        .last()
        .cloned()
        .ok_or_else(|| BenchError::new("the catalogue is empty"))?;
    catchup::wait_for_products(bench, &server, &probe, head).await?;
    let catch_up = Measurement::single(started.elapsed(), events);
    let replay = if bench.options.wants(3) {
        bench.progress("scenario 3: raw read-and-decode again");
        replay.add(catchup::replay(bench, &dir).await?)?;
        Some(replay.total())
    } else {
        None
    };
    Ok(ReadSet {
        server,
        catalogue,
        events,
        head,
        catch_up,
        replay,
    })
}
