//! What the projection runners and read-your-writes waits tell operators: per projection its
//! position, the store's head, lag in events and seconds, parked events and state
//! (`serving`, `stuck`, `rebuilding`), read from the live statuses at each scrape; how long
//! committing a batch takes; how many queries waited for a position and how many gave up; and
//! each batch's span, linked to the traces of the requests that wrote its events.

use prometheus_client::{
    collector::Collector,
    encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric},
    metrics::{counter::Counter, family::Family, gauge::ConstGauge, histogram::Histogram},
};

use super::{ProjectionState, Projections};
use crate::store::RecordedEvent;
use causeway_telemetry::Metrics;

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub(super) struct ProjectionLabel {
    pub(super) projection: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub(super) struct WaitLabels {
    pub(super) projection: String,
    pub(super) outcome: &'static str,
}

/// The families the runners and readers record into; registered once per process.
#[derive(Debug, Clone)]
pub(super) struct Observations {
    pub(super) batch_seconds: Family<ProjectionLabel, Histogram>,
    pub(super) waits: Family<WaitLabels, Counter>,
}

impl Default for Observations {
    fn default() -> Self {
        Self {
            batch_seconds: Family::new_with_constructor(|| {
                Histogram::new([
                    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
                ])
            }),
            waits: Family::default(),
        }
    }
}

impl Projections {
    /// Registers the projections' metrics in `metrics`: the families runners and readers
    /// record into, and the statuses read at each scrape.
    pub fn register_metrics(&self, metrics: &Metrics) {
        let observations = self.observations();
        metrics.register(
            "projection_batch_duration_seconds",
            "Time to fold and commit one batch of events with its checkpoint, in seconds.",
            observations.batch_seconds.clone(),
        );
        metrics.register(
            "read_your_writes_waits",
            "Queries that waited for a projection to reach a position, by outcome (reached, \
             timed_out).",
            observations.waits.clone(),
        );
        metrics.register_collector(Box::new(Statuses(self.clone())));
    }
}

/// The live statuses, encoded at each scrape.
struct Statuses(Projections);

impl std::fmt::Debug for Statuses {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Statuses")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct StateLabels {
    projection: String,
    state: &'static str,
}

/// A gauge read from a status: its name, help and reading.
type StatusGauge = (
    &'static str,
    &'static str,
    fn(&super::ProjectionStatus) -> f64,
);

impl Collector for Statuses {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let statuses = self.0.snapshot();
        let gauges: [StatusGauge; 5] = [
            (
                "projection_position",
                "Global position of the projection's checkpoint.",
                |s| s.position.unwrap_or(0) as f64,
            ),
            (
                "projection_head_position",
                "Newest position in the event store when the projection last looked.",
                |s| s.head.unwrap_or(0) as f64,
            ),
            (
                "projection_lag_events",
                "Store positions between the projection's checkpoint and the head.",
                |s| s.behind as f64,
            ),
            (
                "projection_lag_seconds",
                "Age of the newest applied event while behind; 0 once caught up.",
                |s| s.behind_seconds,
            ),
            (
                "projection_parked_events",
                "Events parked because the read store refused their documents.",
                |s| s.parked as f64,
            ),
        ];
        for (name, help, value) in gauges {
            let metric = encoder.encode_descriptor(
                name,
                help,
                None,
                prometheus_client::metrics::MetricType::Gauge,
            )?;
            let mut metric = metric;
            for (projection, status) in &statuses {
                let labels = ProjectionLabel {
                    projection: projection.clone(),
                };
                ConstGauge::new(value(status)).encode(metric.encode_family(&labels)?)?;
            }
        }
        let mut metric = encoder.encode_descriptor(
            "projection_state",
            "1 for the projection's current state: serving, lagging (behind its lag objective), \
             stuck (cannot make progress), rebuilding (serving while a new generation catches \
             up) or standby (another replica holds its lease and runs it).",
            None,
            prometheus_client::metrics::MetricType::Gauge,
        )?;
        for (projection, status) in &statuses {
            let current = status.state(self.0.lag_slo()).as_str();
            for state in ProjectionState::ALL.map(ProjectionState::as_str) {
                let labels = StateLabels {
                    projection: projection.clone(),
                    state,
                };
                let value = i64::from(state == current);
                ConstGauge::new(value).encode(metric.encode_family(&labels)?)?;
            }
        }
        Ok(())
    }
}

/// Most events of a batch whose traces its span links to.
const TRACE_LINKS: usize = 32;

/// The span of one batch of `projection`, linked to the traces of the requests that wrote its
/// events (from their `traceparent`), so an operator can follow a command to its read model.
pub(super) fn batch_span(projection: &str, events: &[RecordedEvent]) -> tracing::Span {
    #[derive(serde::Deserialize)]
    struct Trace {
        traceparent: Option<String>,
    }
    let span = tracing::info_span!("projection.batch", projection, events = events.len());
    for event in events.iter().take(TRACE_LINKS) {
        if let Ok(Trace {
            traceparent: Some(traceparent),
        }) = serde_json::from_slice(&event.metadata)
        {
            causeway_telemetry::traces::link_to(&span, &traceparent);
        }
    }
    span
}
