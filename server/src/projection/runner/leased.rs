//! The lease side of a projection runner: standing by until this replica holds the
//! projection's lease, running while it does, and committing every batch under its fence.

use std::sync::PoisonError;

use tokio::task::JoinHandle;
use tracing::warn;

use super::{Parts, ProjectionRunner, RunError};
use crate::{
    lease::{Fence, Tenure},
    projection::status::lease_reporter,
    readstore::{ReadStoreError, WriteOp},
};

impl ProjectionRunner {
    /// Runs only while holding `tenure`'s lease, committing under its fence, and reports the
    /// lease in the projection's status.
    pub fn with_lease(mut self, tenure: Tenure) -> Self {
        let tenure = tenure.reporting_to(lease_reporter(&self.parts.status));
        let _ = self.parts.lease_metrics.set(tenure.metrics().clone());
        self.tenure = Some(tenure);
        self
    }

    /// Runs until the task is aborted. Every batch commits atomically, so aborting at any point
    /// is safe: the next run resumes from the last committed checkpoint. Under a lease it
    /// alternates between standing by and running while the lease is held.
    pub async fn run(mut self) {
        let Some(tenure) = self.tenure.take() else {
            return self.serve().await;
        };
        loop {
            let grant = tenure.acquire().await;
            self.parts.set_fence(grant.fence());
            tokio::select! {
                () = self.serve() => {}
                _lost = tenure.keep(grant) => {}
            }
        }
    }
}

/// A rebuild task that is aborted when the loop that started it ends (the lease was lost):
/// it must not go on writing under a fence that a later tenure renews.
pub(super) struct Aborting(pub(super) JoinHandle<Result<(), RunError>>);

impl Drop for Aborting {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Parts {
    fn set_fence(&self, fence: Fence) {
        *self.fence.lock().unwrap_or_else(PoisonError::into_inner) = Some(fence);
    }

    /// Commits `ops` with the checkpoint `key` at `position`, under the lease's fence if the
    /// runner holds one; a fenced refusal is counted and logged.
    pub(super) async fn commit(
        &self,
        key: &str,
        ops: Vec<WriteOp>,
        position: u64,
    ) -> Result<(), ReadStoreError> {
        let fence = self
            .fence
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let Some(fence) = fence else {
            return self.reads.apply(key, ops, position).await;
        };
        let result = self.reads.apply_fenced(key, ops, position, &fence).await;
        if let Err(ReadStoreError::Fenced(why)) = &result {
            if let Some(metrics) = self.lease_metrics.get() {
                metrics.fenced(&fence.lease);
            }
            warn!(projection = self.projection.name(), lease = %fence.lease, epoch = fence.epoch,
                position, reason = %why, "fenced commit refused; nothing of the batch was written");
        }
        result
    }
}
