//! WAL checkpoints on a thread of their own, not on the writer's.
//!
//! By default SQLite checkpoints from inside the commit that takes the WAL past 1,000 pages:
//! that commit (and every append waiting on the writer behind it) waits while the WAL's pages
//! are copied into the database file and the file is synced, a stall of tens of milliseconds
//! every few megabytes written, which is what showed as p99 at several times p50. The writer
//! turns that off (`wal_autocheckpoint = 0`) and nudges this thread instead, which runs a
//! PASSIVE checkpoint on its own connection: it copies what no reader still needs while the
//! writer goes on appending, and SQLite starts the WAL over once a checkpoint completed.

use std::{
    sync::mpsc::{self, SyncSender, TrySendError},
    thread::JoinHandle,
};

use rusqlite::Connection;

use super::{SqliteError, SqliteFile};

/// Bytes written since the last nudge after which the writer nudges again: small enough that
/// each checkpoint is short, large enough that checkpoints are rare beside commits.
pub(crate) const NUDGE_EVERY_BYTES: usize = 1 << 20;

/// The checkpointing thread of one file.
pub(crate) struct Checkpoints {
    nudges: Option<SyncSender<()>>,
    thread: Option<JoinHandle<()>>,
    written: usize,
}

impl Checkpoints {
    /// Turns automatic checkpoints off on `writer` and starts the thread that takes them over,
    /// with a connection of its own to `file`.
    pub(crate) fn start(file: &SqliteFile, writer: &Connection) -> Result<Self, SqliteError> {
        writer
            .pragma_update(None, "wal_autocheckpoint", 0)
            .map_err(|e| SqliteError::call("turning off automatic checkpoints", e))?;
        let conn = file.open_checkpointer()?;
        // One nudge waiting is enough: a checkpoint copies whatever is there when it runs.
        let (nudges, nudged) = mpsc::sync_channel(1);
        let name = file.name();
        let thread = std::thread::Builder::new()
            .name("causeway-checkpoint".to_owned())
            .spawn(move || {
                for () in nudged {
                    if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                        tracing::debug!(file = name, error = %e, "a WAL checkpoint failed; the next nudge tries again");
                    }
                }
            })
            .map_err(|e| SqliteError::Thread {
                what: "the checkpoint thread",
                reason: e.to_string(),
            })?;
        Ok(Self {
            nudges: Some(nudges),
            thread: Some(thread),
            written: 0,
        })
    }

    /// Counts `bytes` just committed; past [`NUDGE_EVERY_BYTES`] since the last nudge, asks
    /// for a checkpoint (never waits: a nudge already pending covers this one).
    pub(crate) fn wrote(&mut self, bytes: usize) {
        self.written += bytes;
        if self.written < NUDGE_EVERY_BYTES {
            return;
        }
        self.written = 0;
        if let Some(nudges) = &self.nudges {
            match nudges.try_send(()) {
                Ok(()) | Err(TrySendError::Full(())) => {}
                Err(TrySendError::Disconnected(())) => self.nudges = None,
            }
        }
    }
}

impl Drop for Checkpoints {
    /// Stops the thread and waits for its checkpoint in progress, so its connection is closed
    /// with the store.
    fn drop(&mut self) {
        drop(self.nudges.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sqlite::{Migrations, Synchronous};

    #[test]
    fn the_writer_no_longer_checkpoints_and_a_nudge_makes_the_thread_do_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let file = SqliteFile::new(path.clone(), "test file", Synchronous::Normal);
        let writer = file
            .open_writer(&Migrations::new(&["CREATE TABLE t (x BLOB);"]))
            .unwrap();
        let mut checkpoints = Checkpoints::start(&file, &writer).unwrap();
        let db_bytes = || std::fs::metadata(&path).unwrap().len();
        let empty = db_bytes();
        // Well past SQLite's own 1,000-page threshold, with no nudge: nothing is copied.
        let blob = vec![7u8; 64 * 1024];
        for _ in 0..100 {
            writer
                .execute("INSERT INTO t VALUES (?1)", [&blob])
                .unwrap();
        }
        assert_eq!(db_bytes(), empty, "the writer checkpointed by itself");
        // A nudge, then dropping (which waits for the thread's pending checkpoint).
        checkpoints.wrote(NUDGE_EVERY_BYTES);
        drop(checkpoints);
        assert!(
            db_bytes() > 100 * 64 * 1024,
            "the thread did not checkpoint"
        );
    }
}
