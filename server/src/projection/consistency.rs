//! Read-your-writes. Every command ack carries the position of its last event; a query that
//! passes it as `consistency.min_position` waits until its projection has applied everything up
//! to there. In a process that runs the projection the wait tells the runner which position it
//! waits for (so the runner can skip past other categories' events at once) and is woken by the
//! runner's status channel; a query-only process re-reads the checkpoint from the read store
//! with a short backoff, since no notification crosses processes.

use std::{sync::Arc, time::Duration};

use tokio::time::Instant;

use super::{Projections, generation};
use crate::readstore::{ReadStore, ReadStoreError};

/// Longest wait when the caller set no deadline.
pub const DEFAULT_WAIT_CAP: Duration = Duration::from_secs(5);

/// The projection did not reach the position in time, or could not be asked.
#[derive(Debug, thiserror::Error)]
pub enum ConsistencyError {
    /// The deadline passed first.
    #[error(
        "projection {projection} reached position {reached} of the requested {wanted} before the deadline"
    )]
    NotReached {
        /// The projection waited on.
        projection: String,
        /// How far it got (0 = nothing applied).
        reached: u64,
        /// What was asked for.
        wanted: u64,
    },
    /// The read store failed while polling.
    #[error(transparent)]
    Store(#[from] ReadStoreError),
}

/// Waits for projections to reach positions.
#[derive(Clone)]
pub struct ReadYourWrites {
    local: Projections,
    reads: Arc<dyn ReadStore>,
}

impl ReadYourWrites {
    /// Waits on `local` runners where they exist, else polls `reads`.
    pub fn new(local: Projections, reads: Arc<dyn ReadStore>) -> Self {
        Self { local, reads }
    }

    /// Returns once `projection` has applied every event up to `min_position`, or fails when
    /// `within` has passed. `min_position == 0` returns at once.
    pub async fn wait(
        &self,
        projection: &str,
        min_position: u64,
        within: Duration,
    ) -> Result<(), ConsistencyError> {
        if min_position == 0 {
            return Ok(());
        }
        let result = self.wait_for(projection, min_position, within).await;
        if !matches!(result, Err(ConsistencyError::Store(_))) {
            self.local.observe_wait(projection, result.is_ok());
        }
        result
    }

    async fn wait_for(
        &self,
        projection: &str,
        min_position: u64,
        within: Duration,
    ) -> Result<(), ConsistencyError> {
        let deadline = Instant::now() + within;
        let reached = match self.local.watch_active(projection) {
            Some(mut status) => {
                if status.borrow().position < Some(min_position) {
                    // The runner may learn sooner than its feed tells it that nothing of its
                    // categories lies before the position (see `EventStore::clear_through`).
                    self.local.want(projection, min_position);
                }
                let reached = tokio::time::timeout_at(
                    deadline,
                    status.wait_for(|s| s.position >= Some(min_position)),
                )
                .await
                .is_ok_and(|r| r.is_ok());
                if reached {
                    return Ok(());
                }
                status.borrow().position
            }
            None => self.poll(projection, min_position, deadline).await?,
        };
        match reached {
            Some(p) if p >= min_position => Ok(()),
            reached => Err(ConsistencyError::NotReached {
                projection: projection.to_owned(),
                reached: reached.unwrap_or(0),
                wanted: min_position,
            }),
        }
    }

    /// How far `projection` has applied: the local runner's position, else the active
    /// generation's checkpoint in the read store.
    pub async fn reached(&self, projection: &str) -> Result<Option<u64>, ReadStoreError> {
        match self.local.watch_active(projection) {
            Some(status) => Ok(status.borrow().position),
            None => self.checkpoint(projection).await,
        }
    }

    /// Returns `true` once `projection` has applied anything past `seen`, or `false` when
    /// `deadline` passes first: how a reader waits for a document to change without reading it
    /// again and again. A local runner wakes the wait; otherwise the checkpoint is re-read with
    /// the same backoff as [`ReadYourWrites::wait`].
    pub async fn advanced(
        &self,
        projection: &str,
        seen: Option<u64>,
        deadline: Instant,
    ) -> Result<bool, ReadStoreError> {
        let past = seen.map_or(1, |s| s.saturating_add(1));
        match self.local.watch_active(projection) {
            Some(mut status) => Ok(tokio::time::timeout_at(
                deadline,
                status.wait_for(|s| s.position >= Some(past)),
            )
            .await
            .is_ok_and(|r| r.is_ok())),
            None => Ok(self.poll(projection, past, deadline).await? >= Some(past)),
        }
    }

    /// The active generation's checkpoint of `projection` in the read store.
    async fn checkpoint(&self, projection: &str) -> Result<Option<u64>, ReadStoreError> {
        let generation = generation::active(&*self.reads, projection).await?;
        self.reads
            .checkpoint(&generation::checkpoint_key(projection, generation))
            .await
    }

    /// Re-reads the active generation's checkpoint, 2 ms doubling to 50 ms, until the deadline.
    async fn poll(
        &self,
        projection: &str,
        min_position: u64,
        deadline: Instant,
    ) -> Result<Option<u64>, ReadStoreError> {
        let mut delay = Duration::from_millis(2);
        loop {
            let reached = self.checkpoint(projection).await?;
            if reached >= Some(min_position) || Instant::now() + delay > deadline {
                return Ok(reached);
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_millis(50));
        }
    }
}

/// The time a query may wait: 90% of the caller's `grpc-timeout` (so the answer, naming the
/// reached position, arrives before the caller gives up), or `cap` when none was set.
pub fn wait_budget(grpc_timeout: Option<&str>, cap: Duration) -> Duration {
    grpc_timeout
        .and_then(parse_grpc_timeout)
        .map_or(cap, |d| d.mul_f64(0.9))
}

/// Parses a `grpc-timeout` header value: up to 8 digits and a unit (H, M, S, m, u, n).
fn parse_grpc_timeout(value: &str) -> Option<Duration> {
    let (digits, unit) = value.split_at(value.len().checked_sub(1)?);
    if digits.is_empty() || digits.len() > 8 {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n * 3600),
        "M" => Duration::from_secs(n * 60),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_timeouts_parse_and_unknown_ones_fall_back_to_the_cap() {
        let cap = Duration::from_secs(5);
        assert_eq!(wait_budget(Some("1000m"), cap), Duration::from_millis(900));
        assert_eq!(wait_budget(Some("2S"), cap), Duration::from_millis(1800));
        assert_eq!(wait_budget(None, cap), cap);
        assert_eq!(wait_budget(Some("12x"), cap), cap);
        assert_eq!(wait_budget(Some(""), cap), cap);
        assert_eq!(wait_budget(Some("123456789S"), cap), cap);
    }
}
