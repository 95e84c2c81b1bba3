//! A projection behind a deliberately slow read store: it pulls events only as fast as it can
//! commit them (bounded memory), reports itself `lagging` while it falls behind its objective,
//! and is `serving` again once it has caught up. And one held inside a commit does not lend its
//! batch's span to whatever else its thread runs meanwhile.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use async_trait::async_trait;
use futures::{StreamExt, future::BoxFuture};
use uuid::Uuid;

use super::{ProjectionRunner, ProjectionState, Projections};
use crate::{
    inventory::{
        domain::{ProductEvent, ProductName, Quantity, Sku},
        projection::ProductsProjection,
    },
    kernel::{DomainEvent, EventMetadata},
    readstore::{
        Document, IndexSpec, Page, Query, ReadStore, ReadStoreError, WriteOp,
        embedded::EmbeddedReadStore,
    },
    store::{
        AppendResult, EventFeed, EventStore, ExpectedRevision, FeedItem, NewEvent, RecordedEvent,
        StoreError, SubscriptionFilter,
        embedded::{Durability, EmbeddedEventStore},
    },
};

/// Events of the backlog.
const EVENTS: usize = 5000;
/// Most events the runner may hold that it has not committed: the chunk it is applying and the
/// page the feed read ahead (1,000 each).
const IN_FLIGHT_BOUND: u64 = 2000;

/// A read store whose batch commits first wait for `hold` (a delay, a gate).
struct HeldReads {
    inner: EmbeddedReadStore,
    hold: Box<dyn Fn() -> BoxFuture<'static, ()> + Send + Sync>,
}

#[async_trait]
impl ReadStore for HeldReads {
    async fn ensure_indexes(&self, indexes: &[IndexSpec]) -> Result<(), ReadStoreError> {
        self.inner.ensure_indexes(indexes).await
    }
    async fn get(&self, collection: &str, id: &str) -> Result<Option<Document>, ReadStoreError> {
        self.inner.get(collection, id).await
    }
    async fn query(&self, query: &Query) -> Result<Page, ReadStoreError> {
        self.inner.query(query).await
    }
    async fn checkpoint(&self, projection: &str) -> Result<Option<u64>, ReadStoreError> {
        self.inner.checkpoint(projection).await
    }
    async fn apply(
        &self,
        projection: &str,
        ops: Vec<WriteOp>,
        position: u64,
    ) -> Result<(), ReadStoreError> {
        (self.hold)().await;
        self.inner.apply(projection, ops, position).await
    }
    async fn apply_fenced(
        &self,
        projection: &str,
        ops: Vec<WriteOp>,
        position: u64,
        fence: &crate::lease::Fence,
    ) -> Result<(), ReadStoreError> {
        (self.hold)().await;
        self.inner
            .apply_fenced(projection, ops, position, fence)
            .await
    }
    fn leases(&self) -> Arc<dyn crate::lease::Leases> {
        self.inner.leases()
    }
    async fn drop_collection(&self, collection: &str) -> Result<(), ReadStoreError> {
        self.inner.drop_collection(collection).await
    }
    async fn reset_checkpoint(&self, projection: &str) -> Result<(), ReadStoreError> {
        self.inner.reset_checkpoint(projection).await
    }
}

/// An event store that counts the events its feeds hand out.
struct Counted {
    inner: Arc<dyn EventStore>,
    delivered: Arc<AtomicU64>,
}

#[async_trait]
impl EventStore for Counted {
    async fn append(
        &self,
        stream: &str,
        expected: ExpectedRevision,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult, StoreError> {
        self.inner.append(stream, expected, events).await
    }
    async fn read_stream(&self, stream: &str, from: u64) -> Result<Vec<RecordedEvent>, StoreError> {
        self.inner.read_stream(stream, from).await
    }
    async fn read_all(
        &self,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        self.inner.read_all(after, limit).await
    }
    async fn head_position(&self) -> Result<Option<u64>, StoreError> {
        self.inner.head_position().await
    }
    fn subscribe_all(&self, after: Option<u64>, filter: SubscriptionFilter) -> EventFeed {
        let delivered = Arc::clone(&self.delivered);
        self.inner
            .subscribe_all(after, filter)
            .inspect(move |item| {
                if let Ok(FeedItem::Event(_)) = item {
                    delivered.fetch_add(1, Ordering::Relaxed);
                }
            })
            .boxed()
    }
}

fn encoded(event: &ProductEvent) -> NewEvent {
    let metadata = EventMetadata {
        event_type: event.event_type().to_owned(),
        schema_version: event.schema_version(),
        command_id: "seed".into(),
        correlation_id: "seed".into(),
        causation_id: "seed".into(),
        actor: None,
        tenant: None,
        timestamp: "2026-01-01T00:00:00.000Z".into(),
        traceparent: None,
        fingerprint: None,
    };
    NewEvent {
        id: Uuid::new_v4(),
        event_type: event.event_type().to_owned(),
        data: event.encode(),
        metadata: metadata.to_json(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_read_store_holds_the_feed_back_and_the_lag_is_reported_then_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn EventStore> =
        Arc::new(EmbeddedEventStore::open(dir.path(), Durability::Relaxed).unwrap());
    let sku = Sku::parse("kettle").unwrap();
    let mut events = vec![encoded(&ProductEvent::Registered {
        sku: sku.clone(),
        name: ProductName::parse("Kettle").unwrap(),
    })];
    let received = encoded(&ProductEvent::StockReceived {
        sku,
        quantity: Quantity::parse(1).unwrap(),
    });
    events.extend((1..EVENTS).map(|_| NewEvent {
        id: Uuid::new_v4(),
        ..received.clone()
    }));
    let mut revision = None;
    for chunk in events.chunks(500) {
        let expected = revision.map_or(ExpectedRevision::NoStream, ExpectedRevision::Exact);
        let appended = store
            .append("product-kettle", expected, chunk.to_vec())
            .await
            .unwrap();
        revision = Some(appended.revision);
    }
    let head = store.head_position().await.unwrap().unwrap();

    let delivered = Arc::new(AtomicU64::new(0));
    let events: Arc<dyn EventStore> = Arc::new(Counted {
        inner: store,
        delivered: Arc::clone(&delivered),
    });
    // The read store is slow; this is the load, not synchronisation.
    let reads: Arc<dyn ReadStore> = Arc::new(HeldReads {
        inner: EmbeddedReadStore::open(dir.path()).unwrap(),
        hold: Box::new(|| Box::pin(tokio::time::sleep(Duration::from_millis(150)))),
    });
    // Five batches of 150 ms each: the newest applied event is soon older than the objective.
    let projections = Projections::with_lag_slo(Some(Duration::from_millis(250)));
    let projection = Arc::new(ProductsProjection::new(
        Arc::new(crate::server::upcasters()),
    ));
    let (runner, _handle) = ProjectionRunner::new(events, reads, projection, &projections);
    let task = tokio::spawn(runner.run());
    let mut status = projections.watch("products").unwrap();

    let mut saw_lagging = false;
    let mut most_in_flight = 0;
    let caught_up = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            let now = status.borrow_and_update().clone();
            let committed = now.position.unwrap_or(0);
            let in_flight = delivered.load(Ordering::Relaxed).saturating_sub(committed);
            most_in_flight = most_in_flight.max(in_flight);
            saw_lagging |= now.state(projections.lag_slo()) == ProjectionState::Lagging;
            if committed >= head && now.state(projections.lag_slo()) == ProjectionState::Serving {
                return;
            }
            if status.changed().await.is_err() {
                return;
            }
        }
    })
    .await;
    task.abort();
    assert!(caught_up.is_ok(), "the projection never caught up");
    assert!(
        saw_lagging,
        "a projection behind its objective reports lagging"
    );
    assert!(
        most_in_flight <= IN_FLIGHT_BOUND,
        "{most_in_flight} events read ahead of the commits"
    );
}

/// The batch span is current only while the batch is being polled: a runner waiting on its
/// commit leaves its thread's current span as it found it, so a request served meanwhile on
/// that thread opens its spans in its own trace, not inside the batch's (which once made
/// requests children of projection batches, in another trace and under its sampling).
#[tokio::test]
async fn a_batch_waiting_on_its_commit_leaves_the_threads_current_span_alone() {
    let _subscriber = tracing::subscriber::set_default(tracing_subscriber::registry());
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn EventStore> =
        Arc::new(EmbeddedEventStore::open(dir.path(), Durability::Relaxed).unwrap());
    let registered = encoded(&ProductEvent::Registered {
        sku: Sku::parse("kettle").unwrap(),
        name: ProductName::parse("Kettle").unwrap(),
    });
    store
        .append(
            "product-kettle",
            ExpectedRevision::NoStream,
            vec![registered],
        )
        .await
        .unwrap();
    let (waiting, release) = (
        Arc::new(tokio::sync::Notify::new()),
        Arc::new(tokio::sync::Notify::new()),
    );
    let (entered, gate) = (Arc::clone(&waiting), Arc::clone(&release));
    let reads: Arc<dyn ReadStore> = Arc::new(HeldReads {
        inner: EmbeddedReadStore::open(dir.path()).unwrap(),
        hold: Box::new(move || {
            let (entered, gate) = (Arc::clone(&entered), Arc::clone(&gate));
            Box::pin(async move {
                entered.notify_one();
                gate.notified().await;
            })
        }),
    });
    let projections = Projections::with_lag_slo(None);
    let projection = Arc::new(ProductsProjection::new(
        Arc::new(crate::server::upcasters()),
    ));
    let (runner, _handle) = ProjectionRunner::new(store, reads, projection, &projections);
    // One thread (this test's runtime): the runner and this task take turns on it.
    let task = tokio::spawn(runner.run());
    tokio::time::timeout(Duration::from_secs(60), waiting.notified())
        .await
        .expect("the runner reaches its commit");

    let current = tracing::Span::current();
    assert_eq!(
        current.metadata().map(|m| m.name()),
        None,
        "the waiting batch's span is current for other work on its thread"
    );
    release.notify_one();
    task.abort();
}
