//! A group of commands on one stream, from its lane: the attempts (basis, decide, commit) until
//! every command is answered or the attempts run out, and step 3, the one append.
//!
//! The group decides on its basis in place: after its append the state goes back into the
//! cache as it is; after a race lost to another process (or a store failure) it is dropped and
//! the next attempt reads the stream again (its snapshot and the events after it).

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

/// After step 3: everyone was answered, or some must be decided again on a fresh read.
enum Committed<A: Aggregate> {
    Answered,
    Again(Vec<Job<A>>),
}

impl CommandHandler {
    /// Decides and appends `jobs` until each is answered or the attempts run out.
    pub(super) async fn run_group<A: Aggregate>(&self, stream: &str, jobs: Vec<Job<A>>) {
        let mut pending = jobs;
        let mut source = Source::Cache;
        for attempt in 1..=MAX_ATTEMPTS {
            let Found { mut basis, earlier } = match self.basis(stream, &pending, source).await {
                Ok(found) => found,
                Err(e) => return answer_all(pending, &e),
            };
            pending = self.answer_repeats(stream, pending, &earlier).await;
            if pending.is_empty() {
                return self.remember(stream, basis);
            }
            let round = self.decide(stream, &mut basis.state, basis.head, &pending);
            if round.events.is_empty() {
                if basis.cached {
                    // Refusals and no-ops are never answered from a cached state.
                    source = Source::Store;
                    continue;
                }
                answer_unwritten(stream, pending, basis.head, round);
                return self.remember(stream, basis);
            }
            match self.commit(stream, pending, basis, round).await {
                Committed::Answered => return,
                Committed::Again(rest) => {
                    debug!(%stream, attempt, "lost an append race; deciding again");
                    if let Some(metrics) = &self.metrics {
                        metrics.retried();
                    }
                    pending = rest;
                    source = Source::Store;
                }
            }
        }
        let contested = CommandError::Conflict {
            stream: stream.to_owned(),
            detail: format!("still contested after {MAX_ATTEMPTS} attempts"),
        };
        answer_all(pending, &contested);
    }

    /// Step 3: appends the round's events with the revision the group was based on (whose
    /// state already holds them), and answers everyone.
    async fn commit<A: Aggregate>(
        &self,
        stream: &str,
        jobs: Vec<Job<A>>,
        basis: Basis<A>,
        round: Round,
    ) -> Committed<A> {
        let current = basis.head.map(|h| h.revision);
        let expected = current.map_or(ExpectedRevision::NoStream, ExpectedRevision::Exact);
        let ids = round.ids();
        let Round { events, verdicts } = round;
        match self.store.append(stream, expected, events).await {
            Ok(appended) => {
                let head = Head {
                    revision: appended.revision,
                    position: appended.position,
                };
                let first = head.revision + 1 - ids.len() as u64;
                let positions = match self.positions(stream, first, head, &ids, &verdicts).await {
                    Ok(positions) => positions,
                    Err(error) => {
                        // Appended, but which position each command's last event has is not
                        // known: they hear the failure and their retries are answered as
                        // repeats, with the positions read back then. The state is dropped.
                        answer_all(jobs, &CommandError::from(error));
                        return Committed::Answered;
                    }
                };
                // Every revision asked about is one this append wrote; anything else gets the
                // append's last position, a valid token never earlier than its own events.
                let position_of = |revision: u64| {
                    revision
                        .checked_sub(first)
                        .and_then(|i| positions.get(usize::try_from(i).ok()?))
                        .copied()
                        .unwrap_or(head.position)
                };
                let written: Vec<EventRef> = (first..)
                    .zip(ids)
                    .map(|(revision, id)| EventRef {
                        id,
                        revision,
                        position: position_of(revision),
                    })
                    .collect();
                let snapshot_at = self.snapshot_at(stream, &basis.state, head, basis.snapshot_at);
                let mut history = basis.history;
                history.extend(&written);
                self.cache
                    .put(stream, basis.state, head, history, snapshot_at);
                // The append proved the basis current, so every verdict stands.
                let ack_of = |revision: u64| {
                    Head {
                        revision,
                        position: position_of(revision),
                    }
                    .ack(stream, false)
                };
                for (job, verdict) in jobs.into_iter().zip(verdicts) {
                    let answer = match verdict {
                        Verdict::Append { revision } => Ok(ack_of(revision)),
                        Verdict::Done { at } if at == current => Ok(ack_at(stream, basis.head)),
                        Verdict::Done { at } => Ok(ack_of(at.unwrap_or(0))),
                        Verdict::Refused(refused) => Err(refused),
                    };
                    job.answer(answer);
                }
                Committed::Answered
            }
            Err(StoreError::WrongExpectedRevision { actual, .. }) => lost(stream, jobs, actual.0),
            Err(other) => {
                answer_all(jobs, &CommandError::from(other));
                Committed::Answered
            }
        }
    }
}

impl CommandHandler {
    /// The global position of each event of an append that ended at `head` (from revision
    /// `first` on). A command is answered with its own last event's position, as the contract
    /// says and as a repeat of it is answered later; when the append holds the events of more
    /// than one command (a group), only the last one's is the append's, so the others are read
    /// back: one read per such append. Empty when no command is answered inside the append
    /// (the caller then answers each revision with the head's position).
    async fn positions(
        &self,
        stream: &str,
        first: u64,
        head: Head,
        ids: &[uuid::Uuid],
        verdicts: &[Verdict],
    ) -> Result<Vec<u64>, StoreError> {
        let answered_inside = verdicts.iter().any(|v| match v {
            Verdict::Append { revision } => *revision != head.revision,
            Verdict::Done { at } => at.is_some_and(|at| at >= first && at != head.revision),
            Verdict::Refused(_) => false,
        });
        if !answered_inside {
            // Nothing answered inside the append: every revision falls back to its head.
            return Ok(Vec::new());
        }
        let records = self.store.read_stream(stream, first).await?;
        let positions: Vec<u64> = records
            .iter()
            .zip(ids)
            .take_while(|(record, id)| record.id == **id)
            .map(|(record, _)| record.position)
            .collect();
        if positions.len() == ids.len() {
            Ok(positions)
        } else {
            Err(StoreError::Unavailable(format!(
                "{stream}: the events just appended from revision {first} did not read back"
            )))
        }
    }
}

/// After a race lost to another process: callers that named their expected revision hear the
/// conflict at once; the others are decided again on the stream as it now is (a winner that
/// was their own retry, handled elsewhere, is then found as a repeat).
fn lost<A: Aggregate>(stream: &str, jobs: Vec<Job<A>>, actual: Option<u64>) -> Committed<A> {
    let (named, rest): (Vec<_>, Vec<_>) = jobs
        .into_iter()
        .partition(|job| job.ctx.expected_revision.is_some());
    for job in named {
        let refused = conflict(stream, job.ctx.expected_revision, actual);
        job.answer(Err(refused));
    }
    match rest.is_empty() {
        true => Committed::Answered,
        false => Committed::Again(rest),
    }
}

/// Answers a round that appended nothing, decided on a basis read from the store at `head`.
fn answer_unwritten<A: Aggregate>(
    stream: &str,
    jobs: Vec<Job<A>>,
    head: Option<Head>,
    round: Round,
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
