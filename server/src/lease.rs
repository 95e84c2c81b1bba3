//! Leases with fencing: exactly one active runner per projection (and one fulfilment saga)
//! across replicas.
//!
//! Layout:
//! - this file: the [`Leases`] port, what a grant is ([`Grant`], [`Fence`]) and its errors.
//! - `tenure`: [`Leasing`] (a process's claims) and [`Tenure`], how a runner waits for its lease, keeps it renewed at a third of its
//!   time to live, and learns it lost it.
//! - `observe`: `causeway_lease_held` and `causeway_lease_fenced_commits_total`.
//! - `conformance`: the one suite every adapter passes unchanged.
//!
//! The adapters live beside the read stores' (`readstore::embedded::leases`,
//! `readstore::mongodb::leases`) because fencing only works when the lease is in the store that
//! the runner commits to: every grant carries an epoch that only grows, and a runner's batch is
//! committed with [`ReadStore::apply_fenced`](crate::readstore::ReadStore::apply_fenced), which
//! checks the lease's epoch inside the same write as the checkpoint. A former leader that was
//! paused (GC, SIGSTOP, a long network partition) past its lease therefore cannot commit once
//! another replica took over, whatever its clock says: expiry times only decide when a
//! standby may take over (liveness); the epoch decides who may write (safety).
//!
//! Expiry is kept as wall-clock milliseconds written by the replicas, so their clocks should
//! agree to well within the lease's time to live (NTP does); a skewed clock makes a take-over
//! early or late, never a second writer.

mod observe;
mod tenure;

#[cfg(any(test, feature = "conformance"))]
pub mod conformance;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;

pub use observe::LeaseMetrics;
pub use tenure::{Holding, LeaseView, Leasing, Tenure};

/// The default `--lease-ttl`.
pub const DEFAULT_TTL: Duration = Duration::from_secs(10);

/// Who holds a lease and until when, as the store has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseRecord {
    /// The lease's name (a projection's name, or `fulfilment`).
    pub lease: String,
    /// The replica that was granted it last.
    pub holder: String,
    /// The epoch of that grant: grows by one with every grant, never goes back.
    pub epoch: u64,
    /// When it lapses unless renewed (milliseconds since the Unix epoch).
    pub expires_ms: u64,
}

/// A lease granted to this replica: the record as granted.
pub type Grant = LeaseRecord;

impl LeaseRecord {
    /// What a commit under this grant carries.
    pub fn fence(&self) -> Fence {
        Fence {
            lease: self.lease.clone(),
            epoch: self.epoch,
        }
    }
}

/// The proof a write carries that its writer held `lease` at `epoch`; the store refuses the
/// write once the lease was granted again.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Fence {
    /// The lease's name.
    pub lease: String,
    /// The epoch of the grant the writer holds.
    pub epoch: u64,
}

/// What [`Leases::acquire`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The lease is this replica's now, under a new epoch.
    Granted(Grant),
    /// Another holder has it and it has not lapsed.
    Held(LeaseRecord),
}

/// Failures of the lease store.
#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    /// The lease was granted to someone else (or released) since this grant: stop writing.
    #[error("lease {lease} lost: epoch {epoch} is no longer current")]
    Lost {
        /// The lease.
        lease: String,
        /// The epoch that was held.
        epoch: u64,
    },
    /// The store could not be asked; the caller retries (and stops writing once its lease
    /// would have lapsed).
    #[error("lease store unavailable: {0}")]
    Unavailable(String),
    /// A name or holder the store cannot keep (empty, too long).
    #[error("invalid lease request: {0}")]
    Invalid(String),
}

/// Where leases are kept: the read store's own adapter, so that commits can be fenced.
///
/// `now` is passed in rather than read inside, so that every adapter decides expiry the same
/// way and the conformance suite can move time without waiting.
#[async_trait]
pub trait Leases: Send + Sync + 'static {
    /// Grants `lease` to `holder` until `now + ttl` under the next epoch if nobody has it, its
    /// holder let it lapse (`expires <= now`), or `holder` itself has it (a runner of this
    /// replica starting over: whatever its earlier tenure still had in flight is fenced off by
    /// the new epoch); otherwise reports who has it.
    async fn acquire(
        &self,
        lease: &str,
        holder: &str,
        now: SystemTime,
        ttl: Duration,
    ) -> Result<Claim, LeaseError>;

    /// Extends `grant` to `now + ttl` if its epoch is still current (even after it lapsed, as
    /// long as nobody took it over), returning the renewed grant; [`LeaseError::Lost`] if not.
    async fn renew(
        &self,
        grant: &Grant,
        now: SystemTime,
        ttl: Duration,
    ) -> Result<Grant, LeaseError>;

    /// Lets `grant` lapse at once so a standby takes over without waiting for the time to live
    /// (on shutdown). Does nothing when the epoch is no longer current.
    async fn release(&self, grant: &Grant) -> Result<(), LeaseError>;

    /// The lease as stored, if it was ever granted.
    async fn current(&self, lease: &str) -> Result<Option<LeaseRecord>, LeaseError>;
}

/// Milliseconds since the Unix epoch (0 before it), as leases store time.
pub fn millis(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// `now + ttl` in stored milliseconds, saturating.
pub fn expiry(now: SystemTime, ttl: Duration) -> u64 {
    millis(now).saturating_add(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX))
}

/// A time or epoch as stores keep it: SQLite and BSON hold 64-bit signed integers, and stored
/// times and epochs stay far below the limit (saturating beyond it).
pub fn stored(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Longest lease name or holder accepted.
const MAX_NAME: usize = 200;

/// Checks a lease name and a holder before they reach a store.
pub fn validate(lease: &str, holder: &str) -> Result<(), LeaseError> {
    for (what, value) in [("lease name", lease), ("holder", holder)] {
        if value.is_empty() || value.len() > MAX_NAME {
            return Err(LeaseError::Invalid(format!(
                "a {what} must be 1 to {MAX_NAME} bytes"
            )));
        }
    }
    Ok(())
}

/// A name for this replica that operators recognise and no other replica shares: the host
/// (`HOSTNAME`, which Kubernetes sets to the pod's name), the process id and a random suffix.
pub fn holder_name() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty() && h.len() <= 100)
        .unwrap_or_else(|| "causeway".to_owned());
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    format!("{host}/{}/{}", std::process::id(), &suffix[..8])
}
