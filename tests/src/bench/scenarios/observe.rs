//! Scenario 9: what observing a command costs. The same hot-stream command (`ReceiveStock`
//! decided from the aggregate cache, so the edge's share is as large as it gets) against a
//! server without instrumentation, one with metrics (the request, kernel and store metrics),
//! and another of that build with spans on, exported over OTLP to an in-process receiver (on
//! the load generator's runtime, as a collector is not the server's work), and the access log
//! written (to a sink). Phases interleave so machine load hits all alike; spans and logs are
//! switched on only for the traced phase, through the process's one filter.

use std::sync::Arc;

use causeway_server::config::Role;

use super::{Bench, command::hot_commands, settle};
use crate::bench::{
    BenchError,
    load::{Measurement, Rounds},
    otlp::Receiver,
    report::{Outcome, Report, Target},
    server::BenchServer,
};

/// The data set's name (the middle part of each sku).
const HOT: &str = "observe";

/// Runs scenario 9 when selected.
pub(super) async fn run(bench: &Bench, report: &mut Report) {
    if bench.options.wants(9) {
        let result = measure(bench, report).await;
        settle(report, 9, result);
    }
}

async fn measure(bench: &Bench, report: &mut Report) -> Result<(), BenchError> {
    let scale = &bench.scale;
    let in_flight = scale.in_flight;
    let skus = bench.skus(HOT, in_flight);
    bench.progress("scenario 9: uninstrumented, metrics, metrics + spans exported + access log");
    // Each server keeps its own copy of the same streams: sharing one directory, each phase
    // would find the streams moved on by the other server's phase and reload them, and
    // that reload (not what is observed) would be measured. The metrics and the traced phases
    // have a server each, of the same instrumented build, for the same reason: sharing one,
    // the metrics phase inherited the traced phase's write-ahead log (its events are larger:
    // they carry a `traceparent`) and paid for its checkpoints.
    let bare = serve(bench, &skus, "observe-bare", false).await?;
    let metered = serve(bench, &skus, "observe-metrics", true).await?;
    let traced = serve(bench, &skus, "observe-traced", true).await?;
    // One subscriber for the whole process, exporting every span to an in-process receiver and
    // writing log lines to a sink; its filter is `off` except in the traced phase. The receiver
    // stands for a collector, another process in production: it runs beside the load generator,
    // not on the server's core, whose cost of making and exporting spans is what is measured.
    // The exporter is the server's work, so it is installed from the server runtime: its batch
    // thread inherits the server's core and its gRPC connection runs on the server runtime.
    // (Installed from the load generator's thread, both ran beside the load generator, and
    // the server's core never paid for turning spans into OTLP.)
    let (receiver, addr) = Receiver::start().await?;
    let endpoint = format!("http://{addr}");
    let telemetry = bench
        .server
        .spawn(async move {
            causeway_telemetry::logs::init_exporting_to(
                "off",
                "causeway-bench",
                &endpoint,
                std::io::sink(),
            )
            .map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| BenchError::new(format!("installing telemetry: {e}")))?;
    // A single caller shows what observing adds to one request's latency; 32 in flight, with
    // the server's core saturated, what it takes from the core (p50 then follows the work).
    let loads = [(1, scale.requests), (in_flight, scale.concurrent_requests)];
    let servers = Servers {
        bare: &bare,
        metered: &metered,
        traced: &traced,
    };
    let mut exported = Exported::default();
    for (in_flight, count) in loads {
        exported += phase(
            bench,
            report,
            &servers,
            &skus,
            &telemetry,
            (in_flight, count),
        )
        .await?;
    }
    if let Ok(telemetry) = telemetry {
        // Flushes what is still batched for export.
        drop(telemetry);
        let spans = receiver.spans();
        if spans == 0 {
            report.ratio(
                9,
                "spans received",
                Outcome::Failed("the traced phases exported no span: they measured nothing".into()),
                None,
            );
        }
        report.note(format!(
            "Scenario 9's receiver took {spans} spans for {} traced commands ({:.2} each: \
             fewer than the spans a command makes means some were dropped); sending what was \
             still batched after each traced phase took {} ms in all. Its servers' store was {}.",
            exported.commands,
            spans as f64 / exported.commands.max(1) as f64,
            exported.drained.as_millis(),
            if bench.options.observe_durable {
                "durable (fsync per group commit, `--observe-durable`)"
            } else {
                "relaxed (no fsync)"
            }
        ));
    }
    bare.stop().await?;
    metered.stop().await?;
    traced.stop().await
}

/// A server on a directory of its own, seeded with one product per sku.
async fn serve(
    bench: &Bench,
    skus: &Arc<Vec<String>>,
    name: &str,
    instrumented: bool,
) -> Result<BenchServer, BenchError> {
    let dir = bench.base.join(name);
    let mut config = bench.config(&dir, Role::Command);
    // A relaxed store keeps fsync out of what is compared: the edge is the difference
    // (`--observe-durable` measures the server's default instead).
    if !bench.options.observe_durable {
        config.durability = causeway_server::config::DurabilityArg::Relaxed;
    }
    bench.seed_products(&config, skus, "scenario 9").await?;
    BenchServer::start_instrumented(&bench.server, config, instrumented).await
}

/// The servers compared, one per phase, each on its own copy of the data: the same
/// configuration without instrumentation, with metrics, and with metrics and spans.
struct Servers<'a> {
    bare: &'a BenchServer,
    metered: &'a BenchServer,
    traced: &'a BenchServer,
}

/// One load level: uninstrumented, metrics, and metrics with spans and the access log,
/// interleaved round by round, reported as ratios to the uninstrumented p50 and throughput.
async fn phase(
    bench: &Bench,
    report: &mut Report,
    servers: &Servers<'_>,
    skus: &Arc<Vec<String>>,
    telemetry: &Result<causeway_telemetry::logs::Telemetry, String>,
    (in_flight, count): (usize, usize),
) -> Result<Exported, BenchError> {
    let (mut without, mut metrics, mut traced) =
        (Rounds::default(), Rounds::default(), Rounds::default());
    let mut exported = Exported::default();
    for plan in bench.rounds(in_flight, count) {
        without.add(hot_commands(servers.bare.channel(), Arc::clone(skus), &plan).await?)?;
        metrics.add(hot_commands(servers.metered.channel(), Arc::clone(skus), &plan).await?)?;
        if let Ok(telemetry) = telemetry {
            switch(telemetry, "info")?;
            let measured = hot_commands(servers.traced.channel(), Arc::clone(skus), &plan).await;
            switch(telemetry, "off")?;
            // Spans still batched are sent now, before the next phase: the exporter's thread
            // waits for spare CPU (`causeway_telemetry`'s `batches`), and what it had not sent
            // by the end of the phase would otherwise be paid by the phases after it. That
            // time counts towards this phase's wall time, so its throughput includes the export
            // of every span it sent (a dropped span costs nothing: the note's spans per command
            // shows drops); its latencies are what its requests saw. The SDK gives up a flush
            // after 5 s, which ends the scenario with an error.
            let started = std::time::Instant::now();
            telemetry
                .flush()
                .map_err(|e| BenchError::new(format!("flushing the spans: {e}")))?;
            let drained = started.elapsed();
            let mut measured = measured?;
            measured.elapsed += drained;
            exported.drained += drained;
            exported.commands += plan.warmup + plan.count;
            traced.add(measured)?;
        }
    }
    let (without, metrics) = (without.total()?, metrics.total()?);
    report.baseline(9, "hot-stream command, uninstrumented", &without, "req/s");
    report.subject(9, "hot-stream command, metrics", &metrics, "req/s");
    ratios(report, "metrics", &metrics, &without, 1.05);
    match telemetry {
        Ok(_) => {
            let traced = traced.total()?;
            report.subject(
                9,
                "hot-stream command, metrics + spans exported over OTLP + access log",
                &traced,
                "req/s",
            );
            ratios(report, "tracing with export", &traced, &without, 1.15);
        }
        Err(e) => report.ratio(
            9,
            format!("{in_flight} in flight: tracing with export"),
            Outcome::Failed(format!("cannot install the exporter: {e}")),
            None,
        ),
    }
    Ok(exported)
}

/// What the traced phases handed the exporter, for the report's note.
#[derive(Debug, Default)]
struct Exported {
    /// Commands sent in traced phases, warm-up included.
    commands: usize,
    /// Time spent sending what was still batched after each traced phase.
    drained: std::time::Duration,
}

impl std::ops::AddAssign for Exported {
    fn add_assign(&mut self, other: Self) {
        self.commands += other.commands;
        self.drained += other.drained;
    }
}

/// Sets the process's log and span filter.
fn switch(telemetry: &causeway_telemetry::logs::Telemetry, filter: &str) -> Result<(), BenchError> {
    telemetry
        .set_filter(filter)
        .map_err(|e| BenchError::new(format!("setting the filter {filter}: {e}")))
}

/// p50 and throughput of `subject` against `baseline`, with the p50 target.
fn ratios(
    report: &mut Report,
    what: &str,
    subject: &Measurement,
    baseline: &Measurement,
    target: f64,
) {
    let p50 = match (subject.p50(), baseline.p50()) {
        (Some(s), Some(b)) if !b.is_zero() => Outcome::Value(s.as_secs_f64() / b.as_secs_f64()),
        _ => Outcome::NotAvailable("no samples".into()),
    };
    report.ratio(
        9,
        format!(
            "{} in flight: {what}: command p50 / uninstrumented p50",
            subject.in_flight
        ),
        p50,
        Some(Target::AtMost(target)),
    );
    let throughput = match (subject.throughput(), baseline.throughput()) {
        (Some(s), Some(b)) if b > 0.0 => Outcome::Value(s / b),
        _ => Outcome::NotAvailable("no samples".into()),
    };
    report.ratio(
        9,
        format!(
            "{} in flight: {what}: throughput / uninstrumented throughput",
            subject.in_flight
        ),
        throughput,
        None,
    );
}
