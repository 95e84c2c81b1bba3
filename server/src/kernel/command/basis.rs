//! Step 1 of a group: the state its commands are decided on, and which of them ran before.

use super::{CommandHandler, Job};
use crate::kernel::{
    Aggregate, CommandError, Head,
    history::{Earlier, EventRef, History, run_of},
    ids::event_id,
};

/// What a group's decisions are based on. Owned: the group decides on it in place.
pub(super) struct Basis<A> {
    pub(super) state: A,
    pub(super) head: Option<Head>,
    /// The ids held of the stream, for deduplication.
    pub(super) history: History,
    /// Taken from the cache: its answers other than "append" are re-checked against the
    /// store, unless an append of the group proved it current.
    pub(super) cached: bool,
    /// The revision of the stream's latest snapshot, as far as this process knows.
    pub(super) snapshot_at: Option<u64>,
}

/// Where an attempt takes its basis from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Source {
    Cache,
    Store,
}

/// A basis, and for each command of the group whether it ran before.
pub(super) struct Found<A> {
    pub(super) basis: Basis<A>,
    pub(super) earlier: Vec<Earlier>,
}

impl CommandHandler {
    /// Step 1: the basis of `jobs` on `stream` from `source`, with each job's earlier run.
    /// Nothing comes back [`Earlier::Unknown`]: ids not held are looked up in the store.
    pub(super) async fn basis<A: Aggregate>(
        &self,
        stream: &str,
        jobs: &[Job<A>],
        source: Source,
    ) -> Result<Found<A>, CommandError> {
        let cached = match source {
            Source::Cache => self.cached(stream),
            Source::Store => None,
        };
        let basis = match cached {
            Some(basis) => basis,
            None => self.loaded(stream).await?,
        };
        let mut earlier: Vec<Earlier> = jobs
            .iter()
            .map(|job| basis.history.earlier(stream, &job.ctx.command_id))
            .collect();
        self.look_up_unknown(stream, jobs, &mut earlier).await?;
        Ok(Found { basis, earlier })
    }

    fn cached<A: Aggregate>(&self, stream: &str) -> Option<Basis<A>> {
        let hit = self.cache.take::<A>(stream);
        if let Some(metrics) = &self.metrics {
            metrics.looked_up(hit.is_some());
        }
        let hit = hit?;
        Some(Basis {
            state: hit.state,
            head: Some(hit.head),
            history: hit.history,
            cached: true,
            snapshot_at: hit.snapshot_at,
        })
    }

    async fn loaded<A: Aggregate>(&self, stream: &str) -> Result<Basis<A>, CommandError> {
        let loaded = self.load::<A>(stream).await?;
        Ok(Basis {
            state: loaded.state,
            head: loaded.head,
            history: loaded.history,
            cached: false,
            snapshot_at: loaded.snapshot_at,
        })
    }

    /// Asks the store about the commands whose first event id is not among the ids held,
    /// all at once; each becomes `Ran` (its run read back from the store) or `New`.
    async fn look_up_unknown<A: Aggregate>(
        &self,
        stream: &str,
        jobs: &[Job<A>],
        earlier: &mut [Earlier],
    ) -> Result<(), CommandError> {
        let unknown: Vec<usize> = (0..jobs.len())
            .filter(|i| earlier[*i] == Earlier::Unknown)
            .collect();
        if unknown.is_empty() {
            return Ok(());
        }
        let ids: Vec<_> = unknown
            .iter()
            .map(|i| event_id(&jobs[*i].ctx.command_id, stream, 0))
            .collect();
        let stored = self.store.find_events(stream, &ids).await?;
        for (i, id) in unknown.into_iter().zip(ids) {
            earlier[i] = match stored.iter().find(|(found, _)| *found == id) {
                None => Earlier::New,
                Some((_, revision)) => {
                    let records = self.store.read_stream(stream, *revision).await?;
                    let refs: Vec<EventRef> = records
                        .iter()
                        .map(|r| EventRef {
                            id: r.id,
                            revision: r.revision,
                            position: r.position,
                        })
                        .collect();
                    run_of(stream, &jobs[i].ctx.command_id, &refs)
                        .map_or(Earlier::New, Earlier::Ran)
                }
            };
        }
        Ok(())
    }

    /// Puts a basis that nothing was appended to back into the cache.
    pub(super) fn remember<A: Aggregate>(&self, stream: &str, basis: Basis<A>) {
        if let Some(head) = basis.head {
            self.cache
                .put(stream, basis.state, head, basis.history, basis.snapshot_at);
        }
    }
}
