//! A group of commands on one stream, from its lane: the attempts (basis, decide, commit) until
//! every command is answered or the attempts run out, and step 3, the one append.

use tracing::debug;

use super::{
    CommandHandler, Job, MAX_ATTEMPTS,
    basis::{Basis, Found, Source},
    decide::{Round, Verdict, conflict},
};
use crate::{
    kernel::{Ack, Aggregate, CommandError, Head, history::EventRef},
    store::{ExpectedRevision, StoreError},
};

/// After step 3: everyone was answered, or some must be decided again on `Source`.
enum Committed<A: Aggregate> {
    Answered,
    Again(Vec<Job<A>>, Source<A>),
}

impl CommandHandler {
    /// Decides and appends `jobs` until each is answered or the attempts run out.
    pub(super) async fn run_group<A: Aggregate>(&self, stream: &str, jobs: Vec<Job<A>>) {
        let mut pending = jobs;
        let mut source = Source::Cache;
        for attempt in 1..=MAX_ATTEMPTS {
            let Found { basis, earlier } = match self.basis(stream, &pending, source).await {
                Ok(found) => found,
                Err(e) => return answer_all(pending, &e),
            };
            pending = self.answer_repeats(stream, pending, &earlier).await;
            if pending.is_empty() {
                return self.remember(stream, basis);
            }
            let round = self.decide(stream, &basis, &pending);
            if round.events.is_empty() {
                if basis.history.is_none() {
                    // Refusals and no-ops are never answered from a cached state.
                    source = Source::Store;
                    continue;
                }
                answer_unwritten(stream, pending, basis.head, round);
                return self.remember(stream, basis);
            }
            match self.commit(stream, pending, basis, round).await {
                Committed::Answered => return,
                Committed::Again(rest, next) => {
                    debug!(%stream, attempt, "lost an append race; deciding again");
                    if let Some(metrics) = &self.metrics {
                        metrics.retried();
                    }
                    pending = rest;
                    source = next;
                }
            }
        }
        let contested = CommandError::Conflict {
            stream: stream.to_owned(),
            detail: format!("still contested after {MAX_ATTEMPTS} attempts"),
        };
        answer_all(pending, &contested);
    }

    /// Step 3: appends the round's events with the revision the group was based on, and answers
    /// everyone; after a race lost to another process, catches up.
    async fn commit<A: Aggregate>(
        &self,
        stream: &str,
        jobs: Vec<Job<A>>,
        basis: Basis<A>,
        round: Round<A>,
    ) -> Committed<A> {
        let current = basis.head.map(|h| h.revision);
        let expected = current.map_or(ExpectedRevision::NoStream, ExpectedRevision::Exact);
        let ids = round.ids();
        let Round {
            state,
            events,
            verdicts,
        } = round;
        match self.store.append(stream, expected, events).await {
            Ok(appended) => {
                let head = Head {
                    revision: appended.revision,
                    position: appended.position,
                };
                let first = head.revision + 1 - ids.len() as u64;
                let written: Vec<EventRef> = (first..)
                    .zip(ids)
                    .map(|(revision, id)| EventRef {
                        id,
                        revision,
                        // Only a command's last position is ever answered: the append's last
                        // is a valid token for each (never earlier than its own events).
                        position: head.position,
                    })
                    .collect();
                let snapshot_at = self.snapshot_at(stream, &state, head, basis.snapshot_at);
                match basis.history {
                    Some(mut history) => {
                        history.extend(&written);
                        self.cache.put(stream, state, head, history, snapshot_at);
                    }
                    None => self
                        .cache
                        .advance(stream, current, state, head, &written, snapshot_at),
                }
                // The append proved the basis current, so every verdict stands.
                for (job, verdict) in jobs.into_iter().zip(verdicts) {
                    let answer = match verdict {
                        Verdict::Append { revision } => Ok(Ack {
                            stream_id: stream.to_owned(),
                            revision,
                            position: head.position,
                            deduplicated: false,
                        }),
                        Verdict::Done { at } if at == current => Ok(ack_at(stream, basis.head)),
                        Verdict::Done { at } => Ok(Ack {
                            stream_id: stream.to_owned(),
                            revision: at.unwrap_or(0),
                            position: head.position,
                            deduplicated: false,
                        }),
                        Verdict::Refused(refused) => Err(refused),
                    };
                    job.answer(answer);
                }
                Committed::Answered
            }
            Err(StoreError::WrongExpectedRevision { actual, .. }) => {
                self.lost(stream, jobs, basis, actual.0).await
            }
            Err(other) => {
                answer_all(jobs, &CommandError::from(other));
                Committed::Answered
            }
        }
    }

    /// After a lost race: callers that named their expected revision hear the conflict at
    /// once; the others are decided again on the basis caught up with the winners' events (or
    /// answered as repeats when a winner was their own retry, handled elsewhere).
    async fn lost<A: Aggregate>(
        &self,
        stream: &str,
        jobs: Vec<Job<A>>,
        basis: Basis<A>,
        actual: Option<u64>,
    ) -> Committed<A> {
        let (named, rest): (Vec<_>, Vec<_>) = jobs
            .into_iter()
            .partition(|job| job.ctx.expected_revision.is_some());
        if !named.is_empty() {
            self.cache.forget(stream);
        }
        for job in named {
            let refused = conflict(stream, job.ctx.expected_revision, actual);
            job.answer(Err(refused));
        }
        if rest.is_empty() {
            return Committed::Answered;
        }
        match self.catch_up(stream, &rest, basis).await {
            Err(e) => {
                answer_all(rest, &e);
                Committed::Answered
            }
            Ok(None) => Committed::Again(rest, Source::Store),
            Ok(Some((basis, repeats))) => {
                let mut again = Vec::with_capacity(rest.len());
                for (job, repeat) in rest.into_iter().zip(repeats) {
                    match repeat {
                        Some(last) => {
                            let answer = self.repeat(stream, &job.ctx, last).await;
                            job.answer(answer);
                        }
                        None => again.push(job),
                    }
                }
                match again.is_empty() {
                    true => Committed::Answered,
                    false => Committed::Again(again, Source::CaughtUp(basis)),
                }
            }
        }
    }
}

/// Answers a round that appended nothing, decided on a basis read from the store at `head`.
fn answer_unwritten<A: Aggregate>(
    stream: &str,
    jobs: Vec<Job<A>>,
    head: Option<Head>,
    round: Round<A>,
) {
    for (job, verdict) in jobs.into_iter().zip(round.verdicts) {
        let answer = match verdict {
            Verdict::Refused(refused) => Err(refused),
            Verdict::Append { .. } | Verdict::Done { .. } => Ok(ack_at(stream, head)),
        };
        job.answer(answer);
    }
}

/// The acknowledgement of a command that left `stream` at `head` (a stream that does not exist
/// is at revision 0, position 0).
fn ack_at(stream: &str, head: Option<Head>) -> Ack {
    head.unwrap_or(Head {
        revision: 0,
        position: 0,
    })
    .ack(stream, false)
}

/// Gives every job the same failure.
fn answer_all<A: Aggregate>(jobs: Vec<Job<A>>, error: &CommandError) {
    for job in jobs {
        job.answer(Err(error.clone()));
    }
}
