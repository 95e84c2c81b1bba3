//! Looking ahead for readers. A reader waiting for a position past a projection's checkpoint
//! makes the runner ask the event store whether any event of the projection's categories lies
//! in between ([`EventStore::clear_through`]); if none does, the runner moves its checkpoint
//! there at once instead of waiting for the feed to say so. KurrentDB's feed says so only every
//! few dozen events, so without this a query for a position written in another category would
//! wait until its deadline.
//!
//! The question runs beside the feed (a task), so events of the projection's own categories are
//! applied while it is out. An answer stays true however far the feed got meanwhile: it is
//! about the stretch after the checkpoint the question was asked from.

use std::sync::Arc;

use tokio::task::JoinHandle;
use tracing::warn;

use crate::store::{EventStore, StoreError, SubscriptionFilter};

type Answer = Result<Option<u64>, StoreError>;

/// The positions readers wait for, and the question out to the store.
#[derive(Default)]
pub(super) struct LookAhead {
    /// The highest position a reader waits for that the checkpoint may not have reached.
    pending: Option<u64>,
    /// The position asked about, and the task asking.
    asking: Option<(u64, JoinHandle<Answer>)>,
}

impl LookAhead {
    /// A reader waits for `position` (0: none).
    pub(super) fn want(&mut self, position: u64) {
        if position > 0 {
            self.pending = self.pending.max(Some(position));
        }
    }

    /// Asks the store about the stretch after `checkpoint` unless a question is already out or
    /// no reader waits past `checkpoint`.
    pub(super) fn ask(
        &mut self,
        events: &Arc<dyn EventStore>,
        filter: &SubscriptionFilter,
        checkpoint: Option<u64>,
    ) {
        if self.asking.is_some() {
            return;
        }
        let Some(until) = self.pending.filter(|until| Some(*until) > checkpoint) else {
            self.pending = None;
            return;
        };
        let (events, filter) = (Arc::clone(events), filter.clone());
        let task =
            tokio::spawn(async move { events.clear_through(checkpoint, until, &filter).await });
        self.asking = Some((until, task));
    }

    /// The position the checkpoint may move to, once the store has answered; never resolves
    /// while no question is out. `None` when an event of ours lies ahead (the feed brings it,
    /// and the question is asked again after the next batch) or the store could not say.
    /// Cancel-safe: dropped unresolved, the question stays out.
    pub(super) async fn answer(&mut self, projection: &str) -> Option<u64> {
        let Some((until, task)) = &mut self.asking else {
            return std::future::pending().await;
        };
        let (until, answer) = (*until, task.await);
        self.asking = None;
        match answer {
            Ok(Ok(Some(clear))) => {
                if self.pending <= Some(until) {
                    self.pending = None;
                }
                Some(clear)
            }
            Ok(Ok(None)) => None,
            Ok(Err(error)) => {
                warn!(projection, %error, "could not look ahead; waiting for the feed");
                None
            }
            Err(error) => {
                warn!(projection, %error, "the look-ahead task ended abnormally");
                None
            }
        }
    }
}
