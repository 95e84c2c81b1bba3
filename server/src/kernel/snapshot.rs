//! Snapshots: an aggregate's state stored beside its stream every so many events, so that
//! loading a long stream reads the latest snapshot and the events after it, not the whole
//! stream.
//!
//! An aggregate opts in with [`Aggregate::snapshots`](super::Aggregate::snapshots), naming its
//! [`SnapshotCodec`]: how its state becomes bytes and back, and the version of that form. A
//! snapshot is only ever a shortcut. One of another version (the aggregate changed), one that
//! does not decode, or one that does not match the stream it claims to summarise is ignored
//! and the stream folded from the start, and the next snapshot replaces it.
//!
//! Writing one never delays a command: it is handed to the store in a task of its own, at most
//! [`MAX_WRITES_IN_FLIGHT`] at a time; when that many are pending the chance is skipped (the
//! next command past the interval takes it).

use std::sync::Arc;

use tokio::sync::Semaphore;
use tracing::debug;

use crate::store::{EventStore, Snapshot};

/// Events folded since the last snapshot after which a new one is written, by default.
pub const DEFAULT_EVERY: u64 = 100;

/// Snapshot writes handed to the store and not yet finished, at most.
pub const MAX_WRITES_IN_FLIGHT: usize = 16;

/// How an aggregate's state is stored in a snapshot.
pub struct SnapshotCodec<A> {
    /// The version of the stored form. Change it whenever the state's meaning or encoding
    /// changes (a new field, a changed fold): older snapshots are then ignored and refolded.
    pub version: u32,
    /// The state as bytes.
    pub encode: fn(&A) -> Vec<u8>,
    /// The state back from bytes; any error means the snapshot is ignored.
    pub decode: fn(&[u8]) -> Result<A, String>,
}

/// When snapshots are written and where: shared by the clones of one command handler.
#[derive(Clone)]
pub(super) struct Snapshots {
    every: u64,
    writes: Arc<Semaphore>,
}

impl std::fmt::Debug for Snapshots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshots")
            .field("every", &self.every)
            .finish()
    }
}

impl Snapshots {
    /// A snapshot once `every` events were folded since the last one; 0 turns them off (and
    /// stored ones are not read either).
    pub(super) fn every(every: u64) -> Self {
        Self {
            every,
            writes: Arc::new(Semaphore::new(MAX_WRITES_IN_FLIGHT)),
        }
    }

    /// Whether snapshots are read and written at all.
    pub(super) fn enabled(&self) -> bool {
        self.every > 0
    }

    /// Whether a state at `revision`, whose last snapshot is at `last` (`None`: none), is due
    /// for a new one.
    pub(super) fn due(&self, revision: u64, last: Option<u64>) -> bool {
        let folded = match last {
            Some(last) => revision.saturating_sub(last),
            None => revision + 1,
        };
        self.enabled() && folded >= self.every
    }

    /// Hands `snapshot` of `stream` to `store` in a task of its own, unless too many writes are
    /// pending already. Returns whether it was handed over.
    pub(super) fn write(
        &self,
        store: &Arc<dyn EventStore>,
        stream: &str,
        snapshot: Snapshot,
    ) -> bool {
        let Ok(permit) = Arc::clone(&self.writes).try_acquire_owned() else {
            return false;
        };
        let (store, stream) = (Arc::clone(store), stream.to_owned());
        tokio::spawn(async move {
            if let Err(e) = store.write_snapshot(&stream, snapshot).await {
                debug!(%stream, error = %e, "a snapshot was not stored; the stream is folded until the next one");
            }
            drop(permit);
        });
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_is_due_once_enough_events_were_folded_since_the_last() {
        let snapshots = Snapshots::every(100);
        assert!(!snapshots.due(98, None), "99 events folded");
        assert!(snapshots.due(99, None), "100 events folded");
        assert!(!snapshots.due(150, Some(99)));
        assert!(snapshots.due(199, Some(99)));
        let off = Snapshots::every(0);
        assert!(!off.enabled());
        assert!(!off.due(10_000, None));
    }
}
