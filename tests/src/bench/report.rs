//! What a run found: a header (date, machine, load, command, stores, pinning), the ratios with
//! the targets, and every measurement next to its baseline.
//!
//! Every scenario has at least one ratio row, also when it could not run: a failure or a gap
//! (a component that does not exist yet) is a row that says so, never a silently missing line.
//!
//! Layout: this file holds the rows and the [`Report`] that collects them; `header` reads where
//! and how the run took place; `markdown` writes a report out.

mod header;
mod markdown;

pub use self::{
    header::{Header, StartedServer},
    markdown::{duration, grouped},
};
use super::load::Measurement;

/// The scenarios, by number, as the tables title them.
pub const SCENARIOS: [(u8, &str); 16] = [
    (1, "command vs echo and raw store"),
    (2, "query by id vs echo"),
    (3, "projection catch-up vs raw read-and-decode"),
    (4, "batch appends vs single appends"),
    (5, "aggregate load, 1,000 vs 100 events"),
    (6, "REST (in the server, and the gateway) vs direct gRPC"),
    (7, "command during a projection rebuild vs idle"),
    (8, "token verification: auth on vs --auth disabled"),
    (9, "instrumented vs uninstrumented command"),
    (10, "order fulfilled end to end vs one command"),
    (11, "TLS and mTLS vs plaintext"),
    (12, "event feed to 1 and 8 subscribers vs raw store read"),
    (13, "hot stream: 16 and 32 clients vs 1"),
    (14, "long run: 200,000 commands, last 20% vs first"),
    (15, "stream length: 10,000 vs 10 events, cache off"),
    (16, "tails: p99 vs p50 at 32 in flight"),
];

/// A target the issue sets for a ratio.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Target {
    /// The ratio must not exceed this.
    AtMost(f64),
    /// The ratio must reach this.
    AtLeast(f64),
}

impl Target {
    fn met(self, value: f64) -> bool {
        match self {
            Self::AtMost(max) => value <= max,
            Self::AtLeast(min) => value >= min,
        }
    }
}

/// What a ratio row holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The ratio.
    Value(f64),
    /// Not measured because something it needs does not exist yet.
    Gap(String),
    /// The scenario failed.
    Failed(String),
    /// Measured, but no ratio can be formed (e.g. no samples in a window).
    NotAvailable(String),
}

/// One line of the table of ratios.
#[derive(Debug, Clone, PartialEq)]
pub struct RatioRow {
    /// Scenario number (1-14).
    pub scenario: u8,
    /// What is compared with what.
    pub ratio: String,
    /// The value, or why there is none.
    pub outcome: Outcome,
    /// The target, when it sets one.
    pub target: Option<Target>,
}

impl RatioRow {
    /// Whether the target is met: `None` without a target or a value.
    pub fn met(&self) -> Option<bool> {
        match (&self.outcome, self.target) {
            (Outcome::Value(v), Some(t)) => Some(t.met(*v)),
            _ => None,
        }
    }
}

/// One measurement line: a subject or the baseline it is compared with.
#[derive(Debug, Clone)]
pub struct MeasurementRow {
    /// Scenario number.
    pub scenario: u8,
    /// What was measured.
    pub what: String,
    /// A baseline rather than the subject.
    pub baseline: bool,
    /// The numbers.
    pub measurement: Measurement,
    /// What throughput counts (`req/s`, `events/s`, `loads/s`).
    pub unit: &'static str,
    /// Whether latency percentiles mean something (not for a single timed replay).
    pub latencies: bool,
}

/// Everything one run found.
#[derive(Debug, Clone)]
pub struct Report {
    /// Where and how.
    pub header: Header,
    /// The judged ratios.
    pub ratios: Vec<RatioRow>,
    /// The numbers behind them.
    pub measurements: Vec<MeasurementRow>,
    /// Remarks a reader needs to interpret a row (data set sizes, windows, cut-short phases).
    pub notes: Vec<String>,
}

impl Report {
    /// An empty report under `header`.
    pub fn new(header: Header) -> Self {
        Self {
            header,
            ratios: Vec::new(),
            measurements: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// Adds a ratio row.
    pub fn ratio(
        &mut self,
        scenario: u8,
        ratio: impl Into<String>,
        outcome: Outcome,
        target: Option<Target>,
    ) {
        self.ratios.push(RatioRow {
            scenario,
            ratio: ratio.into(),
            outcome,
            target,
        });
    }

    /// Adds the measurement of a subject.
    pub fn subject(
        &mut self,
        scenario: u8,
        what: impl Into<String>,
        m: &Measurement,
        unit: &'static str,
    ) {
        self.measured(scenario, what.into(), false, m, unit, true);
    }

    /// Adds the measurement of a baseline.
    pub fn baseline(
        &mut self,
        scenario: u8,
        what: impl Into<String>,
        m: &Measurement,
        unit: &'static str,
    ) {
        self.measured(scenario, what.into(), true, m, unit, true);
    }

    /// Adds a single timed run (a replay), which has a rate but no latency distribution.
    pub fn timed(
        &mut self,
        scenario: u8,
        what: impl Into<String>,
        baseline: bool,
        m: &Measurement,
        unit: &'static str,
    ) {
        self.measured(scenario, what.into(), baseline, m, unit, false);
    }

    fn measured(
        &mut self,
        scenario: u8,
        what: String,
        baseline: bool,
        m: &Measurement,
        unit: &'static str,
        latencies: bool,
    ) {
        if m.cut_short {
            self.notes.push(format!(
                "Scenario {scenario}: \"{what}\" hit its time limit after {} operations.",
                m.count()
            ));
        }
        self.measurements.push(MeasurementRow {
            scenario,
            what,
            baseline,
            measurement: m.clone(),
            unit,
            latencies,
        });
    }

    /// Adds a remark under the tables.
    pub fn note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }

    /// Rows whose scenario failed.
    pub fn failures(&self) -> Vec<&RatioRow> {
        self.ratios
            .iter()
            .filter(|r| matches!(r.outcome, Outcome::Failed(_)))
            .collect()
    }
}

/// The title of scenario `n`.
pub fn scenario_title(n: u8) -> &'static str {
    SCENARIOS
        .iter()
        .find(|(number, _)| *number == n)
        .map_or("?", |(_, title)| title)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_judged_in_their_direction() {
        assert!(Target::AtMost(1.0).met(1.0));
        assert!(!Target::AtMost(1.0).met(1.01));
        assert!(Target::AtLeast(10.0).met(10.0));
        assert!(!Target::AtLeast(0.4).met(0.39));
    }
}
