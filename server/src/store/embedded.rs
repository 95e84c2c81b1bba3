//! The embedded event store: one SQLite file (`events.db`) under the data directory, so that
//! Causeway runs on a laptop with no infrastructure and the same semantics as with KurrentDB.
//!
//! - `schema`: the versioned schema, `synchronous` per [`Durability`], row decoding; opening,
//!   pragmas (WAL, busy timeout), migration and the reader pool are `crate::sqlite`'s.
//! - `writer`: the group-commit thread that owns the only write connection of this process; it
//!   keeps snapshots too, and leaves WAL checkpoints to a thread of their own.
//! - `read`: the read queries, run on pooled read connections.
//! - `subscription`: `subscribe_all`, catch-up then live.
//!
//! Several processes may open the same directory: SQLite's file locks serialise their writes
//! (`BEGIN IMMEDIATE`, revisions re-checked inside the transaction), and subscriptions notice
//! other processes' commits by polling while idle.

mod read;
mod schema;
#[cfg(test)]
mod snapshot_tests;
mod subscription;
#[cfg(test)]
mod tests;
mod writer;

use std::{
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    thread::JoinHandle,
    time::Duration,
};

use async_trait::async_trait;
use tokio::sync::{Semaphore, mpsc, oneshot, watch};
use uuid::Uuid;

use self::writer::{AppendRequest, Published, Request};
use super::{
    AppendResult, EventFeed, EventStore, ExpectedRevision, GroupCommits, NewEvent, RecordedEvent,
    Snapshot, StoreError, StreamTail, SubscriptionFilter,
};
use crate::sqlite::{Checkpoints, ReaderPool};

/// Name of the event file inside the data directory.
pub const EVENTS_FILE: &str = "events.db";

/// Appends waiting for the writer before `append` callers wait for room (backpressure).
const QUEUE_DEPTH: usize = 4096;
/// Bytes of events and snapshots waiting for the writer before `append` callers wait for room:
/// the queue is bounded by what it holds, not only by how many requests. One request larger
/// than this waits until it has the whole queue to itself.
const QUEUE_BYTES: usize = 64 << 20;

/// When an append is acknowledged relative to the disk, traded against throughput.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Durability {
    /// Acknowledge only after the commit is fsynced (`PRAGMA synchronous=FULL`): an acknowledged
    /// event survives power loss. The default, because commands report success to clients.
    #[default]
    Full,
    /// Acknowledge once the commit is in the WAL (`PRAGMA synchronous=NORMAL`): still safe against
    /// a process crash, but the last commits may be lost on power loss or an OS crash. For
    /// development and benchmarks.
    Relaxed,
}

/// [`EventStore`] on a SQLite file, the default adapter.
pub struct EmbeddedEventStore {
    requests: Option<mpsc::Sender<Request>>,
    room: Arc<Semaphore>,
    writer: Option<JoinHandle<()>>,
    readers: Arc<ReaderPool>,
    head: watch::Receiver<u64>,
    commits: Arc<AtomicU64>,
    committed_events: Arc<AtomicU64>,
    cross_process_poll: Duration,
}

impl EmbeddedEventStore {
    /// Opens (creating if needed) the event file under `data_dir`, migrating its schema, and
    /// starts the writer thread. Blocks on file I/O: call it at startup (or in `spawn_blocking`).
    pub fn open(data_dir: &Path, durability: Durability) -> Result<Self, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|e| {
            StoreError::Unavailable(format!("creating the data directory: {}", e.kind()))
        })?;
        let file = schema::events_file(data_dir.join(EVENTS_FILE), durability);
        let conn = file.open_writer(&schema::MIGRATIONS)?;
        let checkpoints = Checkpoints::start(&file, &conn)?;
        let (requests, queue) = mpsc::channel(QUEUE_DEPTH);
        let (head_tx, head) = watch::channel(0);
        let commits = Arc::new(AtomicU64::new(0));
        let committed_events = Arc::new(AtomicU64::new(0));
        let published = Published {
            head: head_tx,
            commits: Arc::clone(&commits),
            committed_events: Arc::clone(&committed_events),
        };
        let writer = writer::spawn(conn, queue, published, checkpoints)?;
        Ok(Self {
            requests: Some(requests),
            room: Arc::new(Semaphore::new(QUEUE_BYTES)),
            writer: Some(writer),
            readers: Arc::new(ReaderPool::new(file)),
            head,
            commits,
            committed_events,
            cross_process_poll: subscription::CROSS_PROCESS_POLL,
        })
    }

    /// How many write transactions this instance has committed. Group commit makes this grow
    /// slower than the number of appends under concurrency; benchmarks and tests watch it.
    pub fn commit_count(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }

    /// Lets tests prove that this process's commits wake subscribers without the poll.
    #[cfg(test)]
    fn without_cross_process_poll(mut self) -> Self {
        self.cross_process_poll = Duration::from_secs(24 * 60 * 60);
        self
    }
}

#[async_trait]
impl EventStore for EmbeddedEventStore {
    async fn append(
        &self,
        stream: &str,
        expected: ExpectedRevision,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult, StoreError> {
        if stream.is_empty() {
            return Err(StoreError::Invalid(
                "a stream name must not be empty".into(),
            ));
        }
        if events.is_empty() {
            return Err(StoreError::Invalid(
                "an append needs at least one event".into(),
            ));
        }
        let stopped = || StoreError::Unavailable("the event writer has stopped".to_owned());
        let requests = self.requests.as_ref().ok_or_else(stopped)?;
        let bytes: usize = events.iter().map(|e| e.data.len() + e.metadata.len()).sum();
        let room = Arc::clone(&self.room)
            .acquire_many_owned(share_of_queue(bytes))
            .await
            .map_err(|_| stopped())?;
        let (reply, answer) = oneshot::channel();
        let request = Request::Append(AppendRequest {
            stream: stream.to_owned(),
            expected,
            events,
            reply,
            _room: room,
        });
        requests.send(request).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    async fn read_snapshot(&self, stream: &str) -> Result<Option<Snapshot>, StoreError> {
        let stream = stream.to_owned();
        self.readers
            .run(move |conn| read::snapshot(conn, &stream))
            .await
    }

    /// Queued for the writer's next transaction, unless the queue is full (then dropped: a
    /// snapshot is only ever a shortcut).
    async fn write_snapshot(&self, stream: &str, snapshot: Snapshot) -> Result<(), StoreError> {
        let busy = || StoreError::Unavailable("the event writer is busy".to_owned());
        let requests = self.requests.as_ref().ok_or_else(busy)?;
        let room = Arc::clone(&self.room)
            .try_acquire_many_owned(share_of_queue(snapshot.state.len()))
            .map_err(|_| busy())?;
        let request = Request::Snapshot {
            stream: stream.to_owned(),
            snapshot,
            _room: room,
        };
        requests.try_send(request).map_err(|_| busy())
    }

    async fn read_tail(&self, stream: &str) -> Result<StreamTail, StoreError> {
        let stream = stream.to_owned();
        self.readers
            .run(move |conn| read::tail(conn, &stream))
            .await
    }

    async fn find_events(
        &self,
        stream: &str,
        ids: &[Uuid],
    ) -> Result<Vec<(Uuid, u64)>, StoreError> {
        let (stream, ids) = (stream.to_owned(), ids.to_vec());
        self.readers
            .run(move |conn| read::find_events(conn, &stream, &ids))
            .await
    }

    async fn read_stream(
        &self,
        stream: &str,
        from_revision: u64,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let stream = stream.to_owned();
        self.readers
            .run(move |conn| read::stream_events(conn, &stream, from_revision))
            .await
    }

    async fn read_all(
        &self,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        self.readers
            .run(move |conn| read::events_after(conn, after, limit, &[]))
            .await
    }

    async fn head_position(&self) -> Result<Option<u64>, StoreError> {
        self.readers.run(read::head_position).await
    }

    fn group_commits(&self) -> Option<GroupCommits> {
        Some(GroupCommits {
            transactions: self.commits.load(Ordering::Relaxed),
            events: self.committed_events.load(Ordering::Relaxed),
        })
    }

    fn subscribe_all(&self, after: Option<u64>, filter: SubscriptionFilter) -> EventFeed {
        subscription::subscribe(
            Arc::clone(&self.readers),
            self.head.clone(),
            self.cross_process_poll,
            after,
            filter,
        )
    }
}

/// The permits of the queue's byte budget a request of `bytes` takes: at least one, at most the
/// whole budget.
fn share_of_queue(bytes: usize) -> u32 {
    u32::try_from(bytes.clamp(1, QUEUE_BYTES)).unwrap_or(u32::MAX)
}

impl Drop for EmbeddedEventStore {
    /// Stops the writer and waits for it, so the write connection is closed (and its last batch
    /// answered) when the store is gone; reopening the directory right away is then safe. This
    /// may block for as long as the writer's current batch takes.
    fn drop(&mut self) {
        drop(self.requests.take());
        if let Some(writer) = self.writer.take()
            && writer.join().is_err()
        {
            tracing::error!("the event writer thread panicked");
        }
    }
}
