//! Writes: one connection behind a mutex (a projection writes serially, and SQLite allows one
//! writer per file anyway), each operation one `BEGIN IMMEDIATE` transaction. Other processes
//! writing the same file wait on SQLite's lock within the busy timeout.

use std::sync::{
    Arc, Mutex, PoisonError,
    atomic::{AtomicBool, Ordering},
};

use rusqlite::{Connection, Transaction, TransactionBehavior, params};

use super::{
    read::checkpoint,
    schema::{is_unique_violation, unavailable},
    sql,
};
use crate::readstore::{IndexSpec, ReadStoreError, WriteOp, filter::validate_collection};

/// Largest document body accepted, as in MongoDB, so both adapters refuse the same documents.
const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// The write connection and the fault-injection switch.
pub(super) struct Writer {
    conn: Mutex<Connection>,
    fail_next_apply: AtomicBool,
}

impl Writer {
    pub(super) fn new(conn: Connection) -> Self {
        Self {
            conn: Mutex::new(conn),
            fail_next_apply: AtomicBool::new(false),
        }
    }

    pub(super) fn arm_fault(&self) {
        self.fail_next_apply.store(true, Ordering::SeqCst);
    }

    /// Runs `write` in one immediate transaction on the blocking pool; it commits only if
    /// `write` succeeds (dropping the transaction rolls it back).
    pub(super) async fn run<T, F>(self: &Arc<Self>, write: F) -> Result<T, ReadStoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>, &Writer) -> Result<T, ReadStoreError> + Send + 'static,
    {
        let writer = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            // The connection is consistent after a panic: its transaction was rolled back.
            let mut conn = writer.conn.lock().unwrap_or_else(PoisonError::into_inner);
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(|e| unavailable("locking the read models for writing", e))?;
            let value = write(&tx, &writer)?;
            tx.commit()
                .map_err(|e| unavailable("committing read models", e))?;
            Ok(value)
        })
        .await
        .map_err(|_| ReadStoreError::Unavailable("a write of the read models failed".to_owned()))?
    }
}

/// Applies `ops` and moves the checkpoint, unless the checkpoint is already at or beyond
/// `position` (a replayed batch).
pub(super) fn apply(
    tx: &Transaction<'_>,
    writer: &Writer,
    projection: &str,
    ops: &[WriteOp],
    position: u64,
) -> Result<(), ReadStoreError> {
    let stored = i64::try_from(position)
        .map_err(|_| ReadStoreError::Invalid("position beyond i64::MAX".to_owned()))?;
    if checkpoint(tx, projection)?.is_some_and(|applied| applied >= position) {
        return Ok(());
    }
    for op in ops {
        match op {
            WriteOp::Upsert {
                collection,
                document,
            } => upsert(tx, collection, &document.id, &document.body)?,
            WriteOp::Delete { collection, id } => {
                validate_collection(collection)?;
                tx.prepare_cached("DELETE FROM documents WHERE collection = ?1 AND id = ?2")
                    .and_then(|mut stmt| stmt.execute(params![collection, id]))
                    .map_err(|e| unavailable("deleting a document", e))?;
            }
        }
    }
    if writer.fail_next_apply.swap(false, Ordering::SeqCst) {
        return Err(ReadStoreError::Unavailable(
            "injected fault between document write and checkpoint".to_owned(),
        ));
    }
    tx.prepare_cached(
        "INSERT INTO checkpoints (projection, position) VALUES (?1, ?2) \
         ON CONFLICT (projection) DO UPDATE SET position = excluded.position",
    )
    .and_then(|mut stmt| stmt.execute(params![projection, stored]))
    .map_err(|e| unavailable("moving a checkpoint", e))?;
    Ok(())
}

fn upsert(
    tx: &Transaction<'_>,
    collection: &str,
    id: &str,
    body: &serde_json::Value,
) -> Result<(), ReadStoreError> {
    validate_collection(collection)?;
    let rejected = |why: &str| ReadStoreError::Rejected(format!("{collection}/{id}: {why}"));
    if id.is_empty() {
        return Err(rejected("empty document id"));
    }
    if !body.is_object() {
        return Err(rejected("the body is not a JSON object"));
    }
    let text = body.to_string();
    if text.len() > MAX_BODY_BYTES {
        return Err(rejected("the body exceeds 16 MiB"));
    }
    tx.prepare_cached(
        "INSERT INTO documents (collection, id, body) VALUES (?1, ?2, ?3) \
         ON CONFLICT (collection, id) DO UPDATE SET body = excluded.body",
    )
    .and_then(|mut stmt| stmt.execute(params![collection, id, text]))
    .map_err(|e| {
        if is_unique_violation(&e) {
            rejected("a unique index of the collection already holds its value")
        } else {
            unavailable("writing a document", e)
        }
    })?;
    Ok(())
}

/// Creates the indexes of `specs` that do not exist yet.
pub(super) fn ensure_indexes(
    tx: &Transaction<'_>,
    specs: &[IndexSpec],
) -> Result<(), ReadStoreError> {
    for spec in specs {
        let ddl = sql::create_index(spec)?;
        tx.execute_batch(&ddl).map_err(|e| {
            if is_unique_violation(&e) {
                ReadStoreError::Rejected(format!(
                    "{}: existing documents violate the unique index on {}",
                    spec.collection,
                    spec.fields.join(", ")
                ))
            } else {
                unavailable("creating an index", e)
            }
        })?;
    }
    Ok(())
}

/// Deletes `collection`'s documents and drops its indexes.
pub(super) fn drop_collection(
    tx: &Transaction<'_>,
    collection: &str,
) -> Result<(), ReadStoreError> {
    validate_collection(collection)?;
    let names: Vec<String> = tx
        .prepare_cached(
            "SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'documents'",
        )
        .and_then(|mut stmt| stmt.query_map([], |row| row.get(0))?.collect())
        .map_err(|e| unavailable("listing indexes", e))?;
    for name in names
        .iter()
        .filter(|name| sql::is_index_of(name, collection))
    {
        // `is_index_of` admits only `rs_<validated collection>_<hex>`: safe inside quotes.
        tx.execute_batch(&format!("DROP INDEX IF EXISTS \"{name}\""))
            .map_err(|e| unavailable("dropping an index", e))?;
    }
    tx.execute("DELETE FROM documents WHERE collection = ?1", [collection])
        .map_err(|e| unavailable("dropping a collection", e))?;
    Ok(())
}

/// Forgets `projection`'s checkpoint.
pub(super) fn reset_checkpoint(
    tx: &Transaction<'_>,
    projection: &str,
) -> Result<(), ReadStoreError> {
    tx.execute(
        "DELETE FROM checkpoints WHERE projection = ?1",
        [projection],
    )
    .map_err(|e| unavailable("resetting a checkpoint", e))?;
    Ok(())
}
