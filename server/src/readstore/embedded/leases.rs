//! Leases in `read.db`: one row per lease in `leases(name, holder, epoch, expires_ms)`.
//!
//! Why a row in the read-model file rather than a lock file: a file lock (`flock`) would be
//! released by the kernel the moment its holder dies, which is good, but it carries no epoch
//! and cannot be checked inside the transaction that commits a batch, so a paused holder that
//! lost it could still commit. A row can: every grant, renewal and fenced commit is one
//! `BEGIN IMMEDIATE` transaction on this file, which SQLite serialises across every process
//! sharing the data directory, so the check of the epoch and the write it guards cannot be
//! separated by another replica's grant.

use std::{
    sync::Arc,
    time::{Duration, SystemTime},
};

use async_trait::async_trait;
use rusqlite::{OptionalExtension, Transaction, params};

use super::{schema::unavailable, write::Writer};
use crate::{
    lease::{self, Claim, Fence, Grant, LeaseError, LeaseRecord, Leases},
    readstore::ReadStoreError,
};

/// [`Leases`] on `read.db`'s write connection.
pub(super) struct EmbeddedLeases {
    pub(super) writer: Arc<Writer>,
}

/// The row of `lease`, read inside `tx`.
fn row(tx: &Transaction<'_>, lease: &str) -> Result<Option<LeaseRecord>, ReadStoreError> {
    tx.prepare_cached("SELECT holder, epoch, expires_ms FROM leases WHERE name = ?1")
        .and_then(|mut stmt| {
            stmt.query_row([lease], |row| {
                Ok(LeaseRecord {
                    lease: lease.to_owned(),
                    holder: row.get(0)?,
                    epoch: u64::try_from(row.get::<_, i64>(1)?).unwrap_or(0),
                    expires_ms: u64::try_from(row.get::<_, i64>(2)?).unwrap_or(0),
                })
            })
            .optional()
        })
        .map_err(|e| unavailable("reading a lease", e))
}

fn write_row(tx: &Transaction<'_>, record: &LeaseRecord) -> Result<(), ReadStoreError> {
    tx.prepare_cached(
        "INSERT INTO leases (name, holder, epoch, expires_ms) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, epoch = excluded.epoch, \
         expires_ms = excluded.expires_ms",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            record.lease,
            record.holder,
            lease::stored(record.epoch),
            lease::stored(record.expires_ms)
        ])
    })
    .map_err(|e| unavailable("writing a lease", e))?;
    Ok(())
}

/// Refuses the transaction's write unless `fence` is `fence.lease`'s current epoch.
pub(super) fn check_fence(tx: &Transaction<'_>, fence: &Fence) -> Result<(), ReadStoreError> {
    match row(tx, &fence.lease)? {
        Some(current) if current.epoch == fence.epoch => Ok(()),
        Some(current) => Err(ReadStoreError::Fenced(format!(
            "lease {} is at epoch {}, the commit carried epoch {}",
            fence.lease, current.epoch, fence.epoch
        ))),
        None => Err(ReadStoreError::Fenced(format!(
            "lease {} was never granted",
            fence.lease
        ))),
    }
}

fn from_store(error: ReadStoreError) -> LeaseError {
    match error {
        ReadStoreError::Invalid(why) => LeaseError::Invalid(why),
        other => LeaseError::Unavailable(other.to_string()),
    }
}

#[async_trait]
impl Leases for EmbeddedLeases {
    async fn acquire(
        &self,
        lease: &str,
        holder: &str,
        now: SystemTime,
        ttl: Duration,
    ) -> Result<Claim, LeaseError> {
        lease::validate(lease, holder)?;
        let (lease, holder) = (lease.to_owned(), holder.to_owned());
        let now_ms = lease::millis(now);
        let expires_ms = lease::expiry(now, ttl);
        self.writer
            .run(move |tx, _| match row(tx, &lease)? {
                Some(current) if current.expires_ms > now_ms && current.holder != holder => {
                    Ok(Claim::Held(current))
                }
                previous => {
                    let grant = LeaseRecord {
                        epoch: previous.map_or(0, |p| p.epoch) + 1,
                        lease,
                        holder,
                        expires_ms,
                    };
                    write_row(tx, &grant)?;
                    Ok(Claim::Granted(grant))
                }
            })
            .await
            .map_err(from_store)
    }

    async fn renew(
        &self,
        grant: &Grant,
        now: SystemTime,
        ttl: Duration,
    ) -> Result<Grant, LeaseError> {
        let grant = grant.clone();
        let expires_ms = lease::expiry(now, ttl);
        self.writer
            .run(move |tx, _| match row(tx, &grant.lease)? {
                Some(current) if current.epoch == grant.epoch && current.holder == grant.holder => {
                    let renewed = LeaseRecord {
                        expires_ms,
                        ..current
                    };
                    write_row(tx, &renewed)?;
                    Ok(Ok(renewed))
                }
                _ => Ok(Err(LeaseError::Lost {
                    lease: grant.lease,
                    epoch: grant.epoch,
                })),
            })
            .await
            .map_err(from_store)?
    }

    async fn release(&self, grant: &Grant) -> Result<(), LeaseError> {
        let grant = grant.clone();
        self.writer
            .run(move |tx, _| {
                tx.prepare_cached(
                    "UPDATE leases SET expires_ms = 0 WHERE name = ?1 AND epoch = ?2 AND holder = ?3",
                )
                .and_then(|mut stmt| {
                    stmt.execute(params![grant.lease, lease::stored(grant.epoch), grant.holder])
                })
                .map_err(|e| unavailable("releasing a lease", e))?;
                Ok(())
            })
            .await
            .map_err(from_store)
    }

    async fn current(&self, lease: &str) -> Result<Option<LeaseRecord>, LeaseError> {
        lease::validate(lease, "-")?;
        let lease = lease.to_owned();
        self.writer
            .run(move |tx, _| row(tx, &lease))
            .await
            .map_err(from_store)
    }
}
