//! The `EventStore` port: the one place events are kept, and the only thing the kernel and the
//! projections know about storage.
//!
//! Adapters live beside this file, one per backend: `embedded` (SQLite, the default) and
//! `kurrentdb` (KurrentDB over gRPC; cargo feature `kurrentdb`, on by default).
//! `conformance` is the one suite every adapter must pass unchanged. `metered` wraps any
//! adapter to time and count what it does.

use std::fmt;

use async_trait::async_trait;
use futures::stream::BoxStream;
use uuid::Uuid;

#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
pub mod embedded;
#[cfg(feature = "kurrentdb")]
pub mod kurrentdb;
pub mod metered;

/// What a writer believed about a stream when it decided; the store refuses the append if the
/// belief no longer holds. This is how two concurrent deciders never both win.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectedRevision {
    /// Append whatever the stream's state.
    Any,
    /// The stream must not exist yet.
    NoStream,
    /// The stream must exist, at any revision.
    StreamExists,
    /// The stream's last event must have exactly this revision.
    Exact(u64),
}

impl fmt::Display for ExpectedRevision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Any => f.write_str("any"),
            Self::NoStream => f.write_str("no stream"),
            Self::StreamExists => f.write_str("stream exists"),
            Self::Exact(r) => write!(f, "revision {r}"),
        }
    }
}

/// An event the kernel wants stored. Payload and metadata are already encoded (proto3 JSON and
/// JSON), so adapters never need to know event types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// Deterministic id (derived from the command id) so that a re-append is recognisable.
    pub id: Uuid,
    /// Full protobuf name of the payload, e.g. `causeway.orders.v1.OrderPlaced`.
    pub event_type: String,
    /// Proto3 JSON of the payload (content type `application/json`).
    pub data: Vec<u8>,
    /// JSON of [`crate::kernel::EventMetadata`].
    pub metadata: Vec<u8>,
}

/// An event as the store recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedEvent {
    /// The id it was appended with.
    pub id: Uuid,
    /// `<category>-<id>`.
    pub stream: String,
    /// Place in its stream, from 0.
    pub revision: u64,
    /// Global commit position: strictly increasing across all streams, never 0.
    pub position: u64,
    /// Full protobuf name of the payload.
    pub event_type: String,
    /// Proto3 JSON payload as stored (before any upcasting).
    pub data: Vec<u8>,
    /// JSON metadata as stored.
    pub metadata: Vec<u8>,
    /// When the store committed it, in microseconds since the Unix epoch.
    pub created_micros: i64,
}

impl RecordedEvent {
    /// The category of the event's stream: the part before the first `-`.
    pub fn category(&self) -> &str {
        category_of(&self.stream)
    }
}

/// The category of a stream name: `order-42` -> `order`.
pub fn category_of(stream: &str) -> &str {
    stream
        .split_once('-')
        .map_or(stream, |(category, _)| category)
}

/// Where a successful append left the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendResult {
    /// Revision of the last event appended.
    pub revision: u64,
    /// Global position of the last event appended.
    pub position: u64,
}

/// An aggregate's state as of one revision of its stream, kept beside the stream so that a
/// command need not fold the whole stream again. Never needed for correctness: a reader that
/// finds none, one of another version, or one it cannot read folds the stream from the start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The aggregate's snapshot schema version; code that expects another ignores it.
    pub version: u32,
    /// The stream revision whose state this is.
    pub revision: u64,
    /// That event's global position: a reader checks it against the stream, so a snapshot can
    /// never pass for another history.
    pub position: u64,
    /// The encoded state.
    pub state: Vec<u8>,
}

/// What a command reads of a stream to decide: its latest snapshot, if any, and the events
/// from the snapshot's revision on (that event included, to check the snapshot against it), or
/// every event when there is no snapshot.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamTail {
    /// The latest snapshot kept for the stream.
    pub snapshot: Option<Snapshot>,
    /// Events from `snapshot.revision` on, or from revision 0 without a snapshot.
    pub events: Vec<RecordedEvent>,
}

/// Which events a subscription delivers. Empty means every event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubscriptionFilter {
    /// Stream categories to deliver (`order`, `product`, ...).
    pub categories: Vec<String>,
}

impl SubscriptionFilter {
    /// Only events of these categories.
    pub fn categories<I, S>(categories: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            categories: categories.into_iter().map(Into::into).collect(),
        }
    }

    /// Whether an event of `stream` passes the filter.
    pub fn matches(&self, stream: &str) -> bool {
        self.categories.is_empty() || self.categories.iter().any(|c| c == category_of(stream))
    }
}

/// Failures of the store, split by what the caller can do about them.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The stream was not where the writer expected it; reload and decide again.
    #[error("stream {stream} expected at {expected} but is at {actual}")]
    WrongExpectedRevision {
        /// The stream appended to.
        stream: String,
        /// What the writer expected.
        expected: ExpectedRevision,
        /// The stream's actual last revision, `None` when it does not exist.
        actual: ActualRevision,
    },
    /// The store could not be reached or failed; the operation may be retried.
    #[error("event store unavailable: {0}")]
    Unavailable(String),
    /// The caller asked for something the store cannot hold (e.g. an invalid stream name).
    #[error("invalid request to the event store: {0}")]
    Invalid(String),
}

/// A stream's actual last revision, for conflict messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActualRevision(pub Option<u64>);

impl fmt::Display for ActualRevision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(r) => write!(f, "revision {r}"),
            None => f.write_str("no stream"),
        }
    }
}

/// One item of a subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedItem {
    /// The next event passing the filter.
    Event(RecordedEvent),
    /// Every event passing the filter up to and including this position has been delivered.
    /// Lets a filtered subscriber move its checkpoint past events it never sees (KurrentDB's
    /// filtered-subscription checkpoints), so "has this projection reached position p" can be
    /// answered when p belongs to another category.
    Checkpoint(u64),
}

/// Totals of a store's group commits (see [`EventStore::group_commits`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GroupCommits {
    /// Write transactions committed.
    pub transactions: u64,
    /// Events those transactions held.
    pub events: u64,
}

/// A live, ordered feed of recorded events; see [`EventStore::subscribe_all`].
pub type EventFeed = BoxStream<'static, Result<FeedItem, StoreError>>;

/// Durable, ordered storage of events in streams with a global order.
#[async_trait]
pub trait EventStore: Send + Sync + 'static {
    /// Appends `events` (at least one) to `stream` if `expected` holds, atomically: either all
    /// are stored or none. Returns once the events are durable.
    async fn append(
        &self,
        stream: &str,
        expected: ExpectedRevision,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult, StoreError>;

    /// Events of `stream` from `from_revision` on, in order; empty when the stream does not exist.
    async fn read_stream(
        &self,
        stream: &str,
        from_revision: u64,
    ) -> Result<Vec<RecordedEvent>, StoreError>;

    /// Up to `limit` events of every stream with a position strictly greater than `after`
    /// (`None` = from the beginning), in position order.
    async fn read_all(
        &self,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError>;

    /// The latest snapshot kept for `stream`; `None` when there is none. The default keeps no
    /// snapshots.
    async fn read_snapshot(&self, stream: &str) -> Result<Option<Snapshot>, StoreError> {
        let _ = stream;
        Ok(None)
    }

    /// Keeps `snapshot` as the latest of `stream`, unless one of the same version at a later
    /// revision is kept already. It need not be durable when this returns. The default keeps
    /// nothing.
    async fn write_snapshot(&self, stream: &str, snapshot: Snapshot) -> Result<(), StoreError> {
        let _ = (stream, snapshot);
        Ok(())
    }

    /// The latest snapshot of `stream` and the events from it on, in one read where the store
    /// can (see [`StreamTail`]). The default reads the snapshot, then the stream.
    async fn read_tail(&self, stream: &str) -> Result<StreamTail, StoreError> {
        let snapshot = self.read_snapshot(stream).await?;
        let from = snapshot.as_ref().map_or(0, |s| s.revision);
        let events = self.read_stream(stream, from).await?;
        Ok(StreamTail { snapshot, events })
    }

    /// Which of `ids` name events of `stream`, with their revisions (in no particular order).
    /// Deduplication asks this for the ids it does not hold in memory. The default reads the
    /// whole stream; a store with an index by event id answers from it.
    async fn find_events(
        &self,
        stream: &str,
        ids: &[Uuid],
    ) -> Result<Vec<(Uuid, u64)>, StoreError> {
        Ok(self
            .read_stream(stream, 0)
            .await?
            .into_iter()
            .filter(|event| ids.contains(&event.id))
            .map(|event| (event.id, event.revision))
            .collect())
    }

    /// How many write transactions this store committed and how many events they held, for a
    /// store that groups concurrent appends into one commit; `None` for one that does not.
    fn group_commits(&self) -> Option<GroupCommits> {
        None
    }

    /// The position of the newest event, `None` for an empty store.
    async fn head_position(&self) -> Result<Option<u64>, StoreError>;

    /// Every event after `after` that passes `filter`, first those already stored (catch-up),
    /// then new ones as they are committed (live), with no gap and no duplicate between the two.
    /// It says how far past events the filter dropped it has got with [`FeedItem::Checkpoint`]s,
    /// at the store's own cadence: promptly (embedded), or only every so many events
    /// (KurrentDB), in which case [`clear_through`](Self::clear_through) answers sooner. The feed
    /// ends only with an error.
    fn subscribe_all(&self, after: Option<u64>, filter: SubscriptionFilter) -> EventFeed;

    /// How far a subscriber to `filter` that has everything up to `after` may move its
    /// checkpoint towards `until` without waiting for its feed: `Some(p)` (`after < p <= until`)
    /// when no event passing `filter` lies after `after` up to `p`, and never past the newest
    /// event; `None` when such an event lies in between (the feed will bring it) or the store
    /// does not say.
    ///
    /// A read waiting for a position written in another category needs this when the feed's
    /// checkpoints are sparse. The default says nothing, for stores whose feeds checkpoint
    /// promptly.
    async fn clear_through(
        &self,
        after: Option<u64>,
        until: u64,
        filter: &SubscriptionFilter,
    ) -> Result<Option<u64>, StoreError> {
        let _ = (after, until, filter);
        Ok(None)
    }
}
