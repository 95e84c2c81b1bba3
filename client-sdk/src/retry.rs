//! When a failed call is tried again, and how long to wait first.
//!
//! Retrying a command is safe because the SDK sends the same `command_id` on every attempt: the
//! server appends once and answers later attempts with the original acknowledgement. What is
//! retried is what can succeed on its own a moment later: `UNAVAILABLE`, transport failures
//! (connect errors, dropped connections) and, for commands without an expected revision,
//! `ABORTED`. Everything that depends on the request itself (`INVALID_ARGUMENT`,
//! `FAILED_PRECONDITION`, `NOT_FOUND`, ...) would fail again and is returned at once.

use std::time::Duration;

use tonic::{Code, Status};

use crate::error::{Origin, origin};

/// How many times and how patiently a call is retried. Waits grow exponentially from
/// `initial_backoff` up to `max_backoff`, with jitter so that many clients failing together do
/// not come back together. The client's deadline (see [`crate::ClientBuilder::deadline`])
/// bounds the whole call, retries included: no retry starts that could not finish in time.
///
/// What is retried, for commands and queries alike:
/// - `UNAVAILABLE`, and transport failures (connection refused, reset or dropped before the
///   answer arrived). A command keeps its `command_id` on every attempt, so if the lost attempt
///   was applied, the retry is answered with that original acknowledgement (`deduplicated`)
///   and nothing is applied twice.
/// - `ABORTED` on a command **without** an expected revision: the server already re-decided
///   against fresh state a few times and the stream stayed contested; deciding again a little
///   later is still exactly-once thanks to the command id, and usually succeeds.
///
/// Never retried: `ABORTED` on a command with `options.expected_revision` (the mismatch is the
/// answer the caller asked for), `INVALID_ARGUMENT`, `FAILED_PRECONDITION`, `NOT_FOUND`,
/// `UNAUTHENTICATED`, `PERMISSION_DENIED`, `DEADLINE_EXCEEDED` and anything else the same
/// request would get again.
///
/// ```
/// use std::time::Duration;
/// use causeway_client::RetryPolicy;
///
/// let patient = RetryPolicy::default()
///     .max_attempts(8)
///     .initial_backoff(Duration::from_millis(100))
///     .max_backoff(Duration::from_secs(5));
/// assert_eq!(patient.attempts(), 8);
/// assert_eq!(RetryPolicy::never().attempts(), 1);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    max_attempts: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
    multiplier: f64,
}

impl Default for RetryPolicy {
    /// Four attempts, waiting about 50 ms, 100 ms and 200 ms between them: enough to ride out a
    /// server restart or a dropped connection without holding a caller for long.
    fn default() -> Self {
        Self {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_secs(2),
            multiplier: 2.0,
        }
    }
}

impl RetryPolicy {
    /// One attempt and no retries, for callers that run their own retry loop.
    pub fn never() -> Self {
        Self::default().max_attempts(1)
    }

    /// Attempts in total, the first included (at least 1).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The wait before the first retry, before jitter.
    pub fn initial_backoff(mut self, backoff: Duration) -> Self {
        self.initial_backoff = backoff;
        self
    }

    /// The longest wait between two attempts, before jitter.
    pub fn max_backoff(mut self, backoff: Duration) -> Self {
        self.max_backoff = backoff;
        self
    }

    /// How much each wait grows over the previous one (at least 1.0; non-numbers count as 1.0).
    pub fn multiplier(mut self, multiplier: f64) -> Self {
        self.multiplier = if multiplier.is_finite() {
            multiplier.max(1.0)
        } else {
            1.0
        };
        self
    }

    /// Attempts in total, the first included.
    pub fn attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The wait after failed attempt number `attempt` (1-based): "equal jitter", half of the
    /// exponential step fixed and half random, so waits never collapse to zero yet spread out.
    pub(crate) fn backoff(&self, attempt: u32) -> Duration {
        let exponent = i32::try_from(attempt.saturating_sub(1)).unwrap_or(i32::MAX);
        let step = (self.initial_backoff.as_secs_f64() * self.multiplier.powi(exponent))
            .min(self.max_backoff.as_secs_f64());
        let step = if step.is_finite() && step > 0.0 {
            step
        } else {
            0.0
        };
        let half = step / 2.0;
        Duration::try_from_secs_f64(half + half * fastrand::f64()).unwrap_or(self.max_backoff)
    }

    /// Whether a call of `kind` that failed with `status` may be tried again.
    pub(crate) fn retries(&self, status: &Status, kind: CallKind) -> bool {
        match origin(status) {
            // The caller's deadline is spent; another attempt would have no time left.
            Origin::ClientDeadline => false,
            // Nothing was answered: a query is harmless to repeat, a command is deduplicated.
            Origin::Transport => true,
            Origin::Server => match status.code() {
                Code::Unavailable => true,
                // The server already re-decided a few times against fresh state before giving
                // up; a later attempt with the same command id is still exactly-once. With an
                // expected revision the mismatch is the answer the caller asked for.
                Code::Aborted => kind == CallKind::Command,
                _ => false,
            },
        }
    }
}

/// What kind of call failed, which decides whether `ABORTED` is worth another attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CallKind {
    /// A read; never changes anything.
    Query,
    /// A command without an expected revision: the server decides against the current state.
    Command,
    /// A command the caller pinned to a stream revision (`options.expected_revision`).
    CommandAtRevision,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_only_what_can_succeed_by_itself() {
        let policy = RetryPolicy::default();
        let transport = Status::from_error(Box::new(std::io::Error::other("connection reset")));
        let timer = Status::from_error(Box::new(tonic::TimeoutExpired(())));
        for kind in [
            CallKind::Query,
            CallKind::Command,
            CallKind::CommandAtRevision,
        ] {
            assert!(policy.retries(&Status::unavailable("down"), kind));
            assert!(policy.retries(&transport, kind));
            assert!(!policy.retries(&timer, kind));
            for never in [
                Status::invalid_argument("x"),
                Status::failed_precondition("x"),
                Status::not_found("x"),
                Status::deadline_exceeded("x"),
                Status::unauthenticated("x"),
                Status::permission_denied("x"),
                Status::internal("x"),
            ] {
                assert!(!policy.retries(&never, kind), "{never:?} {kind:?}");
            }
        }
        let aborted = Status::aborted("contested");
        assert!(policy.retries(&aborted, CallKind::Command));
        assert!(!policy.retries(&aborted, CallKind::CommandAtRevision));
        assert!(!policy.retries(&aborted, CallKind::Query));
    }

    #[test]
    fn backoff_grows_with_jitter_and_stays_capped() {
        let policy = RetryPolicy::default()
            .initial_backoff(Duration::from_millis(100))
            .max_backoff(Duration::from_millis(350));
        for _ in 0..100 {
            let first = policy.backoff(1);
            assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
            let third = policy.backoff(3);
            assert!(third >= Duration::from_millis(175) && third <= Duration::from_millis(350));
            assert!(policy.backoff(u32::MAX) <= Duration::from_millis(350));
        }
        let odd = RetryPolicy::default().multiplier(f64::NAN).max_attempts(0);
        assert_eq!(odd.attempts(), 1);
        assert!(odd.backoff(10) <= Duration::from_millis(50));
    }
}
