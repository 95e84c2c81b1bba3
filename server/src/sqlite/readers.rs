//! A small pool of read-only connections to one file, each owned by a reader thread of its own.
//! In WAL mode each statement sees a committed snapshot (also of other processes' commits) and
//! never waits for the writer, so reads need no coordination beyond a connection each.
//!
//! At most [`MAX_READERS`] threads (and connections) per file, started as reads first need them
//! and kept: reads wait their turn in the pool's queue, not in threads. A read is CPU work on a
//! page cache more than it is I/O, so more at once would only add threads (each with its own
//! allocator arena) and connections (each with its own page cache). Tokio's blocking pool was
//! the first home of these reads: under thousands of short reads a second it kept starting
//! threads (one whenever none was idle at that instant) that lingered for ten seconds each,
//! dozens of them, and a connection was opened and closed whenever more than a few were busy.

use std::{
    collections::VecDeque,
    panic::AssertUnwindSafe,
    sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError},
};

use rusqlite::Connection;
use tokio::sync::oneshot;

use super::{SqliteError, SqliteFile};

/// Reader threads, and so connections, of one file at most.
pub(crate) const MAX_READERS: usize = 4;

/// One read waiting for a reader thread: it gets the thread's connection, or why there is none.
type Job = Box<dyn FnOnce(Result<&Connection, SqliteError>) + Send>;

/// Read connections to one file, each on a thread of its own.
pub(crate) struct ReaderPool {
    file: SqliteFile,
    queue: Arc<Queue>,
}

/// The reads waiting and the threads that take them.
struct Queue {
    state: Mutex<Waiting>,
    ready: Condvar,
}

struct Waiting {
    jobs: VecDeque<Job>,
    threads: usize,
    /// Threads running a job whose answer is not yet sent.
    busy: usize,
    closed: bool,
}

/// Marks its job's thread free again when dropped: just before the answer is sent (so a caller
/// that has its answer and queues the next read finds the thread free), or while a panicking
/// job unwinds.
struct Done(Arc<Queue>);

impl Drop for Done {
    fn drop(&mut self) {
        self.0.lock().busy -= 1;
    }
}

impl ReaderPool {
    /// A pool for `file`; it starts no thread and opens no connection until the first read.
    pub(crate) fn new(file: SqliteFile) -> Self {
        Self {
            file,
            queue: Arc::new(Queue {
                state: Mutex::new(Waiting {
                    jobs: VecDeque::new(),
                    threads: 0,
                    busy: 0,
                    closed: false,
                }),
                ready: Condvar::new(),
            }),
        }
    }

    /// Runs `read` on one of the pool's connections, on its reader thread, so SQLite's
    /// synchronous I/O never stalls the async workers. The store's error type `E` takes the
    /// pool's own failures.
    pub(crate) async fn run<T, E, F>(self: &Arc<Self>, read: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<SqliteError> + Send + 'static,
        F: FnOnce(&Connection) -> Result<T, E> + Send + 'static,
    {
        let file = self.file.name();
        let (reply, answer) = oneshot::channel();
        let done = Done(Arc::clone(&self.queue));
        let job: Job = Box::new(move |conn| {
            let result = match conn {
                Ok(conn) => read(conn),
                Err(e) => Err(E::from(e)),
            };
            drop(done);
            let _ = reply.send(result);
        });
        self.queue_job(job)?;
        // No answer: the read panicked (its reply was dropped), or the pool could not start.
        answer.await.map_err(|_| SqliteError::ReadLost { file })?
    }

    /// Queues `job`, starting a thread when every thread is taken and there may be more.
    fn queue_job(&self, job: Job) -> Result<(), SqliteError> {
        let mut waiting = self.queue.lock();
        waiting.jobs.push_back(job);
        let free = waiting.threads - waiting.busy;
        if waiting.jobs.len() <= free || waiting.threads >= MAX_READERS {
            self.queue.ready.notify_one();
            return Ok(());
        }
        waiting.threads += 1;
        drop(waiting);
        let (queue, file) = (Arc::clone(&self.queue), self.file.clone());
        let started = std::thread::Builder::new()
            .name("causeway-reader".to_owned())
            .spawn(move || serve(&queue, &file));
        if let Err(e) = started {
            let mut waiting = self.queue.lock();
            waiting.threads -= 1;
            // Without any thread, nobody would take the reads: drop them (their callers hear
            // that they were lost) rather than leave them waiting.
            if waiting.threads == 0 {
                waiting.jobs.clear();
            }
            return Err(SqliteError::Thread {
                what: "a reader thread",
                reason: e.to_string(),
            });
        }
        Ok(())
    }

    #[cfg(test)]
    fn threads(&self) -> usize {
        self.queue.lock().threads
    }
}

impl Drop for ReaderPool {
    /// Lets the reader threads finish what is queued and end, closing their connections.
    fn drop(&mut self) {
        self.queue.lock().closed = true;
        self.queue.ready.notify_all();
    }
}

impl Queue {
    fn lock(&self) -> MutexGuard<'_, Waiting> {
        // Every change under the lock is a push, a pop or a counter: never half done.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The next job, waiting for one; `None` once the pool is gone and nothing is queued.
    fn next(&self) -> Option<Job> {
        let mut waiting = self.lock();
        loop {
            if let Some(job) = waiting.jobs.pop_front() {
                waiting.busy += 1;
                return Some(job);
            }
            if waiting.closed {
                waiting.threads -= 1;
                return None;
            }
            waiting = self
                .ready
                .wait(waiting)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}

/// A reader thread: opens its connection (again after a failure) and runs jobs on it until the
/// pool is gone. A job that panics loses its answer, not the thread.
fn serve(queue: &Queue, file: &SqliteFile) {
    let mut conn: Option<Connection> = None;
    while let Some(job) = queue.next() {
        if conn.is_none() {
            match file.open_reader() {
                Ok(opened) => conn = Some(opened),
                Err(e) => {
                    job(Err(e));
                    continue;
                }
            }
        }
        if let Some(conn) = &conn {
            let _ = std::panic::catch_unwind(AssertUnwindSafe(|| job(Ok(conn))));
        }
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
        assert_eq!(pool.threads(), 0, "nothing started before the first read");
        assert_eq!(pool.run(count).await.expect("read"), 0);
        writer
            .execute("INSERT INTO t VALUES (1)", [])
            .expect("insert");
        assert_eq!(pool.run(count).await.expect("read"), 1);
        for _ in 0..10 {
            assert_eq!(pool.run(count).await.expect("read"), 1);
        }
        assert_eq!(
            pool.threads(),
            1,
            "one read after the other: one thread, one connection"
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
        assert_eq!(
            pool.threads(),
            MAX_READERS,
            "every thread and connection was kept"
        );
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
