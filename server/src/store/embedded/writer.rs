//! Group commit: one thread owns the write connection. It takes every append waiting in its
//! channel, applies each inside its own SAVEPOINT of one `BEGIN IMMEDIATE` transaction, commits
//! once (one fsync under [`super::Durability::Full`]) and only then answers them all. Concurrent
//! appends therefore share the cost of durability instead of queueing for an fsync each.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    thread::JoinHandle,
    time::{SystemTime, UNIX_EPOCH},
};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use tokio::sync::{mpsc, oneshot, watch};

use super::schema::{is_unique_violation, unavailable};
use crate::store::{
    ActualRevision, AppendResult, ExpectedRevision, NewEvent, StoreError, category_of,
};

/// Most appends applied in one transaction; bounds how long the write lock is held.
const MAX_BATCH: usize = 512;

/// One append waiting for the writer, with the channel its answer goes back on.
pub(super) struct AppendRequest {
    pub(super) stream: String,
    pub(super) expected: ExpectedRevision,
    pub(super) events: Vec<NewEvent>,
    pub(super) reply: oneshot::Sender<Result<AppendResult, StoreError>>,
}

/// What the writer publishes after each commit.
pub(super) struct Published {
    /// Highest position this process has committed (0 before the first commit); subscriptions
    /// wait on it to learn that new events exist.
    pub(super) head: watch::Sender<u64>,
    /// Number of committed write transactions, which group commit keeps below the appends.
    pub(super) commits: Arc<AtomicU64>,
}

/// Starts the writer thread. It runs until every sender of `requests` is dropped.
pub(super) fn spawn(
    conn: Connection,
    requests: mpsc::Receiver<AppendRequest>,
    published: Published,
) -> Result<JoinHandle<()>, StoreError> {
    std::thread::Builder::new()
        .name("causeway-event-writer".to_owned())
        .spawn(move || run(conn, requests, published))
        .map_err(|e| StoreError::Unavailable(format!("starting the event writer: {e}")))
}

fn run(mut conn: Connection, mut requests: mpsc::Receiver<AppendRequest>, published: Published) {
    while let Some(first) = requests.blocking_recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match requests.try_recv() {
                Ok(request) => batch.push(request),
                Err(_) => break,
            }
        }
        let outcomes = match apply_batch(&mut conn, &batch) {
            Ok(outcomes) => {
                published.commits.fetch_add(1, Ordering::Relaxed);
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
    }
}

/// Applies every request of `batch` in one transaction and commits it. The outer `Err` means the
/// transaction failed as a whole; the inner results are per request.
pub(super) fn apply_batch(
    conn: &mut Connection,
    batch: &[AppendRequest],
) -> Result<Vec<Result<AppendResult, StoreError>>, StoreError> {
    let mut tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| unavailable("locking the event file", &e))?;
    let created_micros = now_micros();
    let mut outcomes = Vec::with_capacity(batch.len());
    for request in batch {
        // A savepoint per request: a refused or failed request leaves no trace, while earlier
        // requests of the batch stay and later ones see what they wrote.
        let mut savepoint = tx
            .savepoint()
            .map_err(|e| unavailable("starting an append", &e))?;
        let outcome = append_one(&savepoint, request, created_micros);
        if outcome.is_err() {
            savepoint
                .rollback()
                .map_err(|e| unavailable("undoing a refused append", &e))?;
        }
        // Releases the savepoint: keeps its writes if any, nothing after a rollback.
        savepoint
            .commit()
            .map_err(|e| unavailable("finishing an append", &e))?;
        outcomes.push(outcome);
    }
    tx.commit()
        .map_err(|e| unavailable("committing appends", &e))?;
    Ok(outcomes)
}

/// Checks `request.expected` against the stream as this transaction sees it (the database plus
/// the batch so far; the write lock keeps other processes out) and inserts the events.
fn append_one(
    tx: &Connection,
    request: &AppendRequest,
    created_micros: i64,
) -> Result<AppendResult, StoreError> {
    let stream = request.stream.as_str();
    let actual = current_revision(tx, stream)?;
    let conflict = || StoreError::WrongExpectedRevision {
        stream: stream.to_owned(),
        expected: request.expected,
        actual: ActualRevision(actual),
    };
    let holds = match request.expected {
        ExpectedRevision::Any => true,
        ExpectedRevision::NoStream => actual.is_none(),
        ExpectedRevision::StreamExists => actual.is_some(),
        ExpectedRevision::Exact(r) => actual == Some(r),
    };
    if !holds {
        return Err(conflict());
    }
    let mut insert = tx
        .prepare_cached(
            "INSERT INTO events (stream, category, revision, event_id, event_type, data, \
             metadata, created_micros) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )
        .map_err(|e| unavailable("preparing an append", &e))?;
    let mut last = None;
    for (offset, event) in request.events.iter().enumerate() {
        let revision = actual
            .map_or(Some(0), |r| r.checked_add(1))
            .and_then(|first| first.checked_add(u64::try_from(offset).ok()?))
            .filter(|r| i64::try_from(*r).is_ok())
            .ok_or_else(|| StoreError::Invalid(format!("stream {stream} is full")))?;
        insert
            .execute(params![
                stream,
                category_of(stream),
                revision,
                event.id.as_bytes().as_slice(),
                event.event_type,
                event.data,
                event.metadata,
                created_micros,
            ])
            .map_err(|e| {
                if is_unique_violation(&e) {
                    conflict()
                } else {
                    unavailable("appending", &e)
                }
            })?;
        // AUTOINCREMENT rowids start at 1 and are never negative.
        last = Some((revision, tx.last_insert_rowid().unsigned_abs()));
    }
    let (revision, position) =
        last.ok_or_else(|| StoreError::Invalid("an append needs at least one event".into()))?;
    Ok(AppendResult { revision, position })
}

/// The stream's last revision, `None` if it has no events.
fn current_revision(tx: &Connection, stream: &str) -> Result<Option<u64>, StoreError> {
    tx.prepare_cached("SELECT MAX(revision) FROM events WHERE stream = ?1")
        .and_then(|mut stmt| {
            stmt.query_row([stream], |row| row.get::<_, Option<u64>>(0))
                .optional()
        })
        .map(Option::flatten)
        .map_err(|e| unavailable("reading a stream's revision", &e))
}

fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}
