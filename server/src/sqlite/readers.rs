//! A small pool of read-only connections to one file. In WAL mode each statement sees a committed
//! snapshot (also of other processes' commits) and never waits for the writer, so reads need no
//! coordination beyond handing each one a connection of its own.
//!
//! At most [`MAX_READERS`] reads run at once; the others wait their turn without a thread. A
//! read is CPU work on a page cache more than it is I/O, so more at once would only add
//! blocking-pool threads (each with its own allocator arena) and connections (each with its own
//! page cache) under load, and open and close connections as the load came and went.

use std::sync::{Arc, Mutex, PoisonError};

use rusqlite::Connection;
use tokio::sync::Semaphore;

use super::{SqliteError, SqliteFile};

/// Reads of one file running at once, and so its connections: every one stays open.
pub(crate) const MAX_READERS: usize = 8;

/// Read connections to one file, opened on demand and reused.
pub(crate) struct ReaderPool {
    file: SqliteFile,
    idle: Mutex<Vec<Connection>>,
    turns: Semaphore,
}

impl ReaderPool {
    /// A pool for `file`; it opens no connection until the first read.
    pub(crate) fn new(file: SqliteFile) -> Self {
        Self {
            file,
            idle: Mutex::new(Vec::new()),
            turns: Semaphore::new(MAX_READERS),
        }
    }

    /// Runs `read` on a pooled connection on tokio's blocking pool, so SQLite's synchronous I/O
    /// never stalls the async workers. The store's error type `E` takes the pool's own failures.
    pub(crate) async fn run<T, E, F>(self: &Arc<Self>, read: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<SqliteError> + Send + 'static,
        F: FnOnce(&Connection) -> Result<T, E> + Send + 'static,
    {
        let file = self.file.name();
        // The semaphore is never closed; a failed acquire would be a bug, reported as a lost read.
        let _turn = self
            .turns
            .acquire()
            .await
            .map_err(|_| SqliteError::ReadLost { file })?;
        let pool = Arc::clone(self);
        tokio::task::spawn_blocking(move || pool.run_blocking(read))
            .await
            .map_err(|_| SqliteError::ReadLost { file })?
    }

    fn run_blocking<T, E: From<SqliteError>>(
        &self,
        read: impl FnOnce(&Connection) -> Result<T, E>,
    ) -> Result<T, E> {
        // A panic while holding the lock cannot leave the Vec inconsistent, so poison is moot.
        let pooled = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let conn = match pooled {
            Some(conn) => conn,
            None => self.file.open_reader()?,
        };
        let result = read(&conn);
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < MAX_READERS {
            idle.push(conn);
        }
        result
    }

    #[cfg(test)]
    fn idle_count(&self) -> usize {
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Barrier, atomic::Ordering};

    use super::*;
    use crate::sqlite::{Migrations, Synchronous};

    fn pool(dir: &tempfile::TempDir) -> (Connection, Arc<ReaderPool>) {
        let file = SqliteFile::new(dir.path().join("t.db"), "test file", Synchronous::Normal);
        let writer = file
            .open_writer(&Migrations::new(&["CREATE TABLE t (x INTEGER);"]))
            .expect("open writer");
        (writer, Arc::new(ReaderPool::new(file)))
    }

    fn count(conn: &Connection) -> Result<i64, SqliteError> {
        conn.query_row("SELECT COUNT(*) FROM t", [], |row| row.get(0))
            .map_err(|e| SqliteError::call("counting", e))
    }

    #[tokio::test]
    async fn reads_reuse_one_connection_and_see_new_commits() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (writer, pool) = pool(&dir);
        assert_eq!(pool.idle_count(), 0, "nothing opened before the first read");
        assert_eq!(pool.run(count).await.expect("read"), 0);
        writer
            .execute("INSERT INTO t VALUES (1)", [])
            .expect("insert");
        assert_eq!(pool.run(count).await.expect("read"), 1);
        assert_eq!(
            pool.idle_count(),
            1,
            "the second read reused the first connection"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn more_reads_at_once_than_it_allows_take_turns_on_its_connections() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (_writer, pool) = pool(&dir);
        // Reads meet in groups of MAX_READERS at a barrier: that many do run at once, and the
        // reads beyond them must wait for a turn or the barrier would never open.
        let together = Arc::new(Barrier::new(MAX_READERS));
        let running = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let most = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let reads: Vec<_> = (0..MAX_READERS * 3)
            .map(|_| {
                let (pool, together) = (Arc::clone(&pool), Arc::clone(&together));
                let (running, most) = (Arc::clone(&running), Arc::clone(&most));
                tokio::spawn(async move {
                    pool.run(move |conn| {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        together.wait();
                        running.fetch_sub(1, Ordering::SeqCst);
                        count(conn)
                    })
                    .await
                })
            })
            .collect();
        for read in reads {
            assert_eq!(read.await.expect("task").expect("read"), 0);
        }
        assert_eq!(most.load(Ordering::SeqCst), MAX_READERS);
        assert_eq!(pool.idle_count(), MAX_READERS, "every connection was kept");
    }

    #[tokio::test]
    async fn a_read_that_panics_answers_an_error_and_the_pool_still_serves() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (_writer, pool) = pool(&dir);
        let lost: Result<(), SqliteError> = pool.run(|_| panic!("a bug in a read")).await;
        assert_eq!(
            lost.expect_err("no answer").to_string(),
            "a read of the test file failed"
        );
        assert_eq!(pool.run(count).await.expect("read"), 0);
    }
}
