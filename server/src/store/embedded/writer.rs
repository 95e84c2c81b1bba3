//! Group commit: one thread owns the write connection. It takes every append waiting in its
//! channel, applies them all in one `BEGIN IMMEDIATE` transaction, commits
//! once (one fsync under [`super::Durability::Full`]) and only then answers them all. Concurrent
//! appends therefore share the cost of durability instead of queueing for an fsync each.
//! Snapshots ride along in the same transactions; nobody waits for them. The WAL is
//! checkpointed by a thread of its own (`crate::sqlite::Checkpoints`), which the writer nudges
//! every so many bytes, so no commit waits for a checkpoint.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    thread::JoinHandle,
    time::{SystemTime, UNIX_EPOCH},
};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use tokio::sync::{OwnedSemaphorePermit, mpsc, oneshot, watch};

use super::schema::unavailable;
use crate::{
    sqlite::Checkpoints,
    store::{
        ActualRevision, AppendResult, ExpectedRevision, NewEvent, Snapshot, StoreError, category_of,
    },
};

/// Most appends applied in one transaction; bounds how long the write lock is held.
const MAX_BATCH: usize = 512;

/// What waits for the writer.
pub(super) enum Request {
    Append(AppendRequest),
    /// A stream's latest snapshot; nobody waits for it to be stored.
    Snapshot {
        stream: String,
        snapshot: Snapshot,
        /// Its share of the queue's byte budget, given back once it is written.
        _room: OwnedSemaphorePermit,
    },
}

/// One append waiting for the writer, with the channel its answer goes back on.
pub(super) struct AppendRequest {
    pub(super) stream: String,
    pub(super) expected: ExpectedRevision,
    pub(super) events: Vec<NewEvent>,
    pub(super) reply: oneshot::Sender<Result<AppendResult, StoreError>>,
    /// Its share of the queue's byte budget, given back once it is answered.
    pub(super) _room: OwnedSemaphorePermit,
}

impl Request {
    /// Bytes of event and snapshot data the request writes.
    fn bytes(&self) -> usize {
        match self {
            Self::Append(append) => append
                .events
                .iter()
                .map(|e| e.data.len() + e.metadata.len())
                .sum(),
            Self::Snapshot { snapshot, .. } => snapshot.state.len(),
        }
    }
}

/// What the writer publishes after each commit.
pub(super) struct Published {
    /// Highest position this process has committed (0 before the first commit); subscriptions
    /// wait on it to learn that new events exist.
    pub(super) head: watch::Sender<u64>,
    /// Number of committed write transactions, which group commit keeps below the appends.
    pub(super) commits: Arc<AtomicU64>,
    /// Events committed by those transactions.
    pub(super) committed_events: Arc<AtomicU64>,
}

/// Starts the writer thread. It runs until every sender of `requests` is dropped.
pub(super) fn spawn(
    conn: Connection,
    requests: mpsc::Receiver<Request>,
    published: Published,
    checkpoints: Checkpoints,
) -> Result<JoinHandle<()>, StoreError> {
    std::thread::Builder::new()
        .name("causeway-event-writer".to_owned())
        .spawn(move || run(conn, requests, published, checkpoints))
        .map_err(|e| StoreError::Unavailable(format!("starting the event writer: {e}")))
}

fn run(
    mut conn: Connection,
    mut requests: mpsc::Receiver<Request>,
    published: Published,
    mut checkpoints: Checkpoints,
) {
    while let Some(first) = requests.blocking_recv() {
        let mut taken = vec![first];
        while taken.len() < MAX_BATCH {
            match requests.try_recv() {
                Ok(request) => taken.push(request),
                Err(_) => break,
            }
        }
        let written: usize = taken.iter().map(Request::bytes).sum();
        let (batch, snapshots) = split(taken);
        let outcomes = match apply_batch(&mut conn, &batch, &snapshots) {
            Ok(outcomes) => {
                published.commits.fetch_add(1, Ordering::Relaxed);
                let events: usize = batch
                    .iter()
                    .zip(&outcomes)
                    .filter(|(_, outcome)| outcome.is_ok())
                    .map(|(request, _)| request.events.len())
                    .sum();
                published
                    .committed_events
                    .fetch_add(events as u64, Ordering::Relaxed);
                outcomes
            }
            // Nothing of the batch was committed, so nobody may hear success.
            Err(error) => {
                let message = match error {
                    StoreError::Unavailable(message) => message,
                    other => other.to_string(),
                };
                batch
                    .iter()
                    .map(|_| Err(StoreError::Unavailable(message.clone())))
                    .collect()
            }
        };
        let newest = outcomes
            .iter()
            .filter_map(|o| o.as_ref().ok().map(|r| r.position))
            .max();
        if let Some(newest) = newest {
            published.head.send_if_modified(|head| {
                let advanced = newest > *head;
                *head = (*head).max(newest);
                advanced
            });
        }
        for (request, outcome) in batch.into_iter().zip(outcomes) {
            // The caller may have given up waiting; its events are committed all the same.
            let _ = request.reply.send(outcome);
        }
        checkpoints.wrote(written);
    }
}

/// The appends of `taken` and its snapshots, apart.
fn split(taken: Vec<Request>) -> (Vec<AppendRequest>, Vec<(String, Snapshot)>) {
    let (mut appends, mut snapshots) = (Vec::new(), Vec::new());
    for request in taken {
        match request {
            Request::Append(append) => appends.push(append),
            Request::Snapshot {
                stream, snapshot, ..
            } => snapshots.push((stream, snapshot)),
        }
    }
    (appends, snapshots)
}

/// Applies every request of `batch` in one transaction and commits it. The outer `Err` means the
/// transaction failed as a whole; the inner results are per request.
///
/// Every way a request can be refused (its expected revision, an empty or overlong append) is
/// checked before it writes anything, so a refused request leaves no trace without a savepoint
/// per request, and later requests of the batch see what earlier ones wrote. An insert that fails
/// after its checks passed is the file failing, and fails the whole batch.
pub(super) fn apply_batch(
    conn: &mut Connection,
    batch: &[AppendRequest],
    snapshots: &[(String, Snapshot)],
) -> Result<Vec<Result<AppendResult, StoreError>>, StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| unavailable("locking the event file", e))?;
    let created_micros = now_micros();
    let mut outcomes = Vec::with_capacity(batch.len());
    for request in batch {
        let outcome = match admit(&tx, request) {
            Ok(first) => Ok(insert(&tx, request, first, created_micros)?),
            Err(refused) => Err(refused),
        };
        outcomes.push(outcome);
    }
    for (stream, snapshot) in snapshots {
        keep_snapshot(&tx, stream, snapshot)?;
    }
    tx.commit()
        .map_err(|e| unavailable("committing appends", e))?;
    Ok(outcomes)
}

/// The revision `request`'s first event gets, if the request may be appended: its expected
/// revision holds against the stream as this transaction sees it (the database plus the batch so
/// far; the write lock keeps other processes out), and its events fit the stream.
fn admit(tx: &Connection, request: &AppendRequest) -> Result<u64, StoreError> {
    let stream = request.stream.as_str();
    let actual = current_revision(tx, stream)?;
    let holds = match request.expected {
        ExpectedRevision::Any => true,
        ExpectedRevision::NoStream => actual.is_none(),
        ExpectedRevision::StreamExists => actual.is_some(),
        ExpectedRevision::Exact(r) => actual == Some(r),
    };
    if !holds {
        return Err(StoreError::WrongExpectedRevision {
            stream: stream.to_owned(),
            expected: request.expected,
            actual: ActualRevision(actual),
        });
    }
    if request.events.is_empty() {
        return Err(StoreError::Invalid(
            "an append needs at least one event".into(),
        ));
    }
    let first = actual.map_or(Some(0), |r| r.checked_add(1));
    let last = first.and_then(|first| first.checked_add(request.events.len() as u64 - 1));
    match (first, last) {
        (Some(first), Some(last)) if i64::try_from(last).is_ok() => Ok(first),
        _ => Err(StoreError::Invalid(format!("stream {stream} is full"))),
    }
}

/// Inserts the events of an admitted `request` from revision `first` on.
fn insert(
    tx: &Connection,
    request: &AppendRequest,
    first: u64,
    created_micros: i64,
) -> Result<AppendResult, StoreError> {
    let stream = request.stream.as_str();
    let category = category_of(stream);
    let mut insert = tx
        .prepare_cached(
            "INSERT INTO events (stream, category, revision, event_id, event_type, data, \
             metadata, created_micros) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )
        .map_err(|e| unavailable("preparing an append", e))?;
    for (revision, event) in (first..).zip(&request.events) {
        insert
            .execute(params![
                stream,
                category,
                revision,
                event.id.as_bytes().as_slice(),
                event.event_type,
                event.data,
                event.metadata,
                created_micros,
            ])
            .map_err(|e| unavailable("appending", e))?;
    }
    // Admitted: non-empty, and the last revision fits.
    let revision = first + (request.events.len() as u64 - 1);
    // AUTOINCREMENT rowids start at 1 and are never negative.
    let position = tx.last_insert_rowid().unsigned_abs();
    Ok(AppendResult { revision, position })
}

/// Keeps `snapshot` as `stream`'s latest, unless a later one of the same version is kept (one of
/// another version is always replaced: the code that wrote it is gone or going).
fn keep_snapshot(tx: &Connection, stream: &str, snapshot: &Snapshot) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO snapshots (stream, version, revision, position, state) \
         VALUES (?1, ?2, ?3, ?4, ?5) \
         ON CONFLICT (stream) DO UPDATE SET version = excluded.version, \
             revision = excluded.revision, position = excluded.position, state = excluded.state \
         WHERE excluded.revision >= snapshots.revision OR excluded.version <> snapshots.version",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            stream,
            snapshot.version,
            i64::try_from(snapshot.revision).unwrap_or(i64::MAX),
            i64::try_from(snapshot.position).unwrap_or(i64::MAX),
            snapshot.state,
        ])
    })
    .map(|_| ())
    .map_err(|e| unavailable("keeping a snapshot", e))
}

/// The stream's last revision, `None` if it has no events.
fn current_revision(tx: &Connection, stream: &str) -> Result<Option<u64>, StoreError> {
    tx.prepare_cached("SELECT MAX(revision) FROM events WHERE stream = ?1")
        .and_then(|mut stmt| {
            stmt.query_row([stream], |row| row.get::<_, Option<u64>>(0))
                .optional()
        })
        .map(Option::flatten)
        .map_err(|e| unavailable("reading a stream's revision", e))
}

fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}
