//! Any event store, timed and counted: append latency and events per append (histograms),
//! the store's group commits (when it has them), and a span around every append so a trace
//! shows the store call under the command that made it.

use std::{sync::Arc, time::Instant};

use async_trait::async_trait;
use causeway_telemetry::Metrics;
use prometheus_client::{
    collector::Collector,
    encoding::{DescriptorEncoder, EncodeMetric},
    metrics::{counter::ConstCounter, histogram::Histogram},
};
use tracing::{Instrument, info_span};
use uuid::Uuid;

use super::{
    AppendResult, EventFeed, EventStore, ExpectedRevision, GroupCommits, NewEvent, RecordedEvent,
    Snapshot, StoreError, StreamTail, SubscriptionFilter,
};

/// An event store whose appends are measured.
pub struct MeteredEventStore {
    inner: Arc<dyn EventStore>,
    append_seconds: Histogram,
    append_events: Histogram,
}

impl MeteredEventStore {
    /// `inner`, measured into `metrics`.
    pub fn wrap(inner: Arc<dyn EventStore>, metrics: &Metrics) -> Arc<dyn EventStore> {
        let append_seconds = metrics.register(
            "event_store_append_duration_seconds",
            "Time for an append to become durable, in seconds.",
            Histogram::new([
                0.0002, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
            ]),
        );
        let append_events = metrics.register(
            "event_store_append_events",
            "Events per append.",
            Histogram::new([1.0, 2.0, 5.0, 10.0, 50.0, 100.0, 500.0]),
        );
        metrics.register_collector(Box::new(Commits(Arc::clone(&inner))));
        Arc::new(Self {
            inner,
            append_seconds,
            append_events,
        })
    }
}

#[async_trait]
impl EventStore for MeteredEventStore {
    async fn append(
        &self,
        stream: &str,
        expected: ExpectedRevision,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult, StoreError> {
        let count = events.len();
        let span = info_span!("store.append", stream, events = count);
        let started = Instant::now();
        let result = self
            .inner
            .append(stream, expected, events)
            .instrument(span)
            .await;
        self.append_seconds.observe(started.elapsed().as_secs_f64());
        self.append_events.observe(count as f64);
        result
    }

    async fn read_stream(
        &self,
        stream: &str,
        from_revision: u64,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        self.inner.read_stream(stream, from_revision).await
    }

    async fn read_all(
        &self,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        self.inner.read_all(after, limit).await
    }

    async fn read_snapshot(&self, stream: &str) -> Result<Option<Snapshot>, StoreError> {
        self.inner.read_snapshot(stream).await
    }

    async fn write_snapshot(&self, stream: &str, snapshot: Snapshot) -> Result<(), StoreError> {
        self.inner.write_snapshot(stream, snapshot).await
    }

    async fn read_tail(&self, stream: &str) -> Result<StreamTail, StoreError> {
        self.inner.read_tail(stream).await
    }

    async fn find_events(
        &self,
        stream: &str,
        ids: &[Uuid],
    ) -> Result<Vec<(Uuid, u64)>, StoreError> {
        self.inner.find_events(stream, ids).await
    }

    async fn head_position(&self) -> Result<Option<u64>, StoreError> {
        self.inner.head_position().await
    }

    fn subscribe_all(&self, after: Option<u64>, filter: SubscriptionFilter) -> EventFeed {
        self.inner.subscribe_all(after, filter)
    }

    fn group_commits(&self) -> Option<GroupCommits> {
        self.inner.group_commits()
    }

    async fn clear_through(
        &self,
        after: Option<u64>,
        until: u64,
        filter: &SubscriptionFilter,
    ) -> Result<Option<u64>, StoreError> {
        self.inner.clear_through(after, until, filter).await
    }
}

/// The store's group commit totals, read at each scrape.
struct Commits(Arc<dyn EventStore>);

impl std::fmt::Debug for Commits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Commits")
    }
}

impl Collector for Commits {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let Some(totals) = self.0.group_commits() else {
            return Ok(());
        };
        for (name, help, value) in [
            (
                "event_store_group_commits",
                "Write transactions the store committed (appends grouped together).",
                totals.transactions,
            ),
            (
                "event_store_group_committed_events",
                "Events those transactions held; divided by the transactions, events per group \\
                 commit.",
                totals.events,
            ),
        ] {
            let counter = ConstCounter::new(value);
            let metric = encoder.encode_descriptor(name, help, None, counter.metric_type())?;
            counter.encode(metric)?;
        }
        Ok(())
    }
}
