//! The header of a report: where and how the numbers were taken (date, machine, load, command,
//! stores, pinning), read from the machine when the run starts.

use std::time::{Duration, Instant, SystemTime};

use crate::bench::{Options, runtimes::Pinning};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::Report;

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
}
