//! The read queries, each run on a pooled read connection (`crate::sqlite::ReaderPool`). In WAL
//! mode each read sees a committed snapshot and never waits for the writer.

use rusqlite::{Connection, OptionalExtension, params, params_from_iter, types::Value};
use uuid::Uuid;

use super::schema::{EVENT_COLUMNS, recorded_event, unavailable};
use crate::store::{RecordedEvent, Snapshot, StoreError, StreamTail};

/// Events of `stream` from `from_revision` on.
pub(super) fn stream_events(
    conn: &Connection,
    stream: &str,
    from_revision: u64,
) -> Result<Vec<RecordedEvent>, StoreError> {
    let sql = format!(
        "SELECT {EVENT_COLUMNS} FROM events WHERE stream = ?1 AND revision >= ?2 \
         ORDER BY revision"
    );
    conn.prepare_cached(&sql)
        .and_then(|mut stmt| {
            stmt.query_map(
                params![stream, saturating_i64(from_revision)],
                recorded_event,
            )?
            .collect()
        })
        .map_err(|e| unavailable("reading a stream", e))
}

/// The snapshot kept for `stream`, if any.
pub(super) fn snapshot(conn: &Connection, stream: &str) -> Result<Option<Snapshot>, StoreError> {
    conn.prepare_cached(
        "SELECT version, revision, position, state FROM snapshots WHERE stream = ?1",
    )
    .and_then(|mut stmt| {
        stmt.query_row([stream], |row| {
            Ok(Snapshot {
                version: row.get(0)?,
                revision: row.get(1)?,
                position: row.get(2)?,
                state: row.get(3)?,
            })
        })
        .optional()
    })
    .map_err(|e| unavailable("reading a snapshot", e))
}

/// The snapshot of `stream` and its events from the snapshot's revision on (all of them
/// without one), on one connection. The snapshot is read first: it was written after the events
/// it summarises, so the events read next are never older than it.
pub(super) fn tail(conn: &Connection, stream: &str) -> Result<StreamTail, StoreError> {
    let snapshot = snapshot(conn, stream)?;
    let from = snapshot.as_ref().map_or(0, |s| s.revision);
    let events = stream_events(conn, stream, from)?;
    Ok(StreamTail { snapshot, events })
}

/// Which of `ids` are events of `stream`, with their revisions.
pub(super) fn find_events(
    conn: &Connection,
    stream: &str,
    ids: &[Uuid],
) -> Result<Vec<(Uuid, u64)>, StoreError> {
    let mut stmt = conn
        .prepare_cached("SELECT revision FROM events WHERE event_id = ?1 AND stream = ?2")
        .map_err(|e| unavailable("finding events by id", e))?;
    let mut found = Vec::new();
    for id in ids {
        let revision: Option<u64> = stmt
            .query_row(params![id.as_bytes().as_slice(), stream], |row| row.get(0))
            .optional()
            .map_err(|e| unavailable("finding events by id", e))?;
        found.extend(revision.map(|revision| (*id, revision)));
    }
    Ok(found)
}

/// Up to `limit` events after position `after`, of the given categories (all when empty).
pub(super) fn events_after(
    conn: &Connection,
    after: Option<u64>,
    limit: usize,
    categories: &[String],
) -> Result<Vec<RecordedEvent>, StoreError> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    let mut values = vec![
        Value::Integer(after.map_or(0, saturating_i64)),
        Value::Integer(i64::try_from(limit).unwrap_or(i64::MAX)),
    ];
    let category_clause = if categories.is_empty() {
        String::new()
    } else {
        let placeholders: Vec<String> = (0..categories.len())
            .map(|i| format!("?{}", i + 3))
            .collect();
        values.extend(categories.iter().cloned().map(Value::Text));
        format!("AND category IN ({})", placeholders.join(", "))
    };
    let sql = format!(
        "SELECT {EVENT_COLUMNS} FROM events WHERE position > ?1 {category_clause} \
         ORDER BY position LIMIT ?2"
    );
    conn.prepare_cached(&sql)
        .and_then(|mut stmt| {
            stmt.query_map(params_from_iter(values), recorded_event)?
                .collect()
        })
        .map_err(|e| unavailable("reading events", e))
}

/// Up to `limit` events of `categories` (at least one) with positions in `after + 1 ..= until`,
/// found by scanning those positions in order and skipping other categories. Cheaper than the
/// category index (a table lookup per event) when the categories are most of the range.
pub(super) fn category_events_between(
    conn: &Connection,
    after: Option<u64>,
    until: u64,
    limit: usize,
    categories: &[String],
) -> Result<Vec<RecordedEvent>, StoreError> {
    let mut values = vec![
        Value::Integer(after.map_or(0, saturating_i64)),
        Value::Integer(saturating_i64(until)),
        Value::Integer(i64::try_from(limit).unwrap_or(i64::MAX)),
    ];
    let placeholders: Vec<String> = (0..categories.len())
        .map(|i| format!("?{}", i + 4))
        .collect();
    values.extend(categories.iter().cloned().map(Value::Text));
    // `+category` keeps SQLite off the category index: the scan is by position.
    let sql = format!(
        "SELECT {EVENT_COLUMNS} FROM events WHERE position > ?1 AND position <= ?2 \
         AND +category IN ({}) ORDER BY position LIMIT ?3",
        placeholders.join(", ")
    );
    conn.prepare_cached(&sql)
        .and_then(|mut stmt| {
            stmt.query_map(params_from_iter(values), recorded_event)?
                .collect()
        })
        .map_err(|e| unavailable("reading events", e))
}

/// Position of the newest event, `None` when there is none.
pub(super) fn head_position(conn: &Connection) -> Result<Option<u64>, StoreError> {
    conn.query_row("SELECT MAX(position) FROM events", [], |row| row.get(0))
        .map_err(|e| unavailable("reading the head position", e))
}

/// Positions and revisions are `u64` in the port but `INTEGER` (i64) in SQLite; nothing stored
/// exceeds `i64::MAX`, so clamping a bound there keeps every comparison exact.
fn saturating_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}
