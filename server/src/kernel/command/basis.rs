//! Step 1 of a group: the state its commands are decided on, and which of them ran before.
//! After a lost race, catching up folds only the winners' events into the basis.

use super::{CommandHandler, Job, load::head_of};
use crate::kernel::{
    Aggregate, CommandError, Head,
    history::{Earlier, EventRef, History, run_of},
    ids::event_id,
};

/// What a group's decisions are based on.
pub(super) struct Basis<A> {
    pub(super) state: A,
    pub(super) head: Option<Head>,
    /// The ids the basis came with when it was read from the store; `None` when it came from
    /// the cache, whose answers other than "append" are re-checked against the store.
    pub(super) history: Option<History>,
    /// The revision of the stream's latest snapshot, as far as this process knows.
    pub(super) snapshot_at: Option<u64>,
}

/// Where the next attempt takes its basis from.
pub(super) enum Source<A> {
    Cache,
    Store,
    CaughtUp(Basis<A>),
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
        source: Source<A>,
    ) -> Result<Found<A>, CommandError> {
        let mut found = match source {
            Source::CaughtUp(basis) => Found {
                basis,
                // The winners' events were searched while catching up; the rest was before.
                earlier: vec![Earlier::New; jobs.len()],
            },
            Source::Cache => match self.cached(stream, jobs) {
                Some(found) => found,
                None => self.loaded(stream, jobs).await?,
            },
            Source::Store => self.loaded(stream, jobs).await?,
        };
        self.look_up_unknown(stream, jobs, &mut found.earlier)
            .await?;
        Ok(found)
    }

    fn cached<A: Aggregate>(&self, stream: &str, jobs: &[Job<A>]) -> Option<Found<A>> {
        let hit = self.cache.get::<A, _>(stream, |history| {
            jobs.iter()
                .map(|job| history.earlier(stream, &job.ctx.command_id))
                .collect::<Vec<_>>()
        });
        if let Some(metrics) = &self.metrics {
            metrics.looked_up(hit.is_some());
        }
        let hit = hit?;
        Some(Found {
            basis: Basis {
                state: hit.state,
                head: Some(hit.head),
                history: None,
                snapshot_at: hit.snapshot_at,
            },
            earlier: hit.found,
        })
    }

    async fn loaded<A: Aggregate>(
        &self,
        stream: &str,
        jobs: &[Job<A>],
    ) -> Result<Found<A>, CommandError> {
        let loaded = self.load::<A>(stream).await?;
        let earlier = jobs
            .iter()
            .map(|job| loaded.history.earlier(stream, &job.ctx.command_id))
            .collect();
        Ok(Found {
            basis: Basis {
                state: loaded.state,
                head: loaded.head,
                history: Some(loaded.history),
                snapshot_at: loaded.snapshot_at,
            },
            earlier,
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

    /// Folds what was written to `stream` after `basis` (the winners of a lost race) into it;
    /// only those events are read. Returns the new basis and, for each job, the last event of
    /// its run when a winner was a retry of it (handled by another process). Keeps the cache in
    /// step. `None`: nothing follows the basis's head after all; the stream must be reloaded.
    pub(super) async fn catch_up<A: Aggregate>(
        &self,
        stream: &str,
        jobs: &[Job<A>],
        basis: Basis<A>,
    ) -> Result<Option<(Basis<A>, Vec<Option<EventRef>>)>, CommandError> {
        let from = basis.head.map_or(0, |h| h.revision + 1);
        let records = self.store.read_stream(stream, from).await?;
        let Some(last) = records.last() else {
            self.cache.forget(stream);
            return Ok(None);
        };
        let head = head_of(last);
        let mut state = basis.state;
        let newer = self.fold(stream, &mut state, &records)?;
        let repeats = jobs
            .iter()
            .map(|job| run_of(stream, &job.ctx.command_id, &newer))
            .collect();
        let history = match basis.history {
            Some(mut history) => {
                history.extend(&newer);
                self.cache.put(
                    stream,
                    state.clone(),
                    head,
                    history.clone(),
                    basis.snapshot_at,
                );
                Some(history)
            }
            None => {
                let from = basis.head.map(|h| h.revision);
                self.cache
                    .advance(stream, from, state.clone(), head, &newer, basis.snapshot_at);
                None
            }
        };
        let basis = Basis {
            state,
            head: Some(head),
            history,
            snapshot_at: basis.snapshot_at,
        };
        Ok(Some((basis, repeats)))
    }

    /// Caches a basis read from the store.
    pub(super) fn remember<A: Aggregate>(&self, stream: &str, basis: Basis<A>) {
        if let (Some(head), Some(history)) = (basis.head, basis.history) {
            self.cache
                .put(stream, basis.state, head, history, basis.snapshot_at);
        }
    }
}
