//! Aggregates are state folded from their own stream's events. Deciding what happens next is a
//! pure function of that state (see each context's `domain.rs`); nothing here does I/O.

use super::{DomainEvent, snapshot::SnapshotCodec};

/// The consistency boundary of one stream, `<CATEGORY>-<id>`.
/// `Clone` because the command handler keeps states in its aggregate cache.
pub trait Aggregate: Clone + Default + Send + Sync + 'static {
    /// Stream category, the part of the stream name before the first `-`.
    const CATEGORY: &'static str;

    /// The events this aggregate is made of.
    type Event: DomainEvent;

    /// Folds one event into the state. Must not fail: events are facts that already happened.
    fn apply(&mut self, event: &Self::Event);

    /// How this aggregate's state is snapshotted, when its streams grow long enough to be
    /// worth it (see `kernel::snapshot`). The default: never.
    fn snapshots() -> Option<SnapshotCodec<Self>> {
        None
    }

    /// About how many bytes the state takes in memory, for the aggregate cache's bound. The
    /// default, its inline size, fits states that own nothing on the heap; states that grow
    /// (collections, long text) count what they hold.
    fn footprint(&self) -> usize {
        std::mem::size_of::<Self>()
    }

    /// The name of the stream for the aggregate with this id.
    fn stream_id(id: &str) -> String {
        format!("{}-{}", Self::CATEGORY, id)
    }

    /// State after all of `events`, in order.
    fn fold<'a>(events: impl IntoIterator<Item = &'a Self::Event>) -> Self
    where
        Self::Event: 'a,
    {
        let mut state = Self::default();
        for event in events {
            state.apply(event);
        }
        state
    }
}
