//! Step 2 of a group: the pure decisions, one command after the other on the evolving state,
//! each unless the caller's expected revision refuses it first.

use uuid::Uuid;

use super::{CommandHandler, Job, now};
use crate::{
    kernel::{Aggregate, CommandError, Head},
    store::NewEvent,
};

/// What step 2 decided for one command.
pub(super) enum Verdict {
    /// Its events are in the round's append; its last one lands at `revision`.
    Append { revision: u64 },
    /// Nothing to append: the command is done with the stream at `at` (`None`: no stream).
    Done { at: Option<u64> },
    /// Refused (by the domain, or by the caller's expected revision).
    Refused(CommandError),
}

/// What step 2 decided for a whole group.
pub(super) struct Round {
    /// Every command's events, in order, encoded.
    pub(super) events: Vec<NewEvent>,
    /// One verdict per command, in order.
    pub(super) verdicts: Vec<Verdict>,
}

impl Round {
    /// The ids of the round's events, in order.
    pub(super) fn ids(&self) -> Vec<Uuid> {
        self.events.iter().map(|e| e.id).collect()
    }
}

impl CommandHandler {
    /// Step 2: each of `jobs` decided on the state the ones before it left, starting from
    /// `state` at `head`, which ends up with every event of the round applied.
    pub(super) fn decide<A: Aggregate>(
        &self,
        stream: &str,
        state: &mut A,
        head: Option<Head>,
        jobs: &[Job<A>],
    ) -> Round {
        let mut current = head.map(|h| h.revision);
        let timestamp = now();
        let mut events = Vec::new();
        let mut verdicts = Vec::with_capacity(jobs.len());
        for job in jobs {
            if let Some(expected) = job.ctx.expected_revision
                && current != Some(expected)
            {
                verdicts.push(Verdict::Refused(conflict(stream, Some(expected), current)));
                continue;
            }
            let verdict = match (job.decide)(state) {
                Ok(decided) if !decided.is_empty() => {
                    decided.iter().for_each(|event| state.apply(event));
                    events.extend(self.encode(stream, &job.ctx, &decided, &timestamp));
                    let first = current.map_or(0, |r| r + 1);
                    let last = first + (decided.len() as u64 - 1);
                    current = Some(last);
                    Verdict::Append { revision: last }
                }
                Ok(_) => Verdict::Done { at: current },
                Err(refused) => Verdict::Refused(refused),
            };
            verdicts.push(verdict);
        }
        Round { events, verdicts }
    }
}

pub(super) fn conflict(stream: &str, expected: Option<u64>, actual: Option<u64>) -> CommandError {
    let show =
        |r: Option<u64>| r.map_or_else(|| "no stream".to_owned(), |r| format!("revision {r}"));
    CommandError::Conflict {
        stream: stream.to_owned(),
        detail: format!("expected {}, found {}", show(expected), show(actual)),
    }
}
