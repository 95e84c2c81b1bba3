//! The SQLite side of the embedded store: opening connections with the right pragmas, the schema
//! and its version, row decoding and error mapping. Everything here is synchronous; callers run
//! it on the writer thread or in `spawn_blocking`.

use std::{path::Path, time::Duration};

use rusqlite::{Connection, Row, TransactionBehavior};
use uuid::Uuid;

use super::Durability;
use crate::store::{RecordedEvent, StoreError};

/// The schema this code reads and writes, kept in `PRAGMA user_version`. Version 0 is an empty
/// file; a file with a higher version was written by newer code and is refused, not guessed at.
pub(super) const SCHEMA_VERSION: i64 = 1;

/// How long a connection waits for another connection (maybe in another process) to release
/// SQLite's write lock before the operation fails as unavailable.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Columns of [`RecordedEvent`], in the order [`recorded_event`] decodes them.
pub(super) const EVENT_COLUMNS: &str =
    "position, stream, revision, event_id, event_type, data, metadata, created_micros";

const CREATE_V1: &str = "
    CREATE TABLE events (
        position       INTEGER PRIMARY KEY AUTOINCREMENT,
        stream         TEXT    NOT NULL,
        category       TEXT    NOT NULL,
        revision       INTEGER NOT NULL,
        event_id       BLOB    NOT NULL,
        event_type     TEXT    NOT NULL,
        data           BLOB    NOT NULL,
        metadata       BLOB    NOT NULL,
        created_micros INTEGER NOT NULL,
        UNIQUE (stream, revision)
    );
    CREATE INDEX events_by_category ON events (category, position);
";

/// Opens the connection that writes, creating and migrating the schema. Migration runs under
/// `BEGIN IMMEDIATE` so two processes opening the same fresh file cannot both create it.
pub(super) fn open_writer(path: &Path, durability: Durability) -> Result<Connection, StoreError> {
    let mut conn = open(path, durability)?;
    // WAL lets readers work while the writer commits, and it persists in the file.
    let mode: String = crate::sqlite_wal::switch_to_wal(&conn, BUSY_TIMEOUT)
        .map_err(|e| unavailable("enabling WAL", &e))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Unavailable(format!(
            "the event file refused WAL mode (got {mode})"
        )));
    }
    migrate(&mut conn)?;
    Ok(conn)
}

/// Opens a connection for reads only; `query_only` turns a stray write into an error.
pub(super) fn open_reader(path: &Path, durability: Durability) -> Result<Connection, StoreError> {
    let conn = open(path, durability)?;
    conn.pragma_update(None, "query_only", true)
        .map_err(|e| unavailable("configuring a reader", &e))?;
    Ok(conn)
}

fn open(path: &Path, durability: Durability) -> Result<Connection, StoreError> {
    let conn = Connection::open(path).map_err(|e| unavailable("opening the event file", &e))?;
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(|e| unavailable("configuring the event file", &e))?;
    let synchronous = match durability {
        Durability::Full => "FULL",
        Durability::Relaxed => "NORMAL",
    };
    conn.pragma_update(None, "synchronous", synchronous)
        .map_err(|e| unavailable("configuring the event file", &e))?;
    Ok(conn)
}

fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| unavailable("locking the event file for migration", &e))?;
    let version: i64 = tx
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(|e| unavailable("reading the schema version", &e))?;
    match version {
        0 => {
            tx.execute_batch(CREATE_V1)
                .map_err(|e| unavailable("creating the schema", &e))?;
            tx.pragma_update(None, "user_version", SCHEMA_VERSION)
                .map_err(|e| unavailable("recording the schema version", &e))?;
        }
        SCHEMA_VERSION => {}
        newer => {
            return Err(StoreError::Unavailable(format!(
                "the event file has schema version {newer}; this build understands up to \
                 {SCHEMA_VERSION}"
            )));
        }
    }
    tx.commit()
        .map_err(|e| unavailable("committing the schema", &e))
}

/// Decodes a row selected with [`EVENT_COLUMNS`].
pub(super) fn recorded_event(row: &Row<'_>) -> rusqlite::Result<RecordedEvent> {
    let id: Vec<u8> = row.get(3)?;
    let id = Uuid::from_slice(&id).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(3, rusqlite::types::Type::Blob, Box::new(e))
    })?;
    Ok(RecordedEvent {
        position: row.get(0)?,
        stream: row.get(1)?,
        revision: row.get(2)?,
        id,
        event_type: row.get(4)?,
        data: row.get(5)?,
        metadata: row.get(6)?,
        created_micros: row.get(7)?,
    })
}

/// Maps a SQLite failure to `Unavailable`. The message names what was being done and SQLite's
/// error class; it never carries event data or file paths.
pub(super) fn unavailable(doing: &str, error: &rusqlite::Error) -> StoreError {
    let class = match error {
        rusqlite::Error::SqliteFailure(e, _) => format!("{:?}", e.code),
        rusqlite::Error::FromSqlConversionFailure(..)
        | rusqlite::Error::IntegralValueOutOfRange(..)
        | rusqlite::Error::InvalidColumnType(..) => "corrupt row".to_owned(),
        _ => "internal error".to_owned(),
    };
    tracing::warn!(doing, error = %error, "embedded event store failure");
    StoreError::Unavailable(format!("{doing}: {class}"))
}
