//! Scenario 7: command latency while the products projection rebuilds from position 0 (through
//! the admin RPC `causeway.admin.v1.ProjectionAdmin/RebuildProjection`), against the same
//! commands on the same server while it is idle (half before the rebuild, half after). Both send
//! `ReceiveStock` on streams of exactly 20 events at 1 in flight; the rebuild phase stops when
//! the rebuild switches readers over, so every command it measures overlapped the rebuild.
//!
//! The end of the rebuild is observed by asking `ListProjections` every 100 ms: the admin API has
//! no notification, and a tenth of a second is far below the rebuild's length.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use causeway_client::admin::{
    ListProjectionsRequest, RebuildProjectionRequest,
    projection_admin_client::ProjectionAdminClient,
};
use tonic::transport::Channel;

use super::{
    Bench,
    command::commands,
    reads::{DURING_REBUILD, IDLE, ReadSet},
};
use crate::bench::{
    BenchError,
    error::Context,
    load::{Measurement, Plan, Rounds},
    report::{Outcome, Report, grouped},
};

/// The projection rebuilt: the one the commands' events feed.
const PROJECTION: &str = "products";
/// How often the rebuild's progress is asked for.
const POLL: Duration = Duration::from_millis(100);

/// The products projection's active generation.
async fn generation(admin: &mut ProjectionAdminClient<Channel>) -> Result<u64, BenchError> {
    admin
        .list_projections(ListProjectionsRequest {})
        .await
        .doing("listing projections")?
        .into_inner()
        .projections
        .into_iter()
        .find(|p| p.name == PROJECTION)
        .map(|p| p.generation)
        .ok_or_else(|| BenchError::new(format!("no projection named {PROJECTION}")))
}

/// Waits until generation `target` serves, then sets `done`; returns how long the rebuild took.
async fn watch_rebuild(
    mut admin: ProjectionAdminClient<Channel>,
    target: u64,
    done: Arc<AtomicBool>,
    limit: Duration,
) -> Result<Duration, BenchError> {
    let started = Instant::now();
    let mut ticks = tokio::time::interval(POLL);
    let outcome = loop {
        ticks.tick().await;
        match generation(&mut admin).await {
            Ok(active) if active >= target => break Ok(started.elapsed()),
            Ok(_) if started.elapsed() > limit => {
                break Err(BenchError::new(format!(
                    "the rebuild did not finish within {} s",
                    limit.as_secs()
                )));
            }
            Ok(_) => {}
            Err(e) => break Err(e),
        }
    };
    done.store(true, Ordering::Relaxed);
    outcome
}

pub(super) async fn run(
    bench: &Bench,
    set: &ReadSet,
    report: &mut Report,
) -> Result<(), BenchError> {
    let scale = &bench.scale;
    let events = scale.command_stream_events;
    let total = scale.warmup + scale.rebuild_requests;
    bench.progress("scenario 7: commands on the idle server, then during a rebuild");
    // Idle is measured in two halves, before and after the rebuild, so a change of machine load
    // during the run does not all fall on one side.
    let idle_skus = bench.skus(IDLE, total);
    let halves = bench.plan(1, scale.rebuild_requests).split(2);
    let mut idle = Rounds::default();
    if let Some(before) = halves.first() {
        let skus = Arc::clone(&idle_skus);
        idle.add(commands(set.server.channel(), skus, events, before).await?)?;
    }

    let mut admin = ProjectionAdminClient::new(set.server.channel());
    let target = admin
        .rebuild_projection(RebuildProjectionRequest {
            name: PROJECTION.to_owned(),
        })
        .await
        .doing("starting the rebuild")?
        .into_inner()
        .generation;
    let done = Arc::new(AtomicBool::new(false));
    let watcher = tokio::spawn(watch_rebuild(
        admin,
        target,
        Arc::clone(&done),
        bench.scale.projection_limit,
    ));
    // No warm-up: the idle phase warmed the same server, and the rebuild is already running.
    let plan = Plan::new(1, 0, scale.rebuild_requests, scale.phase_limit).until(Arc::clone(&done));
    let during = commands(
        set.server.channel(),
        bench.skus(DURING_REBUILD, total),
        events,
        &plan,
    )
    .await;
    let rebuilt_in = watcher.await.doing("rebuild watcher")?;
    let during = during?;
    let rebuilt_in = rebuilt_in?;
    if let Some(after) = halves.get(1) {
        idle.add(commands(set.server.channel(), idle_skus, events, after).await?)?;
    }
    let idle = idle.total()?;

    report.subject(
        7,
        format!("command ReceiveStock (load {events}, append 1) during the {PROJECTION} rebuild"),
        &during,
        "req/s",
    );
    report.baseline(7, "the same command, server idle", &idle, "req/s");
    let rebuild = Measurement::single(rebuilt_in, set.events);
    report.timed(
        7,
        format!(
            "the {PROJECTION} rebuild itself (request to switch-over, ±{} ms)",
            POLL.as_millis()
        ),
        false,
        &rebuild,
        "events/s",
    );
    let ratio = |a: Option<Duration>, b: Option<Duration>| match (a, b) {
        (Some(a), Some(b)) if !b.is_zero() => Outcome::Value(a.as_secs_f64() / b.as_secs_f64()),
        _ => Outcome::NotAvailable("no command finished during the rebuild".into()),
    };
    report.ratio(
        7,
        "command p99 during rebuild / command p99 idle",
        ratio(during.p99(), idle.p99()),
        None,
    );
    report.ratio(
        7,
        "command p50 during rebuild / command p50 idle",
        ratio(during.p50(), idle.p50()),
        None,
    );
    report.note(format!(
        "Scenario 7: {} commands ran while {} events were rebuilt in {:.1} s.",
        during.count(),
        grouped(set.events),
        rebuilt_in.as_secs_f64()
    ));
    Ok(())
}
