//! Leases in MongoDB: one document per lease in `causeway.leases`,
//! `{_id: <lease>, holder, epoch, expires}` (`expires` in milliseconds since the Unix epoch).
//!
//! A grant is one `findAndModify` that matches only a lapsed lease (or one the same holder
//! asks for again) and upserts: when another holder has the lease the filter matches nothing and the upsert's insert collides with the existing `_id`
//! (a duplicate key), so of any number of replicas asking at once exactly one is granted, under
//! `epoch + 1`. Renewal and release are updates filtered on (holder, epoch).
//!
//! Fencing a commit: in a transaction (replica sets), the batch's transaction ends by updating
//! the lease's fence document (`causeway.fences`, `{_id: <lease>, epoch}`) filtered on the
//! fence's epoch. Every grant raises that document to its new epoch before the new holder
//! reads anything, so a former holder's transaction either finds the epoch moved (refused) or
//! conflicts with the raise (retried, then refused). The fence lives apart from the lease so
//! that a grant never waits on a transaction: a holder frozen in the middle of its commit
//! holds the fence document (and its checkpoint) until MongoDB aborts its transaction
//! (`transactionLifetimeLimitSeconds`, 60 s by default), which delays its successor's start on
//! that projection, but never the grant, and never lets the old transaction commit.
//!
//! On a standalone server (no transactions) the lease's epoch is checked first and the batch's
//! commit point, the one update of its checkpoint document that makes it count, is filtered on
//! the highest epoch that ever committed there (`fence`), so a former holder cannot commit once
//! its successor committed once. A holder frozen between that check and its commit point can
//! still commit one batch before its successor's first: a standalone server is a single point
//! of failure anyway, so replicas are meant for replica sets, where the fence is exact.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use mongodb::{
    ClientSession, Collection,
    bson::{Bson, Document, doc},
    options::ReturnDocument,
};

use super::errors::{Failure, failure, is_duplicate_key};
use crate::{
    lease::{self, Claim, Fence, Grant, LeaseError, LeaseRecord, Leases},
    readstore::ReadStoreError,
};

/// Collection of the runners' leases.
pub const LEASES: &str = "causeway.leases";
/// Collection of the leases' fences: the epoch commits must carry.
pub const FENCES: &str = "causeway.fences";

/// How long a grant waits to raise its fence while a former holder's transaction holds it;
/// then the grant is asked for again (the holder's next try).
const RAISE_WAIT: Duration = Duration::from_secs(2);

/// [`Leases`] on a MongoDB database.
pub(super) struct MongoLeases {
    pub(super) leases: Collection<Document>,
    pub(super) fences: Collection<Document>,
}

fn number(document: &Document, field: &str) -> u64 {
    match document.get(field) {
        Some(Bson::Int64(n)) => u64::try_from(*n).unwrap_or(0),
        Some(Bson::Int32(n)) => u64::try_from(*n).unwrap_or(0),
        _ => 0,
    }
}

fn record(lease: &str, document: &Document) -> LeaseRecord {
    LeaseRecord {
        lease: lease.to_owned(),
        holder: document.get_str("holder").unwrap_or_default().to_owned(),
        epoch: number(document, "epoch"),
        expires_ms: number(document, "expires"),
    }
}

fn unavailable(doing: &str, error: &mongodb::error::Error) -> LeaseError {
    LeaseError::Unavailable(ReadStoreError::from(failure(doing, error)).to_string())
}

impl MongoLeases {
    async fn find(&self, lease: &str) -> Result<Option<LeaseRecord>, LeaseError> {
        let found = self
            .leases
            .find_one(doc! { "_id": lease })
            .await
            .map_err(|e| unavailable("reading a lease", &e))?;
        Ok(found.map(|document| record(lease, &document)))
    }
}

#[async_trait]
impl Leases for MongoLeases {
    async fn acquire(
        &self,
        lease: &str,
        holder: &str,
        now: SystemTime,
        ttl: Duration,
    ) -> Result<Claim, LeaseError> {
        lease::validate(lease, holder)?;
        let lapsed = doc! {
            "_id": lease,
            "$or": [{ "expires": { "$lte": lease::stored(lease::millis(now)) } }, { "holder": holder }],
        };
        let grant = doc! {
            "$set": { "holder": holder, "expires": lease::stored(lease::expiry(now, ttl)) },
            "$inc": { "epoch": 1_i64 },
        };
        match self
            .leases
            .find_one_and_update(lapsed, grant)
            .upsert(true)
            .return_document(ReturnDocument::After)
            .await
        {
            Ok(Some(granted)) => {
                let grant = record(lease, &granted);
                // Before the new holder reads anything, so no former holder commits after.
                let raise = self
                    .fences
                    .update_one(
                        doc! { "_id": lease },
                        doc! { "$max": { "epoch": lease::stored(grant.epoch) } },
                    )
                    .upsert(true);
                match tokio::time::timeout(RAISE_WAIT, raise).await {
                    Ok(raised) => raised.map_err(|e| unavailable("raising a lease's fence", &e))?,
                    Err(_) => {
                        return Err(LeaseError::Unavailable(format!(
                            "the fence of lease {lease} is held by an unfinished transaction"
                        )));
                    }
                };
                Ok(Claim::Granted(grant))
            }
            Ok(None) => Err(LeaseError::Unavailable(
                "the lease grant returned no document".to_owned(),
            )),
            Err(e) if is_duplicate_key(&e) => match self.find(lease).await? {
                Some(current) => Ok(Claim::Held(current)),
                None => Err(LeaseError::Unavailable(
                    "the lease vanished while it was claimed".to_owned(),
                )),
            },
            Err(e) => Err(unavailable("claiming a lease", &e)),
        }
    }

    async fn renew(
        &self,
        grant: &Grant,
        now: SystemTime,
        ttl: Duration,
    ) -> Result<Grant, LeaseError> {
        let expires_ms = lease::expiry(now, ttl);
        let result = self
            .leases
            .update_one(
                doc! { "_id": &grant.lease, "holder": &grant.holder, "epoch": lease::stored(grant.epoch) },
                doc! { "$set": { "expires": lease::stored(expires_ms) } },
            )
            .await
            .map_err(|e| unavailable("renewing a lease", &e))?;
        if result.matched_count == 1 {
            Ok(LeaseRecord {
                expires_ms,
                ..grant.clone()
            })
        } else {
            Err(LeaseError::Lost {
                lease: grant.lease.clone(),
                epoch: grant.epoch,
            })
        }
    }

    async fn release(&self, grant: &Grant) -> Result<(), LeaseError> {
        self.leases
            .update_one(
                doc! { "_id": &grant.lease, "holder": &grant.holder, "epoch": lease::stored(grant.epoch) },
                doc! { "$set": { "expires": 0_i64 } },
            )
            .await
            .map_err(|e| unavailable("releasing a lease", &e))?;
        Ok(())
    }

    async fn current(&self, lease: &str) -> Result<Option<LeaseRecord>, LeaseError> {
        lease::validate(lease, "-")?;
        self.find(lease).await
    }
}

fn refused(fence: &Fence) -> Failure {
    Failure::Fenced(format!(
        "lease {} is no longer at epoch {}",
        fence.lease, fence.epoch
    ))
}

/// Inside a batch's transaction: touches the lease's fence document if `fence` is its epoch,
/// so a concurrent grant's raise conflicts with the transaction; refuses the batch otherwise.
pub(super) async fn fence_in_transaction(
    fences: &Collection<Document>,
    session: &mut ClientSession,
    fence: &Fence,
) -> Result<(), Failure> {
    let touched = fences
        .update_one(
            doc! { "_id": &fence.lease, "epoch": lease::stored(fence.epoch) },
            doc! { "$inc": { "commits": 1_i64 } },
        )
        .session(session)
        .await
        .map_err(|e| failure("checking the lease", &e))?;
    match touched.matched_count {
        1 => Ok(()),
        _ => Err(refused(fence)),
    }
}

/// Without a transaction: refuses the batch unless `fence` is the lease's current epoch. The
/// commit point's own filter (see [`commit_filter`]) closes the gap after this check.
pub(super) async fn check_fence(
    leases: &Collection<Document>,
    fence: &Fence,
) -> Result<(), ReadStoreError> {
    let current = leases
        .find_one(doc! { "_id": &fence.lease })
        .await
        .map_err(|e| ReadStoreError::from(failure("checking the lease", &e)))?;
    match current {
        Some(document) if number(&document, "epoch") == fence.epoch => Ok(()),
        _ => Err(refused(fence).into()),
    }
}

/// The filter of a checkpoint's commit point under `fence`: no later epoch committed there.
/// With `upsert`, a checkpoint a later epoch committed makes the insert collide with its `_id`,
/// which [`commit_refused`] turns into `Fenced`.
pub(super) fn commit_filter(key: &str, fence: Option<&Fence>) -> Document {
    match fence {
        Some(fence) => {
            doc! { "_id": key, "fence": { "$not": { "$gt": lease::stored(fence.epoch) } } }
        }
        None => doc! { "_id": key },
    }
}

/// What the commit point's update sets besides its own fields: the fence's epoch.
pub(super) fn fence_field(fence: Option<&Fence>) -> Document {
    match fence {
        Some(fence) => doc! { "fence": lease::stored(fence.epoch) },
        None => Document::new(),
    }
}

/// A commit point that failed: `Fenced` when a later epoch holds the checkpoint.
pub(super) fn commit_refused(
    doing: &str,
    error: &mongodb::error::Error,
    fence: Option<&Fence>,
) -> ReadStoreError {
    match fence {
        Some(fence) if is_duplicate_key(error) => refused(fence).into(),
        _ => failure(doing, error).into(),
    }
}
