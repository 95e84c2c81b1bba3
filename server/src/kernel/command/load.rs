//! Loading an aggregate from the store: through its latest snapshot when it has one this code
//! can read (then only the events after it are folded), else from the start of its stream. A
//! snapshot of another version, one that does not decode, or one whose revision and position
//! do not match the stream are ignored (the last two with a warning) and the stream is folded
//! whole. A load that folded enough events hands a new snapshot to the store.

use tracing::{debug, warn};

use super::{CommandHandler, Loaded};
use crate::{
    kernel::{
        Aggregate, CommandError, Head,
        history::{EventRef, History},
    },
    store::{RecordedEvent, Snapshot, StreamTail},
};

impl CommandHandler {
    /// Loads the aggregate of `stream` from the store (never from the cache): its snapshot and
    /// the events after it, or all of its events, upcast as needed.
    pub async fn load<A: Aggregate>(&self, stream: &str) -> Result<Loaded<A>, CommandError> {
        let snapshots = self.snapshots.enabled() && A::snapshots().is_some();
        let loaded = match snapshots {
            true => {
                let tail = self.store.read_tail(stream).await?;
                match self.through_snapshot::<A>(stream, tail)? {
                    Some(loaded) => loaded,
                    None => self.whole::<A>(stream).await?,
                }
            }
            false => self.whole::<A>(stream).await?,
        };
        Ok(self.snapshot_if_due(stream, loaded))
    }

    /// Every event of `stream`, folded from the start.
    async fn whole<A: Aggregate>(&self, stream: &str) -> Result<Loaded<A>, CommandError> {
        let records = self.store.read_stream(stream, 0).await?;
        self.folded(stream, A::default(), &records, None)
    }

    /// `tail` folded onto its snapshot; `None` when the snapshot cannot be used and the whole
    /// stream must be read. Without a snapshot the tail is the whole stream already.
    fn through_snapshot<A: Aggregate>(
        &self,
        stream: &str,
        tail: StreamTail,
    ) -> Result<Option<Loaded<A>>, CommandError> {
        let Some(snapshot) = tail.snapshot else {
            return self
                .folded(stream, A::default(), &tail.events, None)
                .map(Some);
        };
        let Some(codec) = A::snapshots() else {
            return Ok(None);
        };
        if snapshot.version != codec.version {
            debug!(%stream, stored = snapshot.version, current = codec.version,
                "ignoring a snapshot of another version; folding the stream from its start");
            return Ok(None);
        }
        let matches = tail
            .events
            .first()
            .is_some_and(|e| e.revision == snapshot.revision && e.position == snapshot.position);
        if !matches {
            warn!(%stream, revision = snapshot.revision,
                "ignoring a snapshot that does not match its stream; folding the stream from its start");
            return Ok(None);
        }
        let state = match (codec.decode)(&snapshot.state) {
            Ok(state) => state,
            Err(error) => {
                warn!(%stream, revision = snapshot.revision, %error,
                    "ignoring an unreadable snapshot; folding the stream from its start");
                return Ok(None);
            }
        };
        let mut loaded = self.folded(stream, state, &tail.events[1..], Some(snapshot.revision))?;
        if loaded.head.is_none() {
            loaded.head = Some(Head {
                revision: snapshot.revision,
                position: snapshot.position,
            });
        }
        Ok(Some(loaded))
    }

    /// `records` folded onto `state`, which is the stream's state at revision `after` (`None`:
    /// the empty state before revision 0).
    fn folded<A: Aggregate>(
        &self,
        stream: &str,
        mut state: A,
        records: &[RecordedEvent],
        after: Option<u64>,
    ) -> Result<Loaded<A>, CommandError> {
        let refs = self.fold(stream, &mut state, records)?;
        let history = match after {
            None => History::whole(refs),
            Some(revision) => History::since(revision + 1, refs),
        };
        Ok(Loaded {
            state,
            head: records.last().map(head_of),
            history,
            snapshot_at: after,
        })
    }

    /// Folds `records` of `stream` (upcast as needed) into `state`; returns their ids for
    /// deduplication.
    pub(super) fn fold<A: Aggregate>(
        &self,
        stream: &str,
        state: &mut A,
        records: &[RecordedEvent],
    ) -> Result<Vec<EventRef>, CommandError> {
        records
            .iter()
            .map(|record| {
                let event: A::Event = self.upcasters.decode(record).map_err(|e| {
                    CommandError::Corrupt(format!("{stream}@{}: {e}", record.revision))
                })?;
                state.apply(&event);
                Ok(EventRef {
                    id: record.id,
                    revision: record.revision,
                    position: record.position,
                })
            })
            .collect()
    }

    /// `loaded`, after handing a snapshot of it to the store when enough events were folded
    /// since its last one.
    pub(super) fn snapshot_if_due<A: Aggregate>(
        &self,
        stream: &str,
        mut loaded: Loaded<A>,
    ) -> Loaded<A> {
        if let Some(head) = loaded.head {
            loaded.snapshot_at = self.snapshot_at(stream, &loaded.state, head, loaded.snapshot_at);
        }
        loaded
    }

    /// Writes a snapshot of `state` at `head` when one is due; returns the revision of the
    /// stream's latest snapshot as this process then knows it.
    pub(super) fn snapshot_at<A: Aggregate>(
        &self,
        stream: &str,
        state: &A,
        head: Head,
        last: Option<u64>,
    ) -> Option<u64> {
        let Some(codec) = A::snapshots() else {
            return last;
        };
        if !self.snapshots.due(head.revision, last) {
            return last;
        }
        let snapshot = Snapshot {
            version: codec.version,
            revision: head.revision,
            position: head.position,
            state: (codec.encode)(state),
        };
        match self.snapshots.write(&self.store, stream, snapshot) {
            true => Some(head.revision),
            false => last,
        }
    }
}

pub(super) fn head_of(record: &RecordedEvent) -> Head {
    Head {
        revision: record.revision,
        position: record.position,
    }
}
