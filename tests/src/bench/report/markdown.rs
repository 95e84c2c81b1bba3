//! A report as markdown: the header as a list, the table of ratios with the targets and
//! whether each is met, every measurement next to its baseline, then the notes.

use std::{fmt::Write as _, time::Duration};

use super::{Header, MeasurementRow, Outcome, RatioRow, Report, Target, scenario_title};

impl Report {
    /// The report as markdown: header, ratios, measurements, notes.
    pub fn to_markdown(&self) -> String {
        let mut out = header(&self.header);
        let _ = writeln!(out, "| # | scenario | ratio | value | target | met |");
        let _ = writeln!(out, "|--:|---|---|--:|--:|---|");
        for row in &self.ratios {
            let _ = writeln!(out, "{}", ratio_line(row));
        }

        let _ = writeln!(
            out,
            "\n| # | measured | in flight | n | p50 | p99 | throughput |"
        );
        let _ = writeln!(out, "|--:|---|--:|--:|--:|--:|--:|");
        for row in &self.measurements {
            let _ = writeln!(out, "{}", measurement_line(row));
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

/// The title and the list of where and how, followed by a blank line.
fn header(h: &Header) -> String {
    let mut out = String::new();
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
    out
}

/// One row of the table of ratios: the value and whether it meets its target, or why not.
fn ratio_line(row: &RatioRow) -> String {
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
    format!(
        "| {} | {title} | {} | {value} | {target} | {} |",
        row.scenario,
        escape(&row.ratio),
        escape(&met)
    )
}

/// One row of the table of measurements; a single timed run shows its size instead of a count
/// and no percentiles.
fn measurement_line(row: &MeasurementRow) -> String {
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
    format!(
        "| {} | {} | {} | {n} | {p50} | {p99} | {throughput} |",
        row.scenario,
        escape(&what),
        m.in_flight
    )
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
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::{Options, load::Measurement, runtimes::Pinning};

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
    fn rows_become_table_lines() {
        let off = Pinning::Off {
            reason: "test".into(),
        };
        let mut report = Report::new(Header::capture(&Options::smoke(), "c", off, None));
        report.ratio(
            3,
            "a | b",
            Outcome::Value(0.333),
            Some(Target::AtLeast(0.5)),
        );
        report.ratio(6, "via gateway", Outcome::Gap("no gateway".into()), None);
        let replay = Measurement::single(Duration::from_secs(2), 1_000_000);
        report.timed(3, "catch-up", false, &replay, "events/s");
        let echo = Measurement::single(Duration::from_millis(4), 1);
        report.baseline(1, "echo", &echo, "req/s");
        report.note("a remark");
        let markdown = report.to_markdown();
        let lines: Vec<&str> = markdown.lines().collect();
        let has = |line: &str| lines.contains(&line);
        assert!(
            has(
                "| 3 | projection catch-up vs raw read-and-decode | a \\| b | 0.33 | ≥ 0.5 | **no** |"
            ),
            "{markdown}"
        );
        assert!(
            has(
                "| 6 | REST (in the server, and the gateway) vs direct gRPC | via gateway | — | — | gap: no gateway |"
            ),
            "{markdown}"
        );
        assert!(
            has("| 3 | catch-up | 1 | 1,000,000 events | — | — | 500,000 events/s |"),
            "{markdown}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("| 1 | ↳ baseline: echo | 1 | 1 | 4.")
                    && l.ends_with(" ms | 250 req/s |")),
            "{markdown}"
        );
        assert_eq!(lines.last(), Some(&"- a remark"), "{markdown}");
    }
}
