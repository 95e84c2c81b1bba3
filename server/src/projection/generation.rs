//! Rebuild generations. A projection's documents and checkpoint live under a generation number;
//! a rebuild fills generation N+1 from position 0 while queries keep reading generation N, then a
//! control document switches readers over in one write.

use serde_json::json;

use crate::readstore::{Document, ReadStore, ReadStoreError, WriteOp};

/// Collection of the control documents, one per projection: `{ "generation": N }`.
pub const CONTROL_COLLECTION: &str = "projections";

/// The physical name of a logical collection in `generation`.
pub fn collection(logical: &str, generation: u64) -> String {
    format!("{logical}_g{generation}")
}

/// The checkpoint key of a projection's `generation`.
pub fn checkpoint_key(projection: &str, generation: u64) -> String {
    format!("{projection}_g{generation}")
}

/// The checkpoint key under which generation switches are written; its "position" is the
/// generation number, so a stale switch is ignored by the store's checkpoint guard.
fn control_key(projection: &str) -> String {
    format!("{projection}_control")
}

/// The id of the control document naming the highest generation a rebuild was started into.
fn started_id(projection: &str) -> String {
    format!("{projection}#rebuilding")
}

/// The checkpoint key under which rebuilds are claimed; its "position" is the generation.
fn claim_key(projection: &str) -> String {
    format!("{projection}_rebuilds")
}

/// The highest generation a rebuild of `projection` was ever started into (0: none).
pub async fn last_started(reads: &dyn ReadStore, projection: &str) -> Result<u64, ReadStoreError> {
    Ok(stored_generation(reads, &started_id(projection))
        .await?
        .unwrap_or(0))
}

/// The commit claiming `generation` for a rebuild, made (under the lease's fence) before
/// anything of that generation is dropped or reset. A replica that lost its lease cannot make
/// it, and its successor starts its own rebuilds above every generation claimed before, so a
/// former leader waking up late never drops or resets a generation its successor fills.
pub fn claim(projection: &str, generation: u64) -> (String, Vec<WriteOp>) {
    (
        claim_key(projection),
        vec![generation_write(started_id(projection), generation)],
    )
}

/// The generation queries read; 1 before any rebuild.
pub async fn active(reads: &dyn ReadStore, projection: &str) -> Result<u64, ReadStoreError> {
    Ok(stored_generation(reads, projection).await?.unwrap_or(1))
}

/// The commit that points readers at `generation`: its checkpoint key and write, committed at
/// "position" `generation` (the runner commits it under its lease's fence).
pub fn activation(projection: &str, generation: u64) -> (String, Vec<WriteOp>) {
    (
        control_key(projection),
        vec![generation_write(projection.to_owned(), generation)],
    )
}

/// The generation the control document `id` holds, if any.
async fn stored_generation(reads: &dyn ReadStore, id: &str) -> Result<Option<u64>, ReadStoreError> {
    Ok(reads
        .get(CONTROL_COLLECTION, id)
        .await?
        .and_then(|doc| doc.body.get("generation").and_then(|g| g.as_u64())))
}

/// Writes `generation` into the control document `id`.
fn generation_write(id: String, generation: u64) -> WriteOp {
    WriteOp::Upsert {
        collection: CONTROL_COLLECTION.to_owned(),
        document: Document {
            id,
            body: json!({ "generation": generation }),
        },
    }
}
