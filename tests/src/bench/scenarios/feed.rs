//! Scenario 12: the event feed's throughput. Subscribers read the read-side data set from the
//! start of the log over gRPC (`EventFeed/Subscribe`, no filter: every event converted from its
//! stored JSON to its typed protobuf message, with metadata) until the event at a fixed
//! position: one subscriber alone, then eight at once. The baseline is the raw store read of the
//! same events (`read_all` in pages of 1,000, nothing decoded), run before and after the
//! subscribers on the server runtime, where the feed's own reads run.

use std::{path::Path, sync::Arc, time::Instant};

use causeway_client::events::{
    SubscribeRequest, event_feed_client::EventFeedClient, subscribe_response::Item,
};
use causeway_server::config::Role;
use tonic::transport::Channel;

use super::{Bench, reads::ReadSet};
use crate::bench::{
    BenchError,
    error::Context,
    load::{Measurement, Rounds},
    report::{Outcome, Report},
};

/// Subscribers of the concurrent phase.
const SUBSCRIBERS: usize = 8;
/// The most events each subscriber reads (the data set's first ones), to keep the phase short.
const MAX_EVENTS: u64 = 200_000;
/// Events per `read_all` of the baseline: the embedded feed's catch-up page.
const PAGE: usize = 1000;

/// Reads the first `count` events of the data set at `dir` straight from the store, on the
/// server runtime; the measurement and the position of the last event read.
async fn raw_read(bench: &Bench, dir: &Path, count: u64) -> Result<(Measurement, u64), BenchError> {
    let store = bench.open_store(bench.config(dir, Role::All)).await?;
    let reader = Arc::clone(&store);
    let read = bench
        .on_server(async move {
            let started = Instant::now();
            let (mut after, mut read) = (None, 0u64);
            while read < count {
                let want = usize::try_from(count - read).unwrap_or(PAGE).min(PAGE);
                let page = reader
                    .read_all(after, want)
                    .await
                    .doing("reading all events")?;
                let Some(last) = page.last() else { break };
                after = Some(last.position);
                read += page.len() as u64;
                std::hint::black_box(&page);
            }
            let last = after.ok_or_else(|| BenchError::new("the store is empty"))?;
            Ok((Measurement::single(started.elapsed(), read), last))
        })
        .await;
    bench.close_store(store).await?;
    read
}

/// One subscription from the start of the log, read until the item at `until`; the events
/// delivered.
async fn follow(channel: Channel, until: u64) -> Result<u64, String> {
    let mut feed = EventFeedClient::new(channel)
        .subscribe(SubscribeRequest::default())
        .await
        .map_err(|s| s.to_string())?
        .into_inner();
    let mut delivered = 0;
    loop {
        let response = feed.message().await.map_err(|s| s.to_string())?;
        let position = match response.and_then(|r| r.item) {
            Some(Item::Event(event)) => {
                delivered += 1;
                event.position
            }
            Some(Item::Checkpoint(checkpoint)) => checkpoint.position,
            None => return Err("the subscription ended".into()),
        };
        if position >= until {
            return Ok(delivered);
        }
    }
}

/// `subscribers` subscriptions at once, each to `until`; all the events they were delivered.
async fn subscribe(
    set: &ReadSet,
    subscribers: usize,
    until: u64,
) -> Result<Measurement, BenchError> {
    let started = Instant::now();
    let followers: Vec<_> = (0..subscribers)
        .map(|_| tokio::spawn(follow(set.server.channel(), until)))
        .collect();
    let mut delivered = 0;
    for follower in followers {
        delivered += follower
            .await
            .doing("a subscriber task")?
            .map_err(|e| BenchError::new(format!("a subscriber failed: {e}")))?;
    }
    Ok(Measurement::single(started.elapsed(), delivered))
}

pub(super) async fn run(
    bench: &Bench,
    set: &ReadSet,
    report: &mut Report,
) -> Result<(), BenchError> {
    let dir = bench.base.join("reads");
    let count = set.events.min(MAX_EVENTS);
    bench.progress(&format!("scenario 12: raw store read of {count} events"));
    let mut raw = Rounds::default();
    let (first, until) = raw_read(bench, &dir, count).await?;
    raw.add(first)?;
    bench.progress("scenario 12: one subscriber");
    let one = subscribe(set, 1, until).await?;
    bench.progress(&format!("scenario 12: {SUBSCRIBERS} subscribers at once"));
    let many = subscribe(set, SUBSCRIBERS, until).await?;
    bench.progress("scenario 12: raw store read again");
    raw.add(raw_read(bench, &dir, count).await?.0)?;
    let raw = raw.total()?;

    report.timed(
        12,
        "one subscriber, from position 0 over gRPC",
        false,
        &one,
        "events/s",
    );
    report.timed(
        12,
        format!("{SUBSCRIBERS} subscribers at once, events delivered in all"),
        false,
        &many,
        "events/s",
    );
    report.timed(
        12,
        "raw read_all of the same events, nothing decoded (twice: before and after)",
        true,
        &raw,
        "events/s",
    );
    let grouped = crate::bench::report::grouped(count);
    for (what, subject) in [("1 subscriber", &one), ("8 subscribers in all", &many)] {
        let ratio = match (subject.throughput(), raw.throughput()) {
            (Some(s), Some(r)) if r > 0.0 => Outcome::Value(s / r),
            _ => Outcome::NotAvailable("no samples".into()),
        };
        report.ratio(
            12,
            format!("{what}: events/s delivered / raw store read events/s ({grouped} events)"),
            ratio,
            None,
        );
    }
    Ok(())
}
