//! A store's schema as numbered steps, kept in `PRAGMA user_version`. Version 0 is an empty file;
//! version `n` means the first `n` steps have run. A file with a higher version than this build
//! knows was written by newer code and is refused, not guessed at.

use rusqlite::{Connection, TransactionBehavior};

use super::SqliteError;

/// The steps that build a store's schema, oldest first; step `i` (from 0) takes the file from
/// version `i` to `i + 1`. Steps are only ever appended: a released step never changes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Migrations {
    steps: &'static [&'static str],
}

impl Migrations {
    /// The schema built by `steps` (SQL batches), oldest first.
    pub(crate) const fn new(steps: &'static [&'static str]) -> Self {
        Self { steps }
    }

    /// The version a file has once every step has run.
    pub(crate) fn latest(&self) -> i64 {
        i64::try_from(self.steps.len()).unwrap_or(i64::MAX)
    }

    /// Runs the steps `conn`'s file has not had yet, and records the new version, in one
    /// `BEGIN IMMEDIATE` transaction: two processes opening the same file at once cannot both
    /// run a step, and a step that fails leaves the file as it was. `file` names it in errors.
    pub(crate) fn apply(
        &self,
        conn: &mut Connection,
        file: &'static str,
    ) -> Result<(), SqliteError> {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| SqliteError::call(format!("locking the {file} for migration"), e))?;
        let found: i64 = tx
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .map_err(|e| SqliteError::call("reading the schema version", e))?;
        let known = self.latest();
        // A negative version was never written by any build: refused like a newer one.
        let done = match usize::try_from(found) {
            Ok(done) if found <= known => done,
            _ => return Err(SqliteError::UnknownVersion { file, found, known }),
        };
        if done < self.steps.len() {
            for step in &self.steps[done..] {
                tx.execute_batch(step)
                    .map_err(|e| SqliteError::call("creating the schema", e))?;
            }
            tx.pragma_update(None, "user_version", known)
                .map_err(|e| SqliteError::call("recording the schema version", e))?;
        }
        tx.commit()
            .map_err(|e| SqliteError::call("committing the schema", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const V1: &str = "CREATE TABLE a (x INTEGER);";
    const V2: &str = "CREATE TABLE b (y INTEGER); INSERT INTO b VALUES (1);";

    fn migrate(conn: &mut Connection, steps: &'static [&'static str]) -> Result<(), SqliteError> {
        Migrations::new(steps).apply(conn, "test file")
    }

    fn count(conn: &Connection, sql: &str) -> i64 {
        conn.query_row(sql, [], |row| row.get(0)).expect("count")
    }

    fn version(conn: &Connection) -> i64 {
        count(conn, "SELECT user_version FROM pragma_user_version")
    }

    #[test]
    fn a_fresh_file_gets_every_step_and_the_latest_version() {
        let mut conn = Connection::open_in_memory().expect("open");
        migrate(&mut conn, &[V1, V2]).expect("migrate");
        assert_eq!(version(&conn), 2);
        assert_eq!(count(&conn, "SELECT COUNT(*) FROM b"), 1);
    }

    #[test]
    fn applying_again_changes_nothing() {
        let mut conn = Connection::open_in_memory().expect("open");
        migrate(&mut conn, &[V1, V2]).expect("first");
        // A step run again would fail on its CREATE TABLE, or insert a second row.
        migrate(&mut conn, &[V1, V2]).expect("second");
        assert_eq!(count(&conn, "SELECT COUNT(*) FROM b"), 1);
        assert_eq!(version(&conn), 2);
    }

    #[test]
    fn an_older_file_gets_only_the_steps_it_lacks() {
        let mut conn = Connection::open_in_memory().expect("open");
        migrate(&mut conn, &[V1]).expect("v1");
        assert_eq!(version(&conn), 1);
        migrate(&mut conn, &[V1, V2]).expect("v2");
        assert_eq!(version(&conn), 2);
        assert_eq!(count(&conn, "SELECT COUNT(*) FROM b"), 1);
    }

    #[test]
    fn a_newer_or_negative_version_is_refused_and_left_alone() {
        for found in [3, -1] {
            let mut conn = Connection::open_in_memory().expect("open");
            conn.pragma_update(None, "user_version", found)
                .expect("set version");
            let error = migrate(&mut conn, &[V1, V2]).expect_err("refused");
            assert_eq!(
                error.to_string(),
                format!("the test file has schema version {found}; this build understands up to 2")
            );
            assert_eq!(version(&conn), found);
            assert_eq!(count(&conn, "SELECT COUNT(*) FROM sqlite_schema"), 0);
        }
    }

    #[test]
    fn a_failing_step_leaves_the_file_at_its_old_version() {
        let mut conn = Connection::open_in_memory().expect("open");
        migrate(&mut conn, &[V1]).expect("v1");
        let error = migrate(&mut conn, &[V1, "CREATE TABLE a (z INTEGER);"])
            .expect_err("step 2 clashes with step 1");
        let message = error.to_string();
        assert!(message.starts_with("creating the schema: "), "{message}");
        assert_eq!(version(&conn), 1);
    }
}
