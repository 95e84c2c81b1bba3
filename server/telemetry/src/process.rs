//! The process's own figures, read from `/proc/self` at each scrape (Linux; elsewhere nothing
//! is reported): resident memory, CPU time, open file descriptors and threads, under
//! Prometheus's standard `process_…` names.

use prometheus_client::{
    collector::Collector,
    encoding::{DescriptorEncoder, EncodeMetric},
    metrics::{counter::ConstCounter, gauge::ConstGauge},
};

/// Clock ticks per second of `/proc/self/stat` times (Linux's USER_HZ, 100 on every
/// mainstream architecture).
const TICKS_PER_SECOND: f64 = 100.0;

/// Reads the process's figures at each scrape.
#[derive(Debug)]
pub struct ProcessCollector;

/// What `/proc/self` says now.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ProcessFigures {
    /// Resident set size, bytes.
    pub resident_bytes: i64,
    /// User plus system CPU time, seconds.
    pub cpu_seconds: f64,
    /// Open file descriptors.
    pub open_fds: i64,
    /// Threads.
    pub threads: i64,
}

impl ProcessFigures {
    /// The figures now; `None` where `/proc` cannot be read.
    pub fn read() -> Option<Self> {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let field = |name: &str| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|n| n.parse::<i64>().ok())
        };
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        // Fields after the command name, which is in parentheses and may contain spaces.
        let after = stat.rsplit_once(')')?.1;
        let fields: Vec<&str> = after.split_whitespace().collect();
        let ticks = |i: usize| fields.get(i).and_then(|t| t.parse::<f64>().ok());
        // utime and stime are fields 14 and 15 of stat, 12 and 13 after the name.
        let cpu_seconds = (ticks(11)? + ticks(12)?) / TICKS_PER_SECOND;
        Some(Self {
            resident_bytes: field("VmRSS:")? * 1024,
            cpu_seconds,
            open_fds: std::fs::read_dir("/proc/self/fd")
                .map(|d| d.count() as i64)
                .unwrap_or(0),
            threads: field("Threads:").unwrap_or(0),
        })
    }
}

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let Some(figures) = ProcessFigures::read() else {
            return Ok(());
        };
        let gauge = |encoder: &mut DescriptorEncoder, name: &str, help: &str, value: i64| {
            let gauge = ConstGauge::new(value);
            let metric = encoder.encode_descriptor(name, help, None, gauge.metric_type())?;
            gauge.encode(metric)
        };
        gauge(
            &mut encoder,
            "process_resident_memory_bytes",
            "Resident memory size in bytes.",
            figures.resident_bytes,
        )?;
        gauge(
            &mut encoder,
            "process_open_fds",
            "Number of open file descriptors.",
            figures.open_fds,
        )?;
        gauge(
            &mut encoder,
            "process_threads",
            "Number of OS threads in the process.",
            figures.threads,
        )?;
        let cpu = ConstCounter::new(figures.cpu_seconds);
        let metric = encoder.encode_descriptor(
            "process_cpu_seconds",
            "Total user and system CPU time spent in seconds.",
            None,
            cpu.metric_type(),
        )?;
        cpu.encode(metric)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_plausible_figures_of_this_process() {
        let figures = ProcessFigures::read().expect("/proc is readable on Linux");
        assert!(figures.resident_bytes > 1024 * 1024, "{figures:?}");
        assert!(figures.open_fds >= 3 && figures.threads >= 1, "{figures:?}");
        assert!(figures.cpu_seconds >= 0.0);
    }
}
