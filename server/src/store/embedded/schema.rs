//! The event file as SQLite sees it: its schema, how its connections commit (see
//! [`Durability`]), row decoding and error mapping. Opening, pragmas, migration and the reader
//! pool are `crate::sqlite`'s, shared with the read store.

use std::path::PathBuf;

use rusqlite::Row;
use uuid::Uuid;

use super::Durability;
use crate::{
    sqlite::{Migrations, SqliteError, SqliteFile, Synchronous},
    store::{RecordedEvent, StoreError},
};

/// The schema this code reads and writes; its version is kept in `PRAGMA user_version`.
pub(super) const MIGRATIONS: Migrations = Migrations::new(&[CREATE_V1, SNAPSHOTS_AND_IDS_V2]);

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

/// Version 2: snapshots beside the streams (one row per stream, the latest), and events found by
/// stream and id, so that deduplication can ask about ids older than a snapshot without reading
/// the stream. Keyed by stream first: a stream's entries share pages, so an append dirties
/// about one page of it per stream, as `(stream, revision)` does, not one per event.
const SNAPSHOTS_AND_IDS_V2: &str = "
    CREATE TABLE snapshots (
        stream   TEXT    PRIMARY KEY,
        version  INTEGER NOT NULL,
        revision INTEGER NOT NULL,
        position INTEGER NOT NULL,
        state    BLOB    NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX events_by_id ON events (stream, event_id);
";

/// The event file at `path`, its connections committing as `durability` asks.
pub(super) fn events_file(path: PathBuf, durability: Durability) -> SqliteFile {
    let synchronous = match durability {
        Durability::Full => Synchronous::Full,
        Durability::Relaxed => Synchronous::Normal,
    };
    SqliteFile::new(path, "event file", synchronous)
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
/// error class; it never carries event data or file paths (the full error goes to the log).
pub(super) fn unavailable(doing: &str, error: rusqlite::Error) -> StoreError {
    SqliteError::call(doing, error).into()
}

impl From<SqliteError> for StoreError {
    fn from(error: SqliteError) -> Self {
        Self::Unavailable(error.into_caller_message("embedded event store failure"))
    }
}
