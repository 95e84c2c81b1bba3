//! One batch's writes: planned from the ops, then sent as unordered bulk `delete` and `update`
//! commands, one per collection (split only where a command would outgrow a message).
//!
//! Planning keeps the last op per document: within a batch only the final state of each
//! document is visible after commit, so that is all there is to write, and with one write per
//! document their order no longer matters, which is what lets the commands be unordered.
//! Deletes go first, so a unique value freed by the batch can be taken by it.
//!
//! Unordered writes can trip a unique index spuriously: when a batch moves a value from one
//! document to another, the taker may be written before the giver. Those writes are retried
//! one by one after the rest, in batch order; a unique violation that survives that is real,
//! and the batch is `Rejected`. (In a transaction the server aborts at the first error, so
//! there the caller retries the whole transaction with the conflicting writes held back.)

use std::collections::{BTreeMap, BTreeSet};

use mongodb::{ClientSession, Database, bson::Document, bson::doc, options::WriteConcern};
use tracing::debug;

use super::{
    convert::{MAX_DOCUMENT_BYTES, encoded_size, stored_document},
    errors::{Failure, failure},
};
use crate::readstore::{ReadStoreError, WriteOp, filter::validate_collection};

/// Duplicate key: a unique index refused the write.
pub(super) const DUPLICATE_KEY: i32 = 11000;
/// Write-error codes that are about the document itself, so retrying cannot help: bad value,
/// `$`-prefixed field, invalid `_id`, validation failure, too large (several spellings).
const DOCUMENT_ERRORS: [i32; 8] = [2, 52, 53, 57, 121, 10334, 17419, 17420];
/// A command's statements are cut so its BSON stays under this (the server takes up to 16 MiB
/// plus 16 KiB of command overhead; one statement around a maximal document still fits).
const MAX_COMMAND_BYTES: usize = MAX_DOCUMENT_BYTES - 64 * 1024;

/// One document write of a plan.
#[derive(Debug, Clone)]
pub(super) struct Upsert {
    /// The document id.
    pub(super) id: String,
    /// The stored document (`_id`, `body`, `pos`).
    pub(super) document: Document,
}

/// The writes of one collection.
#[derive(Debug, Clone, Default)]
pub(super) struct Writes {
    /// Ids to delete.
    pub(super) deletes: Vec<String>,
    /// Documents to insert or replace, in the order of the batch's last write to each.
    pub(super) upserts: Vec<Upsert>,
}

/// A batch's writes, per collection, collection names in order.
#[derive(Debug, Clone, Default)]
pub(super) struct Plan {
    /// Writes by collection.
    pub(super) collections: BTreeMap<String, Writes>,
}

/// Identifies one upsert of a plan: (collection, document id).
pub(super) type Key = (String, String);

impl Plan {
    /// Checks every op (collection names `Invalid`; ids, bodies and sizes `Rejected`) and keeps
    /// the last op per document, stamping each document with the batch `position`.
    pub(super) fn new(ops: &[WriteOp], position: i64) -> Result<Self, ReadStoreError> {
        let mut last: BTreeMap<Key, (usize, Option<Document>)> = BTreeMap::new();
        for (index, op) in ops.iter().enumerate() {
            let (collection, id, document) = match op {
                WriteOp::Upsert {
                    collection,
                    document,
                } => {
                    validate_collection(collection)?;
                    let (stored, _) =
                        stored_document(collection, &document.id, &document.body, position)?;
                    (collection, &document.id, Some(stored))
                }
                WriteOp::Delete { collection, id } => {
                    validate_collection(collection)?;
                    (collection, id, None)
                }
            };
            last.insert((collection.clone(), id.clone()), (index, document));
        }
        let mut ordered: Vec<(Key, (usize, Option<Document>))> = last.into_iter().collect();
        ordered.sort_by_key(|(_, (index, _))| *index);
        let mut plan = Self::default();
        for ((collection, id), (_, document)) in ordered {
            let writes = plan.collections.entry(collection).or_default();
            match document {
                Some(document) => writes.upserts.push(Upsert { id, document }),
                None => writes.deletes.push(id),
            }
        }
        Ok(plan)
    }

    /// Whether the batch writes no document.
    pub(super) fn is_empty(&self) -> bool {
        self.collections
            .values()
            .all(|w| w.deletes.is_empty() && w.upserts.is_empty())
    }

    /// Every document id the plan touches, per collection.
    pub(super) fn touched(&self) -> impl Iterator<Item = (&String, Vec<&String>)> {
        self.collections.iter().map(|(collection, writes)| {
            let ids = writes
                .deletes
                .iter()
                .chain(writes.upserts.iter().map(|u| &u.id))
                .collect();
            (collection, ids)
        })
    }
}

/// Where a plan is written: in a transaction's session or on its own, and with which write
/// concern (a command run by hand does not inherit the client's, and a transaction's
/// statements must not carry one).
pub(super) struct Target<'a> {
    /// The read-model database.
    pub(super) db: &'a Database,
    /// The transaction's session, if any.
    pub(super) session: Option<&'a mut ClientSession>,
    /// Write concern of statements outside a transaction.
    pub(super) write_concern: Option<&'a WriteConcern>,
}

/// What writing a plan can end in besides success.
#[derive(Debug)]
pub(super) enum WriteError {
    /// Unique-index conflicts of the unordered pass inside a transaction (which the server
    /// has aborted): retry with these held back.
    Conflicts(BTreeSet<Key>),
    /// The batch cannot be stored, or the server failed.
    Failed(Failure),
}

impl From<Failure> for WriteError {
    fn from(failure: Failure) -> Self {
        Self::Failed(failure)
    }
}

/// Writes `plan`: deletes, then the upserts not in `held_back` unordered, then the held-back
/// ones (and, outside a transaction, any that conflicted) one by one in batch order.
pub(super) async fn write(
    target: &mut Target<'_>,
    plan: &Plan,
    held_back: &BTreeSet<Key>,
) -> Result<(), WriteError> {
    let in_transaction = target.session.is_some();
    let mut later: Vec<(&String, &Upsert)> = Vec::new();
    for (collection, writes) in &plan.collections {
        if writes.deletes.is_empty() {
            continue;
        }
        let statements: Vec<Document> = writes
            .deletes
            .iter()
            .map(|id| doc! { "q": { "_id": id }, "limit": 1 })
            .collect();
        let errors = run(target, "delete", "deletes", collection, &statements).await?;
        if let Some((_, code, message)) = errors.first() {
            return Err(document_failure(collection, "a delete", *code, message).into());
        }
    }
    let mut conflicts = BTreeSet::new();
    for (collection, writes) in &plan.collections {
        let pending: Vec<&Upsert> = writes
            .upserts
            .iter()
            .filter(|u| !held_back.contains(&(collection.clone(), u.id.clone())))
            .collect();
        let statements: Vec<Document> = pending.iter().map(|u| upsert_statement(u)).collect();
        for (index, code, message) in
            run(target, "update", "updates", collection, &statements).await?
        {
            let Some(upsert) = pending.get(index) else {
                return Err(
                    Failure::Unavailable("MongoDB reported an unknown write".into()).into(),
                );
            };
            if code != DUPLICATE_KEY {
                return Err(document_failure(
                    &format!("{collection}/{}", upsert.id),
                    "the write",
                    code,
                    &message,
                )
                .into());
            }
            conflicts.insert((collection.clone(), upsert.id.clone()));
        }
        // The server has aborted the transaction: any further command would only fail.
        if in_transaction && !conflicts.is_empty() {
            return Err(WriteError::Conflicts(conflicts));
        }
        later.extend(
            writes
                .upserts
                .iter()
                .filter(|u| held_back.contains(&(collection.clone(), u.id.clone())))
                .map(|u| (collection, u)),
        );
    }
    for (collection, writes) in &plan.collections {
        later.extend(
            writes
                .upserts
                .iter()
                .filter(|u| conflicts.contains(&(collection.clone(), u.id.clone())))
                .map(|u| (collection, u)),
        );
    }
    for (collection, upsert) in later {
        let statement = [upsert_statement(upsert)];
        if let Some((_, code, message)) = run(target, "update", "updates", collection, &statement)
            .await?
            .first()
        {
            let what = format!("{collection}/{}", upsert.id);
            return Err(if *code == DUPLICATE_KEY {
                debug!(%message, "unique index conflict");
                Failure::Rejected(format!(
                    "{what}: a unique index of the collection already holds one of its values"
                ))
            } else {
                document_failure(&what, "the write", *code, message)
            }
            .into());
        }
    }
    Ok(())
}

fn upsert_statement(upsert: &Upsert) -> Document {
    doc! { "q": { "_id": &upsert.id }, "u": upsert.document.clone(), "upsert": true }
}

/// A per-document write error: the document's fault (`Rejected`) or the server's.
fn document_failure(what: &str, doing: &str, code: i32, message: &str) -> Failure {
    debug!(%what, code, %message, "MongoDB refused a write");
    if DOCUMENT_ERRORS.contains(&code) {
        Failure::Rejected(format!(
            "{what}: MongoDB refused {doing} (error code {code})"
        ))
    } else {
        Failure::Unavailable(format!(
            "MongoDB failed {doing} of {what} (error code {code})"
        ))
    }
}

/// Runs `command` (`update`/`delete`) over `statements` on `collection`, unordered, cut into
/// commands that fit a message; returns the write errors as (statement index, code, message).
async fn run(
    target: &mut Target<'_>,
    command: &str,
    field: &str,
    collection: &str,
    statements: &[Document],
) -> Result<Vec<(usize, i32, String)>, Failure> {
    let mut errors = Vec::new();
    let mut start = 0;
    while start < statements.len() {
        let mut end = start;
        let mut bytes = 0;
        while end < statements.len() {
            let size = encoded_size(&statements[end]).unwrap_or(MAX_DOCUMENT_BYTES);
            if end > start && bytes + size > MAX_COMMAND_BYTES {
                break;
            }
            bytes += size;
            end += 1;
        }
        let mut body = doc! {
            command: collection,
            field: statements[start..end].to_vec(),
            "ordered": false,
        };
        if target.session.is_none()
            && let Some(concern) = target.write_concern
        {
            let concern = mongodb::bson::to_document(concern)
                .map_err(|_| Failure::Unavailable("unusable write concern".into()))?;
            if !concern.is_empty() {
                body.insert("writeConcern", concern);
            }
        }
        let action = target.db.run_command(body);
        let reply = match target.session.as_deref_mut() {
            Some(session) => action.session(session).await,
            None => action.await,
        }
        .map_err(|e| failure(&format!("{command} on {collection}"), &e))?;
        if let Ok(concern) = reply.get_document("writeConcernError") {
            let code = concern.get_i32("code").unwrap_or_default();
            return Err(Failure::Unavailable(format!(
                "MongoDB could not satisfy the write concern of {command} on {collection} \
                 (error code {code})"
            )));
        }
        for error in reply.get_array("writeErrors").into_iter().flatten() {
            let Some(error) = error.as_document() else {
                continue;
            };
            let index = error
                .get("index")
                .and_then(|i| i.as_i64().or_else(|| i.as_i32().map(i64::from)))
                .and_then(|i| usize::try_from(i).ok())
                .unwrap_or(usize::MAX);
            let code = error.get_i32("code").unwrap_or_default();
            let message = error.get_str("errmsg").unwrap_or_default().to_owned();
            errors.push((start.saturating_add(index), code, message));
        }
        start = end;
    }
    Ok(errors)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::readstore::conformance::{delete, upsert};

    #[test]
    fn plans_keep_the_last_op_per_document_in_batch_order() {
        let ops = vec![
            upsert("c", "a", json!({"v": 1})),
            upsert("c", "b", json!({"v": 1})),
            upsert("c", "a", json!({"v": 2})),
            delete("c", "b"),
            delete("d", "x"),
            upsert("d", "y", json!({})),
            delete("c", "z"),
            upsert("c", "z", json!({"v": 3})),
        ];
        let plan = Plan::new(&ops, 9).expect("plan");
        let c = &plan.collections["c"];
        assert_eq!(c.deletes, ["b"]);
        let ids: Vec<&str> = c.upserts.iter().map(|u| u.id.as_str()).collect();
        assert_eq!(ids, ["a", "z"]);
        assert_eq!(
            c.upserts[0].document,
            doc! {"_id": "a", "body": {"v": 2_i64}, "pos": 9_i64}
        );
        assert_eq!(plan.collections["d"].deletes, ["x"]);
        assert!(!plan.is_empty());
        assert!(Plan::new(&[], 1).expect("plan").is_empty());
    }

    #[test]
    fn bad_ops_fail_the_plan() {
        let bad_name = [upsert("a.b", "x", json!({}))];
        assert!(matches!(
            Plan::new(&bad_name, 1),
            Err(ReadStoreError::Invalid(_))
        ));
        let not_object = [upsert("c", "x", json!({})), upsert("c", "y", json!(1))];
        assert!(matches!(
            Plan::new(&not_object, 1),
            Err(ReadStoreError::Rejected(_))
        ));
    }
}
