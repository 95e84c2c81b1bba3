//! What the command handler counts: how each command ended, how often an optimistic append
//! lost a race and was decided again, and how often the aggregate cache answered.

use prometheus_client::{
    encoding::{EncodeLabelSet, EncodeLabelValue},
    metrics::{counter::Counter, family::Family},
};

use super::{Ack, CommandError};
use causeway_telemetry::Metrics;

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub enum CommandOutcome {
    /// Its events were appended (or it decided nothing needed appending).
    applied,
    /// A repeat of a command already handled: answered with its first acknowledgement.
    deduplicated,
    /// A business rule or an unknown entity refused it.
    refused,
    /// The stream stayed contested, or a caller's expected revision did not match.
    conflict,
    /// Its command id was used before for another request.
    reused,
    /// Refused for now: a read model it feeds lags beyond `--max-projection-lag`.
    throttled,
    /// Malformed, the store failed, or a stored event was unreadable.
    failed,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct OutcomeLabels {
    aggregate: &'static str,
    outcome: CommandOutcome,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct CacheLabels {
    result: &'static str,
}

/// The command handler's counters, registered in a process's [`Metrics`].
#[derive(Debug, Clone)]
pub struct KernelMetrics {
    outcomes: Family<OutcomeLabels, Counter>,
    retries: Counter,
    cache: Family<CacheLabels, Counter>,
}

impl KernelMetrics {
    /// The counters, registered in `metrics`.
    pub fn new(metrics: &Metrics) -> Self {
        Self {
            outcomes: metrics.register(
                "commands",
                "Commands handled, by aggregate category and outcome.",
                Family::default(),
            ),
            retries: metrics.register(
                "command_concurrency_retries",
                "Optimistic appends that lost a race and were decided again.",
                Counter::default(),
            ),
            cache: metrics.register(
                "aggregate_cache_lookups",
                "Aggregate cache lookups, by result (hit or miss).",
                Family::default(),
            ),
        }
    }

    /// Counts a finished command on an aggregate of `category`.
    pub(super) fn finished(&self, category: &'static str, result: &Result<Ack, CommandError>) {
        let outcome = match result {
            Ok(ack) if ack.deduplicated => CommandOutcome::deduplicated,
            Ok(_) => CommandOutcome::applied,
            Err(CommandError::Rejected(_) | CommandError::NotFound(_)) => CommandOutcome::refused,
            Err(CommandError::Conflict { .. }) => CommandOutcome::conflict,
            Err(CommandError::Reused { .. }) => CommandOutcome::reused,
            Err(CommandError::Overloaded { .. }) => CommandOutcome::throttled,
            Err(_) => CommandOutcome::failed,
        };
        self.outcomes
            .get_or_create(&OutcomeLabels {
                aggregate: category,
                outcome,
            })
            .inc();
    }

    /// Counts a lost race.
    pub(super) fn retried(&self) {
        self.retries.inc();
    }

    /// Counts a cache lookup.
    pub(super) fn looked_up(&self, hit: bool) {
        let result = if hit { "hit" } else { "miss" };
        self.cache.get_or_create(&CacheLabels { result }).inc();
    }
}
