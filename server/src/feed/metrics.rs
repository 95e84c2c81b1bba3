//! What the feed counts: subscriptions open now, how they ended, and events delivered, so an
//! operator sees stalled consumers and the tests can watch a subscription end.

use prometheus_client::{
    encoding::{EncodeLabelSet, EncodeLabelValue},
    metrics::{counter::Counter, family::Family, gauge::Gauge},
};

use causeway_telemetry::Metrics;

/// Why a subscription ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub enum Ending {
    /// The consumer went away (cancelled, disconnected).
    gone,
    /// The consumer took nothing for longer than the stall timeout.
    stalled,
    /// The event store failed, or a stored event could not be read.
    failed,
    /// The server is shutting down.
    shutdown,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct EndingLabels {
    reason: Ending,
}

/// The feed's gauges and counters, registered in a process's [`Metrics`].
#[derive(Debug, Clone, Default)]
pub struct FeedMetrics {
    open: Gauge,
    ended: Family<EndingLabels, Counter>,
    delivered: Counter,
}

impl FeedMetrics {
    /// The metrics, registered in `metrics`.
    pub fn new(metrics: &Metrics) -> Self {
        Self {
            open: metrics.register(
                "feed_subscriptions",
                "Event feed subscriptions open now.",
                Gauge::default(),
            ),
            ended: metrics.register(
                "feed_subscriptions_ended",
                "Event feed subscriptions ended, by reason.",
                Family::default(),
            ),
            delivered: metrics.register(
                "feed_events_delivered",
                "Events handed to event feed subscribers.",
                Counter::default(),
            ),
        }
    }

    /// A subscription started.
    pub fn opened(&self) {
        self.open.inc();
    }

    /// A subscription ended for `reason`.
    pub fn ended(&self, reason: Ending) {
        self.open.dec();
        self.ended.get_or_create(&EndingLabels { reason }).inc();
    }

    /// One event handed to a subscriber.
    pub fn delivered(&self) {
        self.delivered.inc();
    }
}
