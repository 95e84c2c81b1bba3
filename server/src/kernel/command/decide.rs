//! Step 2 of a command: the pure decision on its basis, unless the caller's expected revision
//! refuses it first.

use super::{Basis, Outcome};
use crate::kernel::{Aggregate, CommandContext, CommandError};

/// Step 2: the decision on `basis`, or the caller's expected revision refusing it.
pub(super) fn decision<A, E>(
    stream: &str,
    ctx: &CommandContext,
    basis: &Basis<A>,
    decide: impl Fn(&A) -> Result<Vec<A::Event>, E>,
) -> Outcome<A::Event>
where
    A: Aggregate,
    E: Into<CommandError>,
{
    let current = basis.head.map(|h| h.revision);
    match ctx.expected_revision {
        Some(expected) if current != Some(expected) => {
            Outcome::Answer(Err(conflict(stream, Some(expected), current)))
        }
        _ => match decide(&basis.state) {
            Ok(events) if !events.is_empty() => Outcome::Append(events),
            Ok(_) => Outcome::Answer(Ok(())),
            Err(refused) => Outcome::Answer(Err(refused.into())),
        },
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
