//! Scenario 3: a projection catching up from position 0 over the whole read-side data set
//! (1,000,000 events by default), against the raw read-and-decode of the same events from the
//! store: `read_all` in batches of the subscription's size, each event upcast and decoded into
//! the domain event the projection folds. What the projection adds on top is its read-model work
//! (document reads and writes, one transaction with the checkpoint per batch).
//!
//! The catch-up is timed from the server's start until a query asking for read-your-writes at
//! the head position (`consistency.minPosition`) is answered: event-driven, no polling.

use std::{
    path::Path,
    sync::Arc,
    time::{Duration, Instant},
};

use causeway_client::{
    common::Consistency,
    inventory::{GetProductRequest, inventory_queries_client::InventoryQueriesClient},
};
use causeway_server::{config::Role, inventory::ProductEvent};
use tonic::Code;

use super::{Bench, reads::ReadSet};
use crate::bench::{
    BenchError,
    error::Context,
    load::Measurement,
    report::{Outcome, Report, Target},
    server::BenchServer,
};

/// Events per `read_all` of the replay: the embedded subscription's catch-up batch.
const REPLAY_BATCH: usize = 1000;
/// How long one read-your-writes query waits before it is asked again (under the server's
/// 30 s request timeout).
const WAIT_SLICE: Duration = Duration::from_secs(20);

/// Reads and decodes every event of the data set at `dir` on the server runtime; the rate is
/// events decoded per second.
pub(super) async fn replay(bench: &Bench, dir: &Path) -> Result<Measurement, BenchError> {
    let store = bench.open_store(bench.config(dir, Role::All)).await?;
    let reader = Arc::clone(&store);
    let upcasters = Arc::new(causeway_server::server::upcasters());
    let replayed = bench
        .on_server(async move {
            let started = Instant::now();
            let mut after = None;
            let mut decoded = 0u64;
            loop {
                let batch = reader
                    .read_all(after, REPLAY_BATCH)
                    .await
                    .doing("reading all events")?;
                let Some(last) = batch.last() else { break };
                after = Some(last.position);
                for record in &batch {
                    let event: ProductEvent = upcasters
                        .decode(record)
                        .doing(&format!("decoding {}@{}", record.stream, record.revision))?;
                    std::hint::black_box(event);
                    decoded += 1;
                }
            }
            Ok(Measurement::single(started.elapsed(), decoded))
        })
        .await;
    bench.close_store(store).await?;
    replayed
}

/// Returns once the products read model has applied everything up to `head`, asking with
/// read-your-writes on `sku` (a product the data set holds).
pub(super) async fn wait_for_products(
    bench: &Bench,
    server: &BenchServer,
    sku: &str,
    head: u64,
) -> Result<(), BenchError> {
    let deadline = Instant::now() + bench.scale.projection_limit;
    let mut client = InventoryQueriesClient::new(server.channel());
    loop {
        let mut request = tonic::Request::new(GetProductRequest {
            sku: sku.to_owned(),
            consistency: Some(Consistency { min_position: head }),
            ..Default::default()
        });
        request.set_timeout(WAIT_SLICE);
        match client.get_product(request).await {
            Ok(_) => return Ok(()),
            Err(status) if status.code() == Code::DeadlineExceeded && Instant::now() < deadline => {
            }
            Err(status) => {
                return Err(BenchError::new(format!(
                    "waiting for the products projection to reach position {head}: {status}"
                )));
            }
        }
    }
}

pub(super) fn run(set: &ReadSet, report: &mut Report) -> Result<(), BenchError> {
    let replay = match &set.replay {
        Some(Ok(replay)) => replay.clone(),
        Some(Err(e)) => return Err(e.clone().context("replaying the store")),
        None => return Err(BenchError::new("the replay baseline was not run")),
    };
    report.timed(
        3,
        "products projection catch-up from position 0 (server start to read-your-writes at the head)",
        false,
        &set.catch_up,
        "events/s",
    );
    report.timed(
        3,
        "raw read_all + upcast/decode of the same events (twice: before and after)",
        true,
        &replay,
        "events/s",
    );
    let ratio = match (set.catch_up.throughput(), replay.throughput()) {
        (Some(c), Some(r)) if r > 0.0 => Outcome::Value(c / r),
        _ => Outcome::NotAvailable("no samples".into()),
    };
    report.ratio(
        3,
        format!(
            "catch-up events/s / raw read-and-decode events/s ({} events, head position {})",
            crate::bench::report::grouped(set.events),
            set.head
        ),
        ratio,
        Some(Target::AtLeast(0.6)),
    );
    Ok(())
}
