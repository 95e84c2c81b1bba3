//! Opening `read.db` with the right pragmas, its versioned schema, and SQLite error mapping.
//! Everything here is synchronous; callers run it under `spawn_blocking`.

use std::{path::Path, time::Duration};

use rusqlite::{Connection, ErrorCode, TransactionBehavior};

use crate::readstore::ReadStoreError;

/// The schema this code reads and writes, kept in `PRAGMA user_version`. Version 0 is an empty
/// file; a higher version was written by newer code and is refused rather than guessed at.
const SCHEMA_VERSION: i64 = 1;

/// How long a connection waits for another one (maybe in another process: a projection process
/// writing while query processes read) to release SQLite's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

const CREATE_V1: &str = "
    CREATE TABLE documents (
        collection TEXT NOT NULL,
        id         TEXT NOT NULL,
        body       TEXT NOT NULL,
        PRIMARY KEY (collection, id)
    );
    CREATE TABLE checkpoints (
        projection TEXT    PRIMARY KEY,
        position   INTEGER NOT NULL
    );
";

/// Opens the writing connection, switching the file to WAL and creating or checking the schema.
/// Migration runs under `BEGIN IMMEDIATE` so two processes opening a fresh file cannot both
/// create it.
pub(super) fn open_writer(path: &Path) -> Result<Connection, ReadStoreError> {
    let mut conn = open(path)?;
    // WAL lets query processes read a committed snapshot while the projection writes.
    let mode: String = crate::sqlite_wal::switch_to_wal(&conn, BUSY_TIMEOUT)
        .map_err(|e| unavailable("enabling WAL", &e))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(ReadStoreError::Unavailable(format!(
            "the read-model file refused WAL mode (got {mode})"
        )));
    }
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| unavailable("locking the read-model file for migration", &e))?;
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
            return Err(ReadStoreError::Unavailable(format!(
                "the read-model file has schema version {newer}; this build understands up to \
                 {SCHEMA_VERSION}"
            )));
        }
    }
    tx.commit()
        .map_err(|e| unavailable("committing the schema", &e))?;
    Ok(conn)
}

/// Opens a connection for reads; `query_only` turns a stray write into an error.
pub(super) fn open_reader(path: &Path) -> Result<Connection, ReadStoreError> {
    let conn = open(path)?;
    conn.pragma_update(None, "query_only", true)
        .map_err(|e| unavailable("configuring a reader", &e))?;
    Ok(conn)
}

fn open(path: &Path) -> Result<Connection, ReadStoreError> {
    let conn =
        Connection::open(path).map_err(|e| unavailable("opening the read-model file", &e))?;
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(|e| unavailable("configuring the read-model file", &e))?;
    // NORMAL (not FULL) is safe here: documents and checkpoint commit together, so losing the
    // last commits on power loss only moves the checkpoint back and the projection replays them.
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(|e| unavailable("configuring the read-model file", &e))?;
    Ok(conn)
}

/// Whether `error` is a UNIQUE index refusing a document.
pub(super) fn is_unique_violation(error: &rusqlite::Error) -> bool {
    matches!(
        error,
        rusqlite::Error::SqliteFailure(e, _)
            if e.code == ErrorCode::ConstraintViolation
                && e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
    )
}

/// Maps a SQLite failure to `Unavailable`, naming what was being done and SQLite's error class
/// but never document data or paths (the full error goes to the log).
pub(super) fn unavailable(doing: &str, error: &rusqlite::Error) -> ReadStoreError {
    let class = match error {
        rusqlite::Error::SqliteFailure(e, _) => format!("{:?}", e.code),
        rusqlite::Error::FromSqlConversionFailure(..)
        | rusqlite::Error::IntegralValueOutOfRange(..)
        | rusqlite::Error::InvalidColumnType(..) => "corrupt row".to_owned(),
        _ => "internal error".to_owned(),
    };
    tracing::warn!(doing, error = %error, "embedded read store failure");
    ReadStoreError::Unavailable(format!("{doing}: {class}"))
}
