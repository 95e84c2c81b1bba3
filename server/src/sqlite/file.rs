//! Opening a store's SQLite file: the pragmas every connection gets, the writer's switch to WAL
//! and migration, and the reader's `query_only`. Everything here is synchronous; callers run it
//! at start-up, on a writer thread or under `spawn_blocking`.

use std::{path::PathBuf, time::Duration};

use rusqlite::Connection;

use super::{SqliteError, migrations::Migrations, wal::switch_to_wal};

/// The memory SQLite may keep for all connections of the process together (`PRAGMA
/// soft_heap_limit`): past it, SQLite reuses page-cache pages instead of allocating more. Each
/// connection's own cache (2 MiB by default) would otherwise fill as the files grow, one
/// connection after the other, about 40 MiB for both stores' readers and writers, and resident
/// memory kept climbing long after start. What is not cached here is in the OS's page cache.
const HEAP_LIMIT_BYTES: i64 = 24 << 20;

/// How long a connection waits for another one (maybe in another process: one role writing
/// while others read) to release SQLite's write lock before the operation fails.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// `PRAGMA synchronous`: when a commit counts as done relative to the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Synchronous {
    /// A commit returns once it is fsynced: it survives power loss.
    Full,
    /// A commit returns once it is in the WAL: it survives a process crash, but the last
    /// commits may be lost on power loss or an OS crash.
    Normal,
}

impl Synchronous {
    fn pragma_value(self) -> &'static str {
        match self {
            Self::Full => "FULL",
            Self::Normal => "NORMAL",
        }
    }
}

/// One store's SQLite file and how its connections are configured.
#[derive(Debug, Clone)]
pub(crate) struct SqliteFile {
    path: PathBuf,
    name: &'static str,
    synchronous: Synchronous,
}

impl SqliteFile {
    /// The file at `path`, called `name` in messages (e.g. "event file"), whose connections
    /// commit with `synchronous`.
    pub(crate) fn new(path: PathBuf, name: &'static str, synchronous: Synchronous) -> Self {
        Self {
            path,
            name,
            synchronous,
        }
    }

    /// What messages call the file.
    pub(crate) fn name(&self) -> &'static str {
        self.name
    }

    /// Opens the connection that writes: switches the file to WAL (which lets readers, also in
    /// other processes, read a committed snapshot while the writer commits; the mode persists in
    /// the file) and brings its schema to the newest of `migrations`.
    pub(crate) fn open_writer(&self, migrations: &Migrations) -> Result<Connection, SqliteError> {
        let mut conn = self.open()?;
        let mode =
            switch_to_wal(&conn, BUSY_TIMEOUT).map_err(|e| SqliteError::call("enabling WAL", e))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(SqliteError::WalRefused {
                file: self.name,
                mode,
            });
        }
        migrations.apply(&mut conn, self.name)?;
        Ok(conn)
    }

    /// Opens a connection for reads only; `query_only` turns a stray write into an error.
    pub(crate) fn open_reader(&self) -> Result<Connection, SqliteError> {
        let conn = self.open()?;
        conn.pragma_update(None, "query_only", true)
            .map_err(|e| SqliteError::call("configuring a reader", e))?;
        Ok(conn)
    }

    /// Opens the connection that checkpoints the WAL for the writer (see `checkpoint`).
    pub(crate) fn open_checkpointer(&self) -> Result<Connection, SqliteError> {
        self.open()
    }

    fn open(&self) -> Result<Connection, SqliteError> {
        let conn = Connection::open(&self.path)
            .map_err(|e| SqliteError::call(format!("opening the {}", self.name), e))?;
        let configuring = |e| SqliteError::call(format!("configuring the {}", self.name), e);
        conn.busy_timeout(BUSY_TIMEOUT).map_err(configuring)?;
        // Process-wide; every connection sets the same value.
        conn.query_row(
            &format!("PRAGMA soft_heap_limit = {HEAP_LIMIT_BYTES}"),
            [],
            |_| Ok(()),
        )
        .map_err(configuring)?;
        conn.pragma_update(None, "synchronous", self.synchronous.pragma_value())
            .map_err(configuring)?;
        Ok(conn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE_TABLE: Migrations = Migrations::new(&["CREATE TABLE t (x INTEGER);"]);

    fn file(dir: &tempfile::TempDir, synchronous: Synchronous) -> SqliteFile {
        SqliteFile::new(dir.path().join("t.db"), "test file", synchronous)
    }

    fn pragma(conn: &Connection, name: &str) -> String {
        conn.pragma_query_value(None, name, |row| row.get::<_, rusqlite::types::Value>(0))
            .map(|v| format!("{v:?}"))
            .expect("pragma")
    }

    #[test]
    fn the_writer_is_in_wal_with_the_chosen_synchronous_and_a_busy_timeout() {
        let dir = tempfile::tempdir().expect("temp dir");
        for (synchronous, level) in [(Synchronous::Full, "2"), (Synchronous::Normal, "1")] {
            let conn = file(&dir, synchronous)
                .open_writer(&ONE_TABLE)
                .expect("open");
            assert_eq!(pragma(&conn, "journal_mode"), "Text(\"wal\")");
            assert_eq!(pragma(&conn, "synchronous"), format!("Integer({level})"));
            assert_eq!(pragma(&conn, "busy_timeout"), "Integer(5000)");
        }
    }

    #[test]
    fn a_reader_sees_the_writers_commits_and_refuses_to_write() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = file(&dir, Synchronous::Normal);
        let writer = file.open_writer(&ONE_TABLE).expect("open writer");
        writer
            .execute("INSERT INTO t VALUES (7)", [])
            .expect("insert");
        let reader = file.open_reader().expect("open reader");
        let x: i64 = reader
            .query_row("SELECT x FROM t", [], |row| row.get(0))
            .expect("read");
        assert_eq!(x, 7);
        assert!(reader.execute("INSERT INTO t VALUES (8)", []).is_err());
    }

    #[test]
    fn a_file_that_cannot_be_opened_names_the_file_kind_but_not_its_path() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("missing-dir").join("t.db");
        let error = SqliteFile::new(path, "test file", Synchronous::Full)
            .open_reader()
            .expect_err("no such directory");
        let message = error.to_string();
        assert!(message.starts_with("opening the test file: "), "{message}");
        assert!(!message.contains("missing-dir"), "{message}");
    }
}
