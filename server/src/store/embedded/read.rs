//! The read queries, each run on a pooled read connection (`crate::sqlite::ReaderPool`). In WAL
//! mode each read sees a committed snapshot and never waits for the writer.

use rusqlite::{Connection, params, params_from_iter, types::Value};

use super::schema::{EVENT_COLUMNS, recorded_event, unavailable};
use crate::store::{RecordedEvent, StoreError};

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
