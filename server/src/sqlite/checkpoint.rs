//! WAL checkpoints on a thread of their own, not on the writer's.
//!
//! By default SQLite checkpoints from inside the commit that takes the WAL past 1,000 pages:
//! that commit (and every append waiting on the writer behind it) waits while the WAL's pages
//! are copied into the database file and the file is synced, a stall of tens of milliseconds
//! every few megabytes written, which is what showed as p99 at several times p50. The writer
//! turns that off (`wal_autocheckpoint = 0`) and nudges this thread instead, which runs a
//! PASSIVE checkpoint on its own connection: it copies what no reader still needs while the
//! writer goes on appending.
//!
//! PASSIVE alone never lets the WAL start over under a steady stream of commits: SQLite
//! restarts the WAL only when a checkpoint has copied every frame and no reader still reads
//! from it, and by the time a checkpoint finishes the writer has added frames again. The WAL
//! then grew without end (4 GB after 200,000 commands), and with it the WAL index every
//! connection maps into memory (the resident memory that kept growing) and the time to find a
//! page in it. So once the WAL holds more than [`RESTART_FRAMES`], the thread runs a RESTART
//! checkpoint: it holds the writer off while it copies the few frames the PASSIVE runs left
//! and waits for readers to move to the database file, so the next commit starts the WAL from
//! its beginning; `journal_size_limit` then cuts the file back. That pause is short because
//! the PASSIVE runs did the copying.

use std::{
    sync::mpsc::{self, SyncSender, TrySendError},
    thread::JoinHandle,
};

use rusqlite::Connection;

use super::{SqliteError, SqliteFile};

/// Bytes written since the last nudge after which the writer nudges again: small enough that
/// each checkpoint is short, large enough that checkpoints are rare beside commits.
pub(crate) const NUDGE_EVERY_BYTES: usize = 1 << 20;

/// Frames (pages) in the WAL past which a checkpoint makes it start over: 16 MiB of 4 KiB
/// pages.
const RESTART_FRAMES: i64 = 4096;

/// What the WAL file is cut back to when it starts over.
const WAL_SIZE_LIMIT: i64 = 16 << 20;

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
        writer
            .pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT)
            .map_err(|e| SqliteError::call("limiting the WAL's size", e))?;
        let conn = file.open_checkpointer()?;
        // One nudge waiting is enough: a checkpoint copies whatever is there when it runs.
        let (nudges, nudged) = mpsc::sync_channel(1);
        let name = file.name();
        let thread = std::thread::Builder::new()
            .name("causeway-checkpoint".to_owned())
            .spawn(move || {
                for () in nudged {
                    if let Err(e) = checkpoint(&conn) {
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

/// A PASSIVE checkpoint, then a RESTART one when the WAL is still long.
fn checkpoint(conn: &Connection) -> rusqlite::Result<()> {
    // (busy, frames in the WAL, frames copied)
    let frames: i64 = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| row.get(1))?;
    if frames > RESTART_FRAMES {
        conn.query_row("PRAGMA wal_checkpoint(RESTART)", [], |_| Ok(()))?;
    }
    Ok(())
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
        // Well past SQLite's own 1,000-page threshold and ours, with no nudge: nothing is copied.
        let blob = vec![7u8; 64 * 1024];
        for _ in 0..300 {
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
