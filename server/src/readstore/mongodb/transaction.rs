//! Committing a batch on a deployment with transactions (a replica set, even of one node, or a
//! sharded cluster): the checkpoint check, the documents and the new checkpoint in one
//! multi-document transaction, so readers see all of the batch or none of it.
//!
//! Transient failures (a write conflict, an election) retry the whole transaction; an unknown
//! commit result retries the commit, which the server makes idempotent. A unique-index
//! conflict of the unordered pass aborts the transaction (the server does so at the first
//! write error), and the batch is tried again with the conflicting writes held back until the
//! others are in, as a standalone server does it without a transaction.

use std::collections::BTreeSet;

use mongodb::{
    ClientSession,
    bson::doc,
    error::{TRANSIENT_TRANSACTION_ERROR, UNKNOWN_TRANSACTION_COMMIT_RESULT},
};
use tracing::debug;

use super::{
    Inner,
    batch::{self, Key, Plan, Target, WriteError},
    errors::{Failure, failure},
    leases::fence_in_transaction,
    stored_position,
};
use crate::{lease::Fence, readstore::ReadStoreError};

/// Attempts of one batch's transaction before giving up with `Unavailable` (the runner then
/// retries the batch with backoff).
const ATTEMPTS: usize = 8;
/// Attempts of a commit whose result is unknown.
const COMMIT_ATTEMPTS: usize = 3;

/// Why one attempt ended.
enum Attempt {
    /// The checkpoint was already at or beyond the batch: nothing to do.
    Stale,
    /// Written; the transaction is ready to commit.
    Written,
}

/// Applies `plan` and moves `key`'s checkpoint to `position` in one transaction, which first
/// checks `fence` (if any) against its lease.
pub(super) async fn apply(
    inner: &Inner,
    key: &str,
    plan: &Plan,
    position: i64,
    fail_after_documents: bool,
    fence: Option<&Fence>,
) -> Result<(), ReadStoreError> {
    let mut held_back: BTreeSet<Key> = BTreeSet::new();
    let mut last = String::new();
    for _ in 0..ATTEMPTS {
        let mut session = inner
            .client
            .start_session()
            .await
            .map_err(|e| failure("starting a session", &e))?;
        session
            .start_transaction()
            .await
            .map_err(|e| failure("starting a transaction", &e))?;
        let attempt = attempt(inner, &mut session, key, plan, position, &held_back, fence).await;
        let result = match attempt {
            Ok(Attempt::Stale) => {
                let _ = session.abort_transaction().await;
                return Ok(());
            }
            Ok(Attempt::Written) if fail_after_documents => {
                let _ = session.abort_transaction().await;
                return Err(ReadStoreError::Unavailable(
                    "injected fault between document write and checkpoint".to_owned(),
                ));
            }
            Ok(Attempt::Written) => commit(&mut session).await,
            Err(e) => {
                let _ = session.abort_transaction().await;
                Err(e)
            }
        };
        match result {
            Ok(()) => return Ok(()),
            Err(WriteError::Conflicts(conflicts)) => {
                debug!(
                    key,
                    count = conflicts.len(),
                    "unique conflicts; retrying with them last"
                );
                if conflicts.is_subset(&held_back) {
                    return Err(ReadStoreError::Unavailable(
                        "unique-index conflicts did not resolve".to_owned(),
                    ));
                }
                held_back.extend(conflicts);
                last = "unique-index conflicts".to_owned();
            }
            Err(WriteError::Failed(Failure::Driver { doing, error }))
                if error.contains_label(TRANSIENT_TRANSACTION_ERROR) =>
            {
                debug!(key, %doing, "transient transaction error; retrying");
                last = doing;
            }
            Err(WriteError::Failed(failure)) => return Err(failure.into()),
        }
    }
    Err(ReadStoreError::Unavailable(format!(
        "the batch's transaction kept failing ({last})"
    )))
}

/// One try: the checkpoint check, the documents, the new checkpoint, the fence.
async fn attempt(
    inner: &Inner,
    session: &mut ClientSession,
    key: &str,
    plan: &Plan,
    position: i64,
    held_back: &BTreeSet<Key>,
    fence: Option<&Fence>,
) -> Result<Attempt, WriteError> {
    let stored = inner
        .checkpoints
        .find_one(doc! { "_id": key })
        .session(&mut *session)
        .await
        .map_err(|e| failure("reading a checkpoint", &e))?;
    if stored
        .as_ref()
        .and_then(stored_position)
        .is_some_and(|applied| applied >= position)
    {
        return Ok(Attempt::Stale);
    }
    let mut target = Target {
        db: &inner.db,
        session: Some(&mut *session),
        write_concern: None,
    };
    batch::write(&mut target, plan, held_back).await?;
    inner
        .checkpoints
        .update_one(
            doc! { "_id": key },
            doc! { "$set": { "position": position } },
        )
        .upsert(true)
        .session(&mut *session)
        .await
        .map_err(|e| failure("moving a checkpoint", &e))?;
    if let Some(fence) = fence {
        // Last, so the fence document is locked by this transaction for as short a time as
        // possible: a successor's first commit waits while it is.
        fence_in_transaction(&inner.fences, session, fence).await?;
    }
    Ok(Attempt::Written)
}

/// Commits, retrying a commit whose outcome is unknown.
async fn commit(session: &mut ClientSession) -> Result<(), WriteError> {
    let mut tries = 0;
    loop {
        tries += 1;
        match session.commit_transaction().await {
            Ok(()) => return Ok(()),
            Err(e)
                if e.contains_label(UNKNOWN_TRANSACTION_COMMIT_RESULT)
                    && tries < COMMIT_ATTEMPTS => {}
            Err(e) => return Err(failure("committing a batch", &e).into()),
        }
    }
}
