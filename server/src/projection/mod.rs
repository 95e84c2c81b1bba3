//! Projections fold events into read models. A runner per projection subscribes to the event
//! store from the projection's checkpoint, applies events in batches, and commits each batch's
//! documents together with the new checkpoint, so a crash never skips or double-applies an event.
//!
//! Layout:
//! - `view`: `BatchView`, what a projection reads and writes while folding one batch.
//! - `evolve`: `Evolve`, the pure step of a document that follows one entity's stream, shared
//!   with the history queries that replay a stream to a past point.
//! - `generation`: physical names of a projection's collections and checkpoint per rebuild
//!   generation, and the control document that says which generation queries read.
//! - `status`: live position, lag and health of each runner, shared in-process.
//! - `runner`: the loop (subscribe, batch, apply, commit, retry with backoff, park, rebuild).
//! - `read_ahead`: the feed read a batch ahead, so reading overlaps committing.
//! - `lookahead`: when a reader waits past the checkpoint, asking the store whether any event of
//!   the projection lies in between, beside the feed.
//! - `admission`: `--max-projection-lag`, refusing commands while their read models lag.
//! - `consistency`: read-your-writes, waiting until a projection reaches a position.
//! - `observe`: projection positions, lag, state, batch latency, read-your-writes waits, and
//!   batch spans linked to the writers' traces.

pub mod admin;
pub mod admission;
pub mod consistency;
pub mod evolve;
pub mod generation;
#[cfg(test)]
mod lag_tests;
mod lookahead;
mod observe;
mod read_ahead;
pub mod runner;
pub mod status;
#[cfg(test)]
pub mod testing;
#[cfg(test)]
mod tests;
pub mod view;

use async_trait::async_trait;

use crate::{
    kernel::DecodeError,
    readstore::{IndexSpec, ReadStoreError},
    store::RecordedEvent,
};

pub use evolve::Evolve;
pub use runner::ProjectionRunner;
pub use status::{ProjectionState, ProjectionStatus, Projections};
pub use view::BatchView;

/// A read model kept up to date from events.
#[async_trait]
pub trait Projection: Send + Sync + 'static {
    /// Stable name: the checkpoint key and health service suffix. Never rename a deployed one.
    fn name(&self) -> &'static str;

    /// Stream categories it reads; all others are skipped by the store.
    fn categories(&self) -> &'static [&'static str];

    /// Indexes its queries need, on logical collection names.
    fn indexes(&self) -> Vec<IndexSpec>;

    /// Folds one event into the read model through `view`. Must be deterministic: a rebuild
    /// from position 0 yields the same documents.
    async fn apply(
        &self,
        event: &RecordedEvent,
        view: &mut BatchView<'_>,
    ) -> Result<(), ProjectionError>;
}

impl ProjectionError {
    /// The read model and `event` disagree (`why`), naming the event so operators can find it.
    pub fn inconsistent(event: &RecordedEvent, why: impl std::fmt::Display) -> Self {
        Self::Inconsistent(format!(
            "{} at {}@{} (position {}): {why}",
            event.event_type, event.stream, event.revision, event.position
        ))
    }
}

/// Why a projection could not apply an event.
#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    /// The event cannot be read (a poison event): retried with backoff, reported unhealthy.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The read model is not in the shape the event assumes (e.g. an update for a document
    /// that was never created): also a poison event.
    #[error("read model inconsistent: {0}")]
    Inconsistent(String),
    /// The read store failed while the projection read a document.
    #[error(transparent)]
    Store(#[from] ReadStoreError),
}
