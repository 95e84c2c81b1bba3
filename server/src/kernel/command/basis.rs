//! Step 1 of a command, and catching up after a lost race: the aggregate's state and head from
//! the cache or the store, folded from its events; a command id already in the stream's history
//! found as a repeat.

use super::*;

impl CommandHandler {
    /// Step 1: the state to decide on, or the command's earlier run.
    pub(super) async fn basis<A: Aggregate>(
        &self,
        stream: &str,
        ctx: &CommandContext,
        source: Source<A>,
    ) -> Result<Found<A>, CommandError> {
        let earlier_run = |history: &[EventRef]| previous_run(stream, &ctx.command_id, history);
        if let Source::CaughtUp(basis) = source {
            return Ok(Found::Basis(basis));
        }
        if let Source::Cache = source {
            let hit = self.cache.get::<A>(stream, earlier_run);
            if let Some(metrics) = &self.metrics {
                metrics.looked_up(hit.is_some());
            }
            match hit {
                Some(Hit::Deduplicated(last)) => return Ok(Found::Repeat(last)),
                Some(Hit::State(state, head)) => {
                    return Ok(Found::Basis(Basis {
                        state,
                        head: Some(head),
                        history: None,
                    }));
                }
                None => {}
            }
        }
        let loaded = self.load::<A>(stream).await?;
        let repeat = earlier_run(&loaded.history);
        let basis = Basis {
            state: loaded.state,
            head: loaded.head,
            history: Some(loaded.history),
        };
        Ok(match repeat {
            Some(last) => {
                self.remember(stream, basis);
                Found::Repeat(last)
            }
            None => Found::Basis(basis),
        })
    }

    /// Folds what was written to `stream` after the basis of a lost append into it: after a
    /// lost race only the winners' events are read, not the whole stream. Keeps the cache in
    /// step.
    pub(super) async fn catch_up<A: Aggregate>(
        &self,
        stream: &str,
        ctx: &CommandContext,
        basis: Basis<A>,
    ) -> Result<Committed<A>, CommandError> {
        let from = basis.head.map_or(0, |h| h.revision + 1);
        let records = self.store.read_stream(stream, from).await?;
        let Some(last) = records.last() else {
            // Nothing after the head: the stream is not what the conflict said; reload it.
            self.cache.forget(stream);
            return Ok(Committed::Lost(Source::Store));
        };
        let head = head_of(last);
        let mut state = basis.state;
        let newer = self.fold(stream, &mut state, &records)?;
        // A retry of this very command may be among the winners (handled by another process).
        if let Some(last) = previous_run(stream, &ctx.command_id, &newer) {
            return self.repeat(stream, ctx, last).await.map(Committed::Done);
        }
        let history = match basis.history {
            Some(mut history) => {
                history.extend_from_slice(&newer);
                self.cache.put(stream, state.clone(), head, history.clone());
                Some(history)
            }
            None => {
                let from = basis.head.map(|h| h.revision);
                self.cache
                    .advance(stream, from, state.clone(), head, &newer);
                None
            }
        };
        Ok(Committed::Lost(Source::CaughtUp(Basis {
            state,
            head: Some(head),
            history,
        })))
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

    /// Caches a basis loaded whole from the store.
    pub(super) fn remember<A: Aggregate>(&self, stream: &str, basis: Basis<A>) {
        if let (Some(head), Some(history)) = (basis.head, basis.history) {
            self.cache.put(stream, basis.state, head, history);
        }
    }
}
