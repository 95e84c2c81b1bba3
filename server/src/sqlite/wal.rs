//! Switching a SQLite file to WAL, which both embedded stores do when they open it.
//!
//! Two processes (or two stores in one process) opening the same fresh file at once race for
//! the lock the switch needs, and SQLite answers the loser `SQLITE_BUSY` without consulting its
//! busy handler. The loser waits and tries again, within the same bound as any other lock wait,
//! instead of failing the whole server start.

use std::time::{Duration, Instant};

use rusqlite::{Connection, ErrorCode};

/// Pause between attempts while another connection holds the lock.
const RETRY_EVERY: Duration = Duration::from_millis(5);

/// Switches `conn`'s file to WAL; returns the journal mode SQLite reports afterwards. Retries
/// while the file is busy, for at most `patience`.
pub(super) fn switch_to_wal(conn: &Connection, patience: Duration) -> rusqlite::Result<String> {
    let deadline = Instant::now() + patience;
    loop {
        match conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0)) {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == ErrorCode::DatabaseBusy && Instant::now() < deadline =>
            {
                std::thread::sleep(RETRY_EVERY);
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn many_connections_switching_one_fresh_file_at_once_all_succeed() {
        // The race is timing-dependent: many fresh files make losing it near-certain.
        let dir = tempfile::tempdir().unwrap();
        for round in 0..20 {
            let path = dir.path().join(format!("race-{round}.db"));
            let threads: Vec<_> = (0..8)
                .map(|_| {
                    let path = path.clone();
                    std::thread::spawn(move || {
                        let conn = Connection::open(&path).unwrap();
                        switch_to_wal(&conn, Duration::from_secs(5))
                    })
                })
                .collect();
            for thread in threads {
                let mode = thread.join().unwrap().expect("no BUSY escapes");
                assert!(mode.eq_ignore_ascii_case("wal"), "{mode}");
            }
        }
    }
}
