//! Scenario 4: durable appends of 100-event batches against 1-event appends, in events per
//! second, on the raw store (no RPC offers a 100-event append). Each append creates its own
//! stream, so neither kind ever waits on the other's revision check; at 1 in flight (every append
//! pays a whole fsync) and at 32 (group commit shares fsyncs between concurrent appends).

use std::sync::Arc;

use causeway_server::store::{EventStore, ExpectedRevision, NewEvent};
use uuid::Uuid;

use super::{Bench, writes::WriteSet};
use crate::bench::{
    BenchError,
    load::{Measurement, Plan, Rounds, closed_loop},
    report::{Outcome, Report, Target},
    seed,
};

/// `plan.count` appends of `batch` events each to fresh streams of set `set`.
async fn appends(
    bench: &Bench,
    store: Arc<dyn EventStore>,
    set: String,
    batch: usize,
    plan: Plan,
) -> Result<Measurement, BenchError> {
    let run = bench.run_id.clone();
    let template = seed::stock_received(&format!("{run}-{set}"));
    bench
        .on_server(async move {
            closed_loop(&plan, move |i| {
                let store = Arc::clone(&store);
                let stream = seed::stream(&seed::sku(&run, &set, i));
                let events: Vec<NewEvent> = (0..batch)
                    .map(|_| NewEvent {
                        id: Uuid::new_v4(),
                        ..template.clone()
                    })
                    .collect();
                async move {
                    store
                        .append(&stream, ExpectedRevision::NoStream, events)
                        .await
                        .map(|_| ())
                        .map_err(|e| e.to_string())
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
    let scale = &bench.scale;
    let batch = scale.batch_events;
    for in_flight in [1, scale.in_flight] {
        bench.progress(&format!(
            "scenario 4 at {in_flight} in flight: single and batch appends"
        ));
        let (mut singles, mut batches) = (Rounds::default(), Rounds::default());
        for plan in bench.rounds(in_flight, scale.appends) {
            let store = Arc::clone(&set.raw);
            singles
                .add(appends(bench, store, format!("single{in_flight}"), 1, plan.clone()).await?)?;
            let plan = plan.items_per_op(batch as u64);
            let store = Arc::clone(&set.raw);
            batches.add(appends(bench, store, format!("batch{in_flight}"), batch, plan).await?)?;
        }
        let (singles, batches) = (singles.total()?, batches.total()?);
        report.subject(
            4,
            format!("append of {batch} events, durable"),
            &batches,
            "events/s",
        );
        report.baseline(4, "append of 1 event, durable", &singles, "events/s");
        let ratio = match (batches.throughput(), singles.throughput()) {
            (Some(b), Some(s)) if s > 0.0 => Outcome::Value(b / s),
            _ => Outcome::NotAvailable("no samples".into()),
        };
        report.ratio(
            4,
            format!("{in_flight} in flight: events/s of {batch}-event appends / events/s of 1-event appends"),
            ratio,
            Some(Target::AtLeast(10.0)),
        );
    }
    Ok(())
}
