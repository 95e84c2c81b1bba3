//! What a run found, as markdown: a header (date, machine, load, command, stores, pinning), the
//! table of ratios with the targets, and every measurement next to its baseline.
//!
//! Every scenario has at least one ratio row, also when it could not run: a failure or a gap
//! (a component that does not exist yet) is a row that says so, never a silently missing line.

use std::{
    fmt::Write as _,
    time::{Duration, Instant, SystemTime},
};

use super::{Options, load::Measurement, runtimes::Pinning};

/// The scenarios of issue 8, by number, as the tables title them.
pub const SCENARIOS: [(u8, &str); 7] = [
    (1, "command vs echo and raw store"),
    (2, "query by id vs echo"),
    (3, "projection catch-up vs raw read-and-decode"),
    (4, "batch appends vs single appends"),
    (5, "aggregate load, 1,000 vs 100 events"),
    (6, "REST gateway vs direct gRPC"),
    (7, "command during a projection rebuild vs idle"),
];

/// Where and how the numbers were taken.
#[derive(Debug, Clone)]
pub struct Header {
    /// UTC start of the run, RFC 3339.
    pub date: String,
    /// Cores this process may use.
    pub cores: usize,
    /// `model name` of /proc/cpuinfo.
    pub cpu: String,
    /// /proc/loadavg at the start: the machine is shared, so this says how noisy it was.
    pub load_start: String,
    /// /proc/loadavg at the end.
    pub load_end: String,
    /// The command line that produced the report.
    pub command: String,
    /// Which adapters served events and read models.
    pub stores: String,
    /// Where the read models were kept, short, for the title: the one thing that tells an
    /// embedded run's table from a MongoDB run's.
    pub read_models: String,
    /// How the runtimes were placed on cores.
    pub pinning: String,
    /// Full or smoke.
    pub mode: String,
    started: Instant,
    /// Wall time of the whole run, once finished.
    pub took: Option<Duration>,
}

/// A MongoDB server the run started itself (`--mongodb`), as the header names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartedServer {
    /// Product and version: `SecantusDB 0.7.0b3`.
    pub name: String,
    /// How it runs: address, topology, storage.
    pub detail: String,
}

impl Header {
    /// Reads the clock, the machine and its load now. `started` is the MongoDB the run started
    /// itself, if any (`options.mongodb_url` then holds its URL).
    pub fn capture(
        options: &Options,
        command: &str,
        pinning: Pinning,
        started: Option<&StartedServer>,
    ) -> Self {
        let (read_models, read_models_detail, durability) = match (started, &options.mongodb_url) {
            (Some(server), _) => (
                format!("MongoDB ({}, started by the bench)", server.name),
                format!("MongoDB adapter on {}, {}", server.name, server.detail),
                "full for events (every ack fsynced); read-model commits as SecantusDB's default \
                 (not fsynced)",
            ),
            (None, Some(_)) => (
                "MongoDB (--mongodb-url)".to_owned(),
                "MongoDB adapter on the server --mongodb-url names".to_owned(),
                "full (every ack fsynced; read-model commits per that server's settings)",
            ),
            (None, None) => (
                "embedded SQLite".to_owned(),
                "embedded (SQLite)".to_owned(),
                "full (every ack fsynced)",
            ),
        };
        let stores = format!(
            "events: {}; read models: {read_models_detail}; durability: {durability}",
            if options.kurrentdb_url.is_some() {
                "KurrentDB"
            } else {
                "embedded (SQLite)"
            },
        );
        let pinning = match (started, &pinning) {
            (None, _) => pinning.to_string(),
            (Some(_), Pinning::Cores { server, .. }) => {
                format!("{pinning}; the SecantusDB process on core {server} too")
            }
            (Some(_), Pinning::Off { .. }) => {
                format!("{pinning}; the SecantusDB process not pinned either")
            }
        };
        Self {
            date: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
            cores: cores(),
            cpu: cpu_model(),
            load_start: load_average(),
            load_end: String::new(),
            command: command.to_owned(),
            stores,
            read_models,
            pinning,
            mode: if options.smoke {
                "smoke (tiny counts: the numbers mean nothing)".into()
            } else {
                "full".into()
            },
            started: Instant::now(),
            took: None,
        }
    }

    /// Records the end of the run.
    pub fn finish(&mut self) {
        self.load_end = load_average();
        self.took = Some(self.started.elapsed());
    }
}

/// Cores of the machine (not of this process, which may be pinned to one already).
fn cores() -> usize {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .map(|info| info.lines().filter(|l| l.starts_with("processor")).count())
        .filter(|n| *n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from))
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, model)| model.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned())
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".to_owned())
}

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
    /// Scenario number (1-7).
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

    /// The report as markdown: header, ratios, measurements, notes.
    pub fn to_markdown(&self) -> String {
        let mut out = String::new();
        let h = &self.header;
        let _ = writeln!(
            out,
            "### Benchmark: Causeway against its own baselines, read models in {}\n",
            h.read_models
        );
        let _ = writeln!(out, "- Date: {}", h.date);
        let _ = writeln!(out, "- Machine: {} cores, {}", h.cores, h.cpu);
        let _ = writeln!(
            out,
            "- Load average (1/5/15 min, machine shared with other work): {} at start, {} at end",
            h.load_start,
            if h.load_end.is_empty() {
                "?"
            } else {
                &h.load_end
            }
        );
        let _ = writeln!(out, "- Command: `{}`", h.command);
        let _ = writeln!(out, "- Stores: {}", h.stores);
        let _ = writeln!(out, "- Pinning: {}", h.pinning);
        let took = h
            .took
            .map_or_else(|| "?".to_owned(), |d| format!("{:.0} s", d.as_secs_f64()));
        let _ = writeln!(out, "- Mode: {}; took {took}\n", h.mode);

        let _ = writeln!(out, "| # | scenario | ratio | value | target | met |");
        let _ = writeln!(out, "|--:|---|---|--:|--:|---|");
        for row in &self.ratios {
            let title = scenario_title(row.scenario);
            let (value, met) = match &row.outcome {
                Outcome::Value(v) => (
                    format!("{v:.2}"),
                    match row.met() {
                        Some(true) => "yes".to_owned(),
                        Some(false) => "**no**".to_owned(),
                        None => "—".to_owned(),
                    },
                ),
                Outcome::Gap(why) => ("—".to_owned(), format!("gap: {why}")),
                Outcome::Failed(why) => ("—".to_owned(), format!("**failed**: {why}")),
                Outcome::NotAvailable(why) => ("—".to_owned(), format!("n/a: {why}")),
            };
            let target = match row.target {
                Some(Target::AtMost(t)) => format!("≤ {t}"),
                Some(Target::AtLeast(t)) => format!("≥ {t}"),
                None => "—".to_owned(),
            };
            let _ = writeln!(
                out,
                "| {} | {title} | {} | {value} | {target} | {} |",
                row.scenario,
                escape(&row.ratio),
                escape(&met)
            );
        }

        let _ = writeln!(
            out,
            "\n| # | measured | in flight | n | p50 | p99 | throughput |"
        );
        let _ = writeln!(out, "|--:|---|--:|--:|--:|--:|--:|");
        for row in &self.measurements {
            let m = &row.measurement;
            let what = if row.baseline {
                format!("↳ baseline: {}", row.what)
            } else {
                row.what.clone()
            };
            let (p50, p99) = if row.latencies {
                (duration(m.p50()), duration(m.p99()))
            } else {
                ("—".to_owned(), "—".to_owned())
            };
            let n = if row.latencies {
                m.count().to_string()
            } else {
                format!(
                    "{} {}",
                    grouped(m.items_per_op),
                    row.unit.trim_end_matches("/s")
                )
            };
            let throughput = m.throughput().map_or_else(
                || "—".to_owned(),
                |t| format!("{} {}", grouped(t.round() as u64), row.unit),
            );
            let _ = writeln!(
                out,
                "| {} | {} | {} | {n} | {p50} | {p99} | {throughput} |",
                row.scenario,
                escape(&what),
                m.in_flight
            );
        }
        if !self.notes.is_empty() {
            let _ = writeln!(out);
            for note in &self.notes {
                let _ = writeln!(out, "- {note}");
            }
        }
        out
    }
}

/// The title of scenario `n`.
pub fn scenario_title(n: u8) -> &'static str {
    SCENARIOS
        .iter()
        .find(|(number, _)| *number == n)
        .map_or("?", |(_, title)| title)
}

fn escape(cell: &str) -> String {
    cell.replace('|', "\\|")
}

/// `850 µs`, `4.21 ms`, `1.50 s`.
pub fn duration(d: Option<Duration>) -> String {
    let Some(d) = d else {
        return "—".to_owned();
    };
    let micros = d.as_secs_f64() * 1e6;
    if micros < 1_000.0 {
        format!("{micros:.0} µs")
    } else if micros < 1_000_000.0 {
        format!("{:.2} ms", micros / 1e3)
    } else {
        format!("{:.2} s", micros / 1e6)
    }
}

/// `1234567` as `1,234,567`.
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_like_numbers() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1_000_000), "1,000,000");
        assert_eq!(duration(Some(Duration::from_micros(850))), "850 µs");
        assert_eq!(duration(Some(Duration::from_micros(4_210))), "4.21 ms");
        assert_eq!(duration(None), "—");
    }

    #[test]
    fn the_title_and_stores_name_the_read_store() {
        let off = || Pinning::Off {
            reason: "test".into(),
        };
        let embedded = Report::new(Header::capture(&Options::smoke(), "c", off(), None));
        let markdown = embedded.to_markdown();
        assert!(
            markdown.starts_with(
                "### Benchmark: Causeway against its own baselines, read models in embedded SQLite"
            ),
            "{markdown}"
        );
        assert!(
            markdown.contains("read models: embedded (SQLite)"),
            "{markdown}"
        );

        let options = Options {
            mongodb: true,
            mongodb_url: Some("mongodb://127.0.0.1:1/?directConnection=true".into()),
            ..Options::smoke()
        };
        let started = StartedServer {
            name: "SecantusDB 0.7.0b3".into(),
            detail: "secantusd-py on 127.0.0.1:1".into(),
        };
        let pinned = Pinning::Cores {
            server: 0,
            client: 1,
        };
        let mongodb = Report::new(Header::capture(&options, "c", pinned, Some(&started)));
        let markdown = mongodb.to_markdown();
        assert!(
            markdown.starts_with(
                "### Benchmark: Causeway against its own baselines, read models in MongoDB \
                 (SecantusDB 0.7.0b3, started by the bench)"
            ),
            "{markdown}"
        );
        assert!(
            markdown.contains("read models: MongoDB adapter on SecantusDB 0.7.0b3, secantusd-py"),
            "{markdown}"
        );
        assert!(
            markdown.contains("the SecantusDB process on core 0 too"),
            "{markdown}"
        );
    }

    #[test]
    fn targets_are_judged_in_their_direction() {
        assert!(Target::AtMost(1.0).met(1.0));
        assert!(!Target::AtMost(1.0).met(1.01));
        assert!(Target::AtLeast(10.0).met(10.0));
        assert!(!Target::AtLeast(0.4).met(0.39));
    }
}
