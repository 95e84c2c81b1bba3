//! `read.db` as SQLite sees it: its versioned schema, how its connections commit, and error
//! mapping. Opening, pragmas, migration and the reader pool are `crate::sqlite`'s, shared with
//! the event store.

use std::path::PathBuf;

use rusqlite::ErrorCode;

use crate::{
    readstore::ReadStoreError,
    sqlite::{Migrations, SqliteError, SqliteFile, Synchronous},
};

/// The schema this code reads and writes; its version is kept in `PRAGMA user_version`.
pub(super) const MIGRATIONS: Migrations = Migrations::new(&[CREATE_V1, LEASES_V2]);

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

/// Leases of the runners (see `crate::lease`): who holds each, under which epoch, until when
/// (milliseconds since the Unix epoch).
const LEASES_V2: &str = "
    CREATE TABLE leases (
        name       TEXT    PRIMARY KEY,
        holder     TEXT    NOT NULL,
        epoch      INTEGER NOT NULL,
        expires_ms INTEGER NOT NULL
    );
";

/// `read.db` at `path`. Its connections commit with `synchronous=NORMAL` (not FULL), which is
/// safe here: documents and checkpoint commit together, so losing the last commits on power loss
/// only moves the checkpoint back and the projection replays them.
pub(super) fn read_models_file(path: PathBuf) -> SqliteFile {
    SqliteFile::new(path, "read-model file", Synchronous::Normal)
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
pub(super) fn unavailable(doing: &str, error: rusqlite::Error) -> ReadStoreError {
    SqliteError::call(doing, error).into()
}

impl From<SqliteError> for ReadStoreError {
    fn from(error: SqliteError) -> Self {
        Self::Unavailable(error.into_caller_message("embedded read store failure"))
    }
}
