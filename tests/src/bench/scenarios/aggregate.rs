//! Scenario 5: loading an aggregate of 1,000 events against one of 100, through the kernel's
//! own `CommandHandler::load` (read the stream, upcast and decode every event, fold), on the
//! server runtime. Loads go round [`AGGREGATES`] streams of each size, one at a time.

use std::sync::Arc;

use causeway_server::{inventory::Product, kernel::CommandHandler};

use super::{
    Bench,
    writes::{AGGREGATES, LARGE, SMALL, WriteSet},
};
use crate::bench::{
    BenchError,
    load::{Measurement, Plan, Rounds, closed_loop},
    report::{Outcome, Report, Target},
    seed,
};

/// The loads of `plan`, of the aggregates of set `set`, which hold `events` events each.
async fn loads(
    bench: &Bench,
    set: &WriteSet,
    name: &str,
    events: usize,
    plan: Plan,
) -> Result<Measurement, BenchError> {
    // Snapshots off: the scenario measures what folding costs by the number of events
    // (scenario 13 measures loads through snapshots).
    let handler = CommandHandler::new(
        Arc::clone(&set.raw),
        Arc::new(causeway_server::server::upcasters()),
    )
    .with_snapshots(0);
    let streams: Arc<Vec<String>> = Arc::new(
        bench
            .skus(name, AGGREGATES)
            .iter()
            .map(|sku| seed::stream(sku))
            .collect(),
    );
    let expected = (events as u64).saturating_sub(1);
    bench
        .on_server(async move {
            closed_loop(&plan, move |i| {
                let handler = handler.clone();
                let streams = Arc::clone(&streams);
                async move {
                    let stream = &streams[i % streams.len()];
                    let loaded = handler
                        .load::<Product>(stream)
                        .await
                        .map_err(|e| e.to_string())?;
                    match loaded.head {
                        Some(head) if head.revision == expected && loaded.state.registered() => {
                            Ok(())
                        }
                        other => Err(format!(
                            "{stream} loaded to {other:?}, expected revision {expected}"
                        )),
                    }
                }
            })
            .await
        })
        .await
}

pub(super) async fn run(
    bench: &Bench,
    set: &WriteSet,
    report: &mut Report,
) -> Result<(), BenchError> {
    let (small, large) = bench.scale.aggregate_sizes;
    bench.progress(&format!(
        "scenario 5: loading aggregates of {small} and {large} events"
    ));
    let (mut small_loads, mut large_loads) = (Rounds::default(), Rounds::default());
    for plan in bench.rounds(1, bench.scale.loads) {
        small_loads.add(loads(bench, set, SMALL, small, plan.clone()).await?)?;
        large_loads.add(loads(bench, set, LARGE, large, plan).await?)?;
    }
    let (small_loads, large_loads) = (small_loads.total()?, large_loads.total()?);
    report.subject(
        5,
        format!("load an aggregate of {large} events"),
        &large_loads,
        "loads/s",
    );
    report.baseline(
        5,
        format!("load an aggregate of {small} events"),
        &small_loads,
        "loads/s",
    );
    let ratio = match (large_loads.p50(), small_loads.p50()) {
        (Some(l), Some(s)) if !s.is_zero() => Outcome::Value(l.as_secs_f64() / s.as_secs_f64()),
        _ => Outcome::NotAvailable("no samples".into()),
    };
    report.ratio(
        5,
        format!("load p50 of {large} events / load p50 of {small} events"),
        ratio,
        Some(Target::AtMost(12.0)),
    );
    Ok(())
}
