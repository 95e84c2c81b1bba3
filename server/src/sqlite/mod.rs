//! SQLite as both embedded stores use it: the event store (`events.db`) and the read store
//! (`read.db`) differ in their schemas and queries, not in how they open, configure, migrate
//! and read their files.
//!
//! Layout:
//! - `file`: [`SqliteFile`], one store's file: the pragmas of every connection (busy timeout,
//!   `synchronous`), the writer's open (WAL, migration) and the reader's (`query_only`).
//! - `wal`: switching a file to WAL, retrying while another opener holds the lock.
//! - `migrations`: [`Migrations`], a schema as numbered steps in `PRAGMA user_version`.
//! - `readers`: [`ReaderPool`], pooled read connections run on tokio's blocking pool, a bounded
//!   number at a time.
//! - `checkpoint`: [`Checkpoints`], WAL checkpoints on a thread of their own instead of inside
//!   the writer's commits.
//! - `error`: [`SqliteError`], which each store turns into its own `Unavailable`.
//!
//! Writing stays with each store: the event store's group-commit thread and the read store's
//! one locked connection have different needs.

mod checkpoint;
mod error;
mod file;
mod migrations;
mod readers;
mod wal;

pub(crate) use self::{
    checkpoint::Checkpoints,
    error::SqliteError,
    file::{SqliteFile, Synchronous},
    migrations::Migrations,
    readers::ReaderPool,
};
