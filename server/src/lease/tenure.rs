//! Holding a lease over time: a runner waits until the lease is granted to it (asking again
//! every third of the time to live, so a standby takes over at most a third of the time to live
//! after the lease lapsed), works while [`Tenure::keep`] renews it at the same pace, and stops
//! as soon as `keep` returns: the lease went to someone else, or the store could not be reached
//! for the whole time to live (after which a standby may hold it).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, SystemTime},
};

use tokio::time::Instant;
use tracing::{info, warn};

use super::{Claim, Grant, LeaseError, LeaseMetrics, LeaseRecord, Leases};

/// How this replica sees one lease: who has it, under which epoch, whether that is us (the
/// default: nobody, epoch 0, not us).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeaseView {
    /// The holder as last seen.
    pub holder: String,
    /// Its epoch.
    pub epoch: u64,
    /// Whether this replica is the holder.
    pub held: bool,
}

/// Receives every change of what this replica knows about its lease (status, admin).
pub type Holding = Arc<dyn Fn(LeaseView) + Send + Sync>;

/// What every runner of one process needs to claim its lease: the store, this replica's name,
/// the time to live and the metrics.
#[derive(Clone)]
pub struct Leasing {
    leases: Arc<dyn Leases>,
    holder: String,
    ttl: Duration,
    metrics: LeaseMetrics,
    held: Held,
}

/// The grants this process holds now, by lease, so shutdown can hand them on.
type Held = Arc<Mutex<HashMap<String, Grant>>>;

impl std::fmt::Debug for Leasing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Leasing")
            .field("holder", &self.holder)
            .field("ttl", &self.ttl)
            .finish()
    }
}

impl Leasing {
    /// Claims in `leases` as `holder`, for `ttl` per grant.
    pub fn new(
        leases: Arc<dyn Leases>,
        holder: String,
        ttl: Duration,
        metrics: LeaseMetrics,
    ) -> Self {
        Self {
            leases,
            holder,
            ttl,
            metrics,
            held: Held::default(),
        }
    }

    /// This replica's claim on `lease`.
    pub fn tenure(&self, lease: &str) -> Tenure {
        let mut tenure = Tenure::new(
            self.leases.clone(),
            lease,
            &self.holder,
            self.ttl,
            self.metrics.clone(),
        );
        tenure.held = self.held.clone();
        tenure
    }

    /// Lets every lease this process holds lapse at once, so a standby (or this process's
    /// successor after a restart) takes over without waiting out the time to live. Call it on
    /// shutdown, once the runners have stopped.
    pub async fn release_all(&self) {
        let grants: Vec<Grant> = {
            let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
            held.drain().map(|(_, grant)| grant).collect()
        };
        for grant in grants {
            self.metrics.set_held(&grant.lease, false);
            match self.leases.release(&grant).await {
                Ok(()) => info!(lease = %grant.lease, "lease released"),
                Err(e) => {
                    warn!(lease = %grant.lease, error = %e, "could not release the lease; it lapses by itself")
                }
            }
        }
    }
}

/// One replica's claim on one lease.
#[derive(Clone)]
pub struct Tenure {
    leases: Arc<dyn Leases>,
    lease: String,
    holder: String,
    ttl: Duration,
    metrics: LeaseMetrics,
    seen: Holding,
    held: Held,
}

impl std::fmt::Debug for Tenure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tenure")
            .field("lease", &self.lease)
            .field("holder", &self.holder)
            .field("ttl", &self.ttl)
            .finish()
    }
}

impl Tenure {
    /// `holder`'s claim on `lease` in `leases`, for `ttl` per grant or renewal.
    pub fn new(
        leases: Arc<dyn Leases>,
        lease: &str,
        holder: &str,
        ttl: Duration,
        metrics: LeaseMetrics,
    ) -> Self {
        Self {
            leases,
            lease: lease.to_owned(),
            holder: holder.to_owned(),
            ttl,
            metrics,
            seen: Arc::new(|_| {}),
            held: Held::default(),
        }
    }

    fn remember(&self, grant: Option<&Grant>) {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        match grant {
            Some(grant) => held.insert(self.lease.clone(), grant.clone()),
            None => held.remove(&self.lease),
        };
    }

    /// Tells `seen` whatever this replica learns about the lease.
    pub fn reporting_to(mut self, seen: Holding) -> Self {
        self.seen = seen;
        self
    }

    /// The metrics it records into (runners count fenced commits there).
    pub fn metrics(&self) -> &LeaseMetrics {
        &self.metrics
    }

    /// How often it asks the store: a third of the time to live.
    fn pace(&self) -> Duration {
        self.ttl / 3
    }

    /// Waits until the lease is granted to this replica; returns the grant.
    pub async fn acquire(&self) -> Grant {
        self.metrics.set_held(&self.lease, false);
        let mut standing_by = false;
        loop {
            let now = SystemTime::now();
            match self
                .leases
                .acquire(&self.lease, &self.holder, now, self.ttl)
                .await
            {
                Ok(Claim::Granted(grant)) => {
                    info!(lease = %self.lease, holder = %self.holder, epoch = grant.epoch,
                        "lease acquired; running");
                    self.report(&grant);
                    self.remember(Some(&grant));
                    return grant;
                }
                Ok(Claim::Held(record)) => {
                    if !standing_by {
                        info!(lease = %self.lease, active = %record.holder, epoch = record.epoch,
                            "another replica holds the lease; standing by");
                        standing_by = true;
                    }
                    self.report(&record);
                }
                Err(e) => {
                    warn!(lease = %self.lease, error = %e, "cannot ask for the lease; retrying")
                }
            }
            // Polling is the protocol here: the standby asks again at the renewal pace.
            tokio::time::sleep(self.pace()).await;
        }
    }

    /// Renews `grant` every third of the time to live; returns once it is lost, or once no
    /// renewal reached the store for a whole time to live (a standby may hold it by then).
    pub async fn keep(&self, mut grant: Grant) -> LeaseError {
        let mut valid_until = Instant::now() + self.ttl;
        loop {
            tokio::time::sleep(self.pace()).await;
            let asked = Instant::now();
            match self.leases.renew(&grant, SystemTime::now(), self.ttl).await {
                Ok(renewed) => {
                    self.remember(Some(&renewed));
                    grant = renewed;
                    valid_until = asked + self.ttl;
                }
                Err(lost @ LeaseError::Lost { .. }) => return self.lost(lost),
                Err(e) if Instant::now() >= valid_until => return self.lost(e),
                Err(e) => warn!(lease = %self.lease, error = %e, "lease renewal failed; retrying"),
            }
        }
    }

    fn lost(&self, why: LeaseError) -> LeaseError {
        self.remember(None);
        warn!(lease = %self.lease, holder = %self.holder, reason = %why,
            "lease lost; this replica stops writing and stands by");
        self.metrics.set_held(&self.lease, false);
        (self.seen)(LeaseView::default());
        why
    }

    fn report(&self, record: &LeaseRecord) {
        let held = record.holder == self.holder;
        self.metrics.set_held(&self.lease, held);
        (self.seen)(LeaseView {
            holder: record.holder.clone(),
            epoch: record.epoch,
            held,
        });
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::readstore::{ReadStore, embedded::EmbeddedReadStore};

    #[tokio::test(flavor = "multi_thread")]
    async fn shutdown_hands_every_held_lease_on_at_once() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = EmbeddedReadStore::open(dir.path()).expect("open");
        let leasing = Leasing::new(
            store.leases(),
            "leaving".to_owned(),
            Duration::from_secs(60),
            LeaseMetrics::default(),
        );
        let (orders, users) = (leasing.tenure("orders"), leasing.tenure("users"));
        orders.acquire().await;
        users.acquire().await;
        leasing.release_all().await;
        let now = SystemTime::now();
        for lease in ["orders", "users"] {
            let claim = store
                .leases()
                .acquire(lease, "successor", now, Duration::from_secs(60))
                .await
                .expect("claim");
            assert!(
                matches!(claim, Claim::Granted(ref g) if g.epoch == 2),
                "{claim:?}"
            );
        }
    }
}
