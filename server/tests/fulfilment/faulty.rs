//! An event store that dies on cue: the `n`-th call that reads a stream or appends is carried
//! out, and then never returns, as if the process had crashed right after it (the store has
//! the append; the caller never learns). Optionally it also refuses, as unavailable, every
//! append of one event type to one stream, standing for a product whose reservations cannot be
//! made for now.

use std::{
    future::pending,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
};

use async_trait::async_trait;
use causeway_server::store::{
    AppendResult, EventFeed, EventStore, ExpectedRevision, NewEvent, RecordedEvent, StoreError,
    SubscriptionFilter,
};
use tokio::sync::watch;

/// Appends of `event_type` to `stream` fail as unavailable.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub stream: String,
    pub event_type: &'static str,
}

pub struct Faulty {
    inner: Arc<dyn EventStore>,
    calls: AtomicUsize,
    crash_at: Option<usize>,
    crashed: watch::Sender<bool>,
    refusal: Option<Refusal>,
}

impl Faulty {
    /// `inner`, crashing after its `crash_at`-th stream read or append (never with `None`).
    pub fn new(
        inner: Arc<dyn EventStore>,
        crash_at: Option<usize>,
        refusal: Option<Refusal>,
    ) -> Arc<Self> {
        Arc::new(Self {
            inner,
            calls: AtomicUsize::new(0),
            crash_at,
            crashed: watch::channel(false).0,
            refusal,
        })
    }

    /// Becomes true once the crash point was reached.
    pub fn crashed(&self) -> watch::Receiver<bool> {
        self.crashed.subscribe()
    }

    /// Stream reads and appends so far.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// Counts a call that was carried out; the one at the crash point never returns.
    async fn point(&self) {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        if Some(n) == self.crash_at {
            self.crashed.send_replace(true);
            pending::<()>().await;
        }
    }
}

#[async_trait]
impl EventStore for Faulty {
    async fn append(
        &self,
        stream: &str,
        expected: ExpectedRevision,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult, StoreError> {
        let refused = self.refusal.as_ref().is_some_and(|r| {
            r.stream == stream && events.iter().any(|e| e.event_type == r.event_type)
        });
        let result = if refused {
            Err(StoreError::Unavailable("refused by the test".into()))
        } else {
            self.inner.append(stream, expected, events).await
        };
        self.point().await;
        result
    }

    async fn read_stream(
        &self,
        stream: &str,
        from_revision: u64,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let result = self.inner.read_stream(stream, from_revision).await;
        self.point().await;
        result
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
        self.inner.subscribe_all(after, filter)
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
