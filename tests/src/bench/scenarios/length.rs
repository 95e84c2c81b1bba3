//! Scenario 15: what a command costs on a long stream against a short one, with the aggregate
//! cache off so every command loads its stream: `ReceiveStock` over gRPC on product streams of
//! 10,000 events against streams of 10, at 1 in flight, on a server that keeps snapshots and on
//! one that does not (each over its own copy of the data set). Commands go round a few streams
//! of each length; each appends one event, so the streams grow a little as the scenario runs.
//! The warm-up's commands are those that write the first snapshots of the seeded streams.

use std::sync::Arc;

use causeway_server::config::{Config, DurabilityArg, Role};

use super::{Bench, command::hot_commands, settle};
use crate::bench::{
    BenchError,
    error::Context,
    load::Rounds,
    report::{Outcome, Report, Target},
    seed,
    server::BenchServer,
};

/// Streams of each length the commands go round.
const STREAMS: usize = 4;
/// Events of a long and of a short stream, before the scenario's own commands.
const LONG: usize = 10_000;
const SHORT: usize = 10;

pub(super) async fn run(bench: &Bench, report: &mut Report) {
    if !bench.options.wants(15) {
        return;
    }
    let result = measure(bench, report).await;
    settle(report, 15, result);
}

/// One server of the scenario: how it is configured and what the report calls it.
struct Variant {
    name: &'static str,
    snapshots: bool,
}

const VARIANTS: [Variant; 2] = [
    Variant {
        name: "snapshots",
        snapshots: true,
    },
    Variant {
        name: "no-snapshots",
        snapshots: false,
    },
];

async fn measure(bench: &Bench, report: &mut Report) -> Result<(), BenchError> {
    let mut servers = Vec::new();
    for variant in &VARIANTS {
        match start(bench, variant).await {
            Ok(started) => servers.push(started),
            Err(e) => {
                for (server, _) in servers {
                    let _ = BenchServer::stop(server).await;
                }
                return Err(e);
            }
        }
    }
    let result = phases(bench, &servers, report).await;
    let mut stopped = Ok(());
    for (server, _) in servers {
        stopped = stopped.and(server.stop().await);
    }
    result.and(stopped)
}

/// The skus of one variant: long streams, then short ones.
type Skus = (Arc<Vec<String>>, Arc<Vec<String>>);

async fn start(bench: &Bench, variant: &Variant) -> Result<(BenchServer, Skus), BenchError> {
    let dir = bench.base.join(format!("length-{}", variant.name));
    let long = bench.skus(&format!("len-{}-long", variant.name), STREAMS);
    let short = bench.skus(&format!("len-{}-short", variant.name), STREAMS);
    let config = config(bench, &dir, variant.snapshots);
    bench.progress(&format!(
        "scenario 15: seeding {STREAMS} streams of {LONG} and of {SHORT} events ({})",
        variant.name
    ));
    let mut seeding = config.clone();
    seeding.durability = DurabilityArg::Relaxed;
    let store = bench.open_store(seeding).await?;
    let streams = long
        .iter()
        .map(|s| (s.clone(), LONG))
        .chain(short.iter().map(|s| (s.clone(), SHORT)))
        .collect();
    let seeded = seed::products(&store, streams).await;
    bench.close_store(store).await?;
    seeded.doing("seeding scenario 15's streams")?;
    let server = BenchServer::start(&bench.server, config).await?;
    Ok((server, (long, short)))
}

/// A command-role server with the aggregate cache off, keeping snapshots or not.
fn config(bench: &Bench, dir: &std::path::Path, snapshots: bool) -> Config {
    let mut config = bench.config(dir, Role::Command);
    config.aggregate_cache = causeway_server::config::ByteSize(0);
    if !snapshots {
        config.snapshot_every = 0;
    }
    config
}

async fn phases(
    bench: &Bench,
    servers: &[(BenchServer, Skus)],
    report: &mut Report,
) -> Result<(), BenchError> {
    let count = (bench.scale.requests / 5).max(1);
    let mut measured: Vec<(Rounds, Rounds)> = servers.iter().map(|_| Default::default()).collect();
    bench.progress("scenario 15: commands on long and short streams, with and without snapshots");
    for plan in bench.rounds(1, count) {
        for ((server, (long, short)), (on_long, on_short)) in servers.iter().zip(&mut measured) {
            on_short.add(hot_commands(server.channel(), short.clone(), &plan).await?)?;
            on_long.add(hot_commands(server.channel(), long.clone(), &plan).await?)?;
        }
    }
    for (variant, (on_long, on_short)) in VARIANTS.iter().zip(measured) {
        let (on_long, on_short) = (on_long.total()?, on_short.total()?);
        report.subject(
            15,
            format!(
                "{}: ReceiveStock on a {LONG}-event stream, cache off",
                variant.name
            ),
            &on_long,
            "req/s",
        );
        report.baseline(
            15,
            format!(
                "{}: ReceiveStock on a {SHORT}-event stream, cache off",
                variant.name
            ),
            &on_short,
            "req/s",
        );
        let ratio = match (on_long.p50(), on_short.p50()) {
            (Some(l), Some(s)) if !s.is_zero() => Outcome::Value(l.as_secs_f64() / s.as_secs_f64()),
            _ => Outcome::NotAvailable("no samples".into()),
        };
        let (label, target) = match variant.snapshots {
            true => ("with snapshots", Some(Target::AtMost(2.0))),
            false => ("without snapshots", None),
        };
        report.ratio(
            15,
            format!("{label}: command p50 on a {LONG}-event stream / on a {SHORT}-event stream"),
            ratio,
            target,
        );
    }
    Ok(())
}
