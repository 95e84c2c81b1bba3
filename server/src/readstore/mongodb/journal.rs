//! Committing a batch on a standalone server, which has no multi-document transactions: a
//! redo journal with a commit marker, so that a batch is either applied whole or not at all
//! once its writer has looked again, and an event is never applied twice.
//!
//! 1. The batch's writes (the stored documents, position-stamped) and the prior state of every
//!    document it touches go into `causeway.journal` under (checkpoint key, position, seq).
//! 2. The commit point: one update of the checkpoint document sets `pending: {position, entries}`.
//!    A crash before it leaves a journal no marker points at, which the next batch discards;
//!    the documents were not touched.
//! 3. The writes are applied (unordered; see `batch`).
//! 4. One update moves `position` and clears `pending`; the journal is deleted.
//!
//! A crash (or an outage) during 3 leaves `pending` set and some documents ahead of the
//! checkpoint. Before the projection's writer reads anything of that checkpoint again it asks for
//! the checkpoint, and the writer store finishes the pending batch first: it re-applies the
//! journal (each write sets a whole document to a fixed value, so applying twice changes
//! nothing) and only then returns the new position. The projection therefore never folds an
//! event into a document that already holds it, and its own revision guard would catch a
//! redelivery anyway. If step 3 meets a real unique-index violation, the prior states are
//! written back and the batch is `Rejected` with nothing of it left.
//!
//! Readers in other processes (`--role query`) never finish batches: they read the last
//! completed position, which only moves after step 4, so read-your-writes holds, while a query
//! running during step 3 may see part of a batch early (each document as of before or after it).

use futures::TryStreamExt;
use mongodb::bson::{Bson, Document, RawDocumentBuf, doc};
use tracing::{debug, info};

use super::{
    Inner,
    batch::{self, Plan, Target, Upsert, Writes},
    convert::{MAX_DOCUMENT_BYTES, encoded_size, from_raw},
    errors::{Failure, unavailable},
    leases::{check_fence, commit_filter, commit_refused, fence_field},
    stored_position,
};
use crate::{lease::Fence, readstore::ReadStoreError};

/// A batch between its commit point and its completion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Pending {
    /// The batch's position.
    pub(super) position: i64,
    /// How many journal entries it has.
    pub(super) entries: i64,
}

/// The marker of the checkpoint document `stored`, if any.
pub(super) fn pending(stored: &Document) -> Option<Pending> {
    let marker = stored.get_document("pending").ok()?;
    let number = |field: &str| match marker.get(field)? {
        Bson::Int64(n) => Some(*n),
        Bson::Int32(n) => Some(i64::from(*n)),
        _ => None,
    };
    Some(Pending {
        position: number("position")?,
        entries: number("entries")?,
    })
}

/// Applies `plan` and moves `key`'s checkpoint to `position` through the journal. The caller
/// holds `key`'s lock and has finished any pending batch of `key`. Under a `fence`, the lease
/// is checked first and the commit point is refused once a later epoch committed to `key`.
pub(super) async fn apply(
    inner: &Inner,
    key: &str,
    plan: &Plan,
    position: i64,
    fail_after_documents: bool,
    fence: Option<&Fence>,
) -> Result<(), ReadStoreError> {
    if let Some(fence) = fence {
        check_fence(&inner.leases, fence).await?;
    }
    let stored = inner
        .checkpoints
        .find_one(doc! { "_id": key })
        .await
        .map_err(|e| unavailable("reading a checkpoint", &e))?;
    if stored
        .as_ref()
        .and_then(stored_position)
        .is_some_and(|applied| applied >= position)
    {
        return Ok(());
    }
    if plan.is_empty() {
        return set_position(inner, key, position, fence).await;
    }
    let entries = entries(inner, key, plan, position).await?;
    let count = i64::try_from(entries.len()).unwrap_or(i64::MAX);
    let journal_key = doc! { "_id.k": key };
    inner
        .journal
        .delete_many(journal_key)
        .await
        .map_err(|e| unavailable("clearing the journal", &e))?;
    inner
        .journal
        .insert_many(entries)
        .ordered(false)
        .await
        .map_err(|e| unavailable("writing the journal", &e))?;
    let mut marker = doc! { "pending": { "position": position, "entries": count } };
    marker.extend(fence_field(fence));
    inner
        .checkpoints
        .update_one(commit_filter(key, fence), doc! { "$set": marker })
        .upsert(true)
        .await
        .map_err(|e| commit_refused("marking a batch pending", &e, fence))?;
    let pending = Pending {
        position,
        entries: count,
    };
    finish(inner, key, pending, fail_after_documents).await
}

/// Moves the checkpoint of a batch without documents.
async fn set_position(
    inner: &Inner,
    key: &str,
    position: i64,
    fence: Option<&Fence>,
) -> Result<(), ReadStoreError> {
    let mut set = doc! { "position": position };
    set.extend(fence_field(fence));
    inner
        .checkpoints
        .update_one(commit_filter(key, fence), doc! { "$set": set })
        .upsert(true)
        .await
        .map_err(|e| commit_refused("moving a checkpoint", &e, fence))?;
    Ok(())
}

/// The journal entries of `plan`: one per write (`put` or `del`), then one per touched document
/// with its prior state (`was`, null when it did not exist). Entries too large for MongoDB reject
/// the batch before anything is written.
async fn entries(
    inner: &Inner,
    key: &str,
    plan: &Plan,
    position: i64,
) -> Result<Vec<Document>, ReadStoreError> {
    let mut entries = Vec::new();
    let mut entry = |collection: &str, id: &str, field: &str, value: Bson| {
        let seq = i64::try_from(entries.len()).unwrap_or(i64::MAX);
        let entry = doc! {
            "_id": { "k": key, "p": position, "s": seq },
            "c": collection, "i": id, field: value,
        };
        if encoded_size(&entry).unwrap_or(usize::MAX) > MAX_DOCUMENT_BYTES {
            return Err(ReadStoreError::Rejected(format!(
                "{collection}/{id}: too large to journal on a standalone MongoDB server (its \
                 documents must leave room for the journal's few hundred bytes of framing)"
            )));
        }
        entries.push(entry);
        Ok(())
    };
    for (collection, writes) in &plan.collections {
        for id in &writes.deletes {
            entry(collection, id, "del", Bson::Boolean(true))?;
        }
        for upsert in &writes.upserts {
            entry(
                collection,
                &upsert.id,
                "put",
                Bson::Document(upsert.document.clone()),
            )?;
        }
    }
    for (collection, ids) in plan.touched() {
        let wanted: Vec<Bson> = ids.iter().map(|id| Bson::String((*id).clone())).collect();
        let raw: Vec<RawDocumentBuf> = inner
            .db
            .collection::<RawDocumentBuf>(collection)
            .find(doc! { "_id": { "$in": wanted } })
            .await
            .map_err(|e| unavailable("reading documents before a batch", &e))?
            .try_collect()
            .await
            .map_err(|e| unavailable("reading documents before a batch", &e))?;
        let mut prior = raw
            .iter()
            .map(|raw| from_raw(raw))
            .collect::<Option<Vec<Document>>>()
            .ok_or_else(|| {
                ReadStoreError::Unavailable(format!("a document in {collection} is corrupt"))
            })?;
        for id in ids {
            let found = prior
                .iter()
                .position(|d| d.get_str("_id").is_ok_and(|i| i == id.as_str()))
                .map(|at| prior.swap_remove(at));
            entry(
                collection,
                id,
                "was",
                found.map_or(Bson::Null, Bson::Document),
            )?;
        }
    }
    Ok(entries)
}

/// Completes the pending batch of `key`: re-applies its writes and moves the checkpoint, or,
/// when a unique index refuses them, restores the prior documents and clears the marker
/// (`Rejected`). The caller holds `key`'s lock.
pub(super) async fn finish(
    inner: &Inner,
    key: &str,
    pending: Pending,
    fail_after_documents: bool,
) -> Result<(), ReadStoreError> {
    let (redo, undo) = read_journal(inner, key, pending).await?;
    let mut target = Target {
        db: &inner.db,
        session: None,
        write_concern: inner.db.write_concern(),
    };
    let outcome = batch::write(&mut target, &redo, &Default::default()).await;
    let marker = doc! { "_id": key, "pending.position": pending.position };
    match outcome {
        Ok(()) if fail_after_documents => Err(ReadStoreError::Unavailable(
            "injected fault between document write and checkpoint".to_owned(),
        )),
        Ok(()) => {
            let done = doc! {
                "$set": { "position": pending.position }, "$unset": { "pending": "" },
            };
            inner
                .checkpoints
                .update_one(marker, done)
                .await
                .map_err(|e| unavailable("completing a batch", &e))?;
            clear(inner, key).await
        }
        Err(batch::WriteError::Failed(Failure::Rejected(reason))) => {
            debug!(key, position = pending.position, %reason, "batch refused; restoring its documents");
            batch::write(&mut target, &undo, &Default::default())
                .await
                .map_err(|_| {
                    ReadStoreError::Unavailable("restoring documents of a refused batch".into())
                })?;
            inner
                .checkpoints
                .update_one(marker, doc! { "$unset": { "pending": "" } })
                .await
                .map_err(|e| unavailable("abandoning a batch", &e))?;
            clear(inner, key).await?;
            Err(ReadStoreError::Rejected(reason))
        }
        Err(batch::WriteError::Failed(failure)) => Err(failure.into()),
        Err(batch::WriteError::Conflicts(_)) => Err(ReadStoreError::Unavailable(
            "unique-index conflicts outside a transaction".to_owned(),
        )),
    }
}

/// Deletes `key`'s journal.
pub(super) async fn clear(inner: &Inner, key: &str) -> Result<(), ReadStoreError> {
    inner
        .journal
        .delete_many(doc! { "_id.k": key })
        .await
        .map_err(|e| unavailable("clearing the journal", &e))?;
    Ok(())
}

/// The redo plan (the batch's writes) and the undo plan (prior states) of a pending batch.
async fn read_journal(
    inner: &Inner,
    key: &str,
    pending: Pending,
) -> Result<(Plan, Plan), ReadStoreError> {
    let raw: Vec<RawDocumentBuf> = inner
        .journal
        .clone_with_type::<RawDocumentBuf>()
        .find(doc! { "_id.k": key, "_id.p": pending.position })
        .await
        .map_err(|e| unavailable("reading the journal", &e))?
        .try_collect()
        .await
        .map_err(|e| unavailable("reading the journal", &e))?;
    let corrupt = || ReadStoreError::Unavailable(format!("a journal entry of {key} is corrupt"));
    let mut entries = raw
        .iter()
        .map(|raw| from_raw(raw))
        .collect::<Option<Vec<Document>>>()
        .ok_or_else(corrupt)?;
    // Sorted here rather than by the server, whose in-memory sort limit a batch of large
    // documents could exceed.
    entries.sort_by_key(|entry| {
        entry
            .get_document("_id")
            .and_then(|id| id.get_i64("s"))
            .unwrap_or(i64::MAX)
    });
    if i64::try_from(entries.len()).ok() != Some(pending.entries) {
        return Err(ReadStoreError::Unavailable(format!(
            "the journal of {key} at {} holds {} of {} entries",
            pending.position,
            entries.len(),
            pending.entries
        )));
    }
    let (mut redo, mut undo) = (Plan::default(), Plan::default());
    for mut entry in entries {
        let collection = entry.get_str("c").map_err(|_| corrupt())?.to_owned();
        let id = entry.get_str("i").map_err(|_| corrupt())?.to_owned();
        let put = |plan: &mut Plan, document: Document| {
            let writes: &mut Writes = plan.collections.entry(collection.clone()).or_default();
            writes.upserts.push(Upsert {
                id: id.clone(),
                document,
            });
        };
        if let Some(Bson::Document(document)) = entry.remove("put") {
            put(&mut redo, document);
        } else if entry.contains_key("del") {
            redo.collections
                .entry(collection.clone())
                .or_default()
                .deletes
                .push(id.clone());
        } else {
            match entry.remove("was") {
                Some(Bson::Document(document)) => put(&mut undo, document),
                Some(Bson::Null) => undo
                    .collections
                    .entry(collection.clone())
                    .or_default()
                    .deletes
                    .push(id.clone()),
                _ => return Err(corrupt()),
            }
        }
    }
    Ok((redo, undo))
}

/// Finishes whatever batch of `key` a crash or an outage left pending (the caller holds `key`'s
/// lock). A batch whose documents a unique index refuses is rolled back: that is not an error
/// here, the projection will meet it again and park its event.
pub(super) async fn recover(inner: &Inner, key: &str) -> Result<(), ReadStoreError> {
    let stored = inner
        .checkpoints
        .find_one(doc! { "_id": key })
        .await
        .map_err(|e| unavailable("reading a checkpoint", &e))?;
    let Some(pending) = stored.as_ref().and_then(pending) else {
        return Ok(());
    };
    info!(
        key,
        position = pending.position,
        "finishing a batch an earlier run left pending"
    );
    match finish(inner, key, pending, false).await {
        Err(ReadStoreError::Rejected(_)) | Ok(()) => Ok(()),
        Err(e) => Err(e),
    }
}
