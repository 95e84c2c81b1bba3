//! A small pool of read-only connections to one file. In WAL mode each statement sees a committed
//! snapshot (also of other processes' commits) and never waits for the writer, so reads need no
//! coordination beyond handing each one a connection of its own.

use std::sync::{Arc, Mutex, PoisonError};

use rusqlite::Connection;

use super::{SqliteError, SqliteFile};

/// Idle read connections kept open; more are opened under load and closed afterwards.
const MAX_IDLE: usize = 4;

/// Read connections to one file, opened on demand and reused.
pub(crate) struct ReaderPool {
    file: SqliteFile,
    idle: Mutex<Vec<Connection>>,
}

impl ReaderPool {
    /// A pool for `file`; it opens no connection until the first read.
    pub(crate) fn new(file: SqliteFile) -> Self {
        Self {
            file,
            idle: Mutex::new(Vec::new()),
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
        let pool = Arc::clone(self);
        let file = self.file.name();
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
        if idle.len() < MAX_IDLE {
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
    use std::sync::Barrier;

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
    async fn more_reads_at_once_than_it_keeps_all_run_and_the_idle_set_stays_bounded() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (_writer, pool) = pool(&dir);
        let at_once = MAX_IDLE * 2;
        // Every read holds its connection until all of them hold one: they are truly concurrent.
        let all_in = Arc::new(Barrier::new(at_once));
        let reads: Vec<_> = (0..at_once)
            .map(|_| {
                let (pool, all_in) = (Arc::clone(&pool), Arc::clone(&all_in));
                tokio::spawn(async move {
                    pool.run(move |conn| {
                        all_in.wait();
                        count(conn)
                    })
                    .await
                })
            })
            .collect();
        for read in reads {
            assert_eq!(read.await.expect("task").expect("read"), 0);
        }
        assert_eq!(pool.idle_count(), MAX_IDLE);
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
