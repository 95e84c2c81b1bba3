//! Scenario 14: a long run against the real `causeway-server` binary, a process of its own with
//! fulfilment on (as deployed): 200,000 commands at 64 in flight, a production-like mix over a
//! hundred hot products (half the commands place a one-line order, which fulfilment then
//! reserves and confirms; a quarter receive stock on a product; a quarter register a new
//! product). The run is cut into twenty equal segments; after each, the process's resident
//! memory and thread count are read from `/proc`, and a sampler keeps the most threads seen.
//! Judged: the throughput of the last fifth against the first, resident memory at the end
//! against at a quarter of the run (50,000 commands), and the threads.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use causeway_client::{
    admin::{ListProjectionsRequest, projection_admin_client::ProjectionAdminClient},
    common::CommandOptions,
    inventory::{RegisterProductRequest, inventory_commands_client::InventoryCommandsClient},
    orders::{OrderLine, PlaceOrderRequest, order_commands_client::OrderCommandsClient},
};
use tonic::transport::Channel;
use uuid::Uuid;

use super::{Bench, command::receive_stock, fulfilment::restock, settle};
use crate::bench::{
    BenchError,
    error::Context,
    load::{Measurement, Plan, closed_loop},
    process::{Footprint, ServerProcess},
    report::{Outcome, Report, Target},
};

/// Data-set name (the middle part of each sku).
const SET: &str = "long";
/// The hot products orders and receipts go round.
const PRODUCTS: usize = 100;
/// Segments the run is cut into; the first and last fifth are four each.
const SEGMENTS: usize = 20;
/// How often the sampler reads the thread count during a segment.
const SAMPLE_EVERY: Duration = Duration::from_millis(200);

pub(super) async fn run(bench: &Bench, report: &mut Report) {
    if !bench.options.wants(14) {
        return;
    }
    let result = measure(bench, report).await;
    settle(report, 14, result);
}

async fn measure(bench: &Bench, report: &mut Report) -> Result<(), BenchError> {
    let dir = bench.base.join("long-run");
    std::fs::create_dir_all(&dir).doing("creating scenario 14's data directory")?;
    let mut server = ServerProcess::start(
        &dir,
        &["--role", "all"],
        bench.server_core,
        bench.options.server_wrapper.as_deref(),
    )?;
    let channel = server.channel().await?;
    let skus = bench.skus(SET, PRODUCTS);
    let mut products = InventoryCommandsClient::new(channel.clone());
    for sku in skus.iter() {
        products
            .register_product(register(sku))
            .await
            .doing(&format!("registering {sku}"))?;
    }
    restock(channel.clone(), &skus).await?;
    let result = segments(bench, &server, channel, skus, report).await;
    let stopped = server.stop();
    result.and(stopped)
}

async fn segments(
    bench: &Bench,
    server: &ServerProcess,
    channel: Channel,
    skus: Arc<Vec<String>>,
    report: &mut Report,
) -> Result<(), BenchError> {
    let total = bench.scale.long_run_commands;
    let in_flight = bench.scale.long_run_in_flight;
    let per_segment = (total / SEGMENTS).max(1);
    let started = server.footprint()?;
    let most_threads = Arc::new(AtomicU64::new(started.threads));
    let mut measured: Vec<(Measurement, Footprint)> = Vec::with_capacity(SEGMENTS);
    let mut lags = Vec::with_capacity(SEGMENTS);
    let mut offset = 0;
    for segment in 0..SEGMENTS {
        let warmup = if segment == 0 { bench.scale.warmup } else { 0 };
        let plan = Plan {
            offset,
            ..Plan::new(in_flight, warmup, per_segment, bench.scale.phase_limit)
        };
        offset += warmup + per_segment;
        let measurement = tokio::select! {
            measured = mix(channel.clone(), skus.clone(), bench.run_id.clone(), &plan) => measured?,
            failed = sample_threads(server, &most_threads) => return Err(failed),
        };
        let footprint = server.footprint()?;
        most_threads.fetch_max(footprint.threads, Ordering::Relaxed);
        let lag = most_behind(channel.clone()).await?;
        bench.progress(&format!(
            "scenario 14: {} commands, {:.0}/s, RSS {:.1} MiB, {} threads, {lag}",
            (segment + 1) * per_segment,
            measurement.throughput().unwrap_or(0.0),
            footprint.rss_mib(),
            footprint.threads
        ));
        lags.push(lag);
        measured.push((measurement, footprint));
    }
    judge(
        report,
        &measured,
        started,
        most_threads.load(Ordering::Relaxed),
        total,
        in_flight,
    )?;
    report.note(format!(
        "Scenario 14: the projection furthest behind the head after each segment (events, \
         seconds): {}.",
        lags.join(", ")
    ));
    Ok(())
}

/// The projection (fulfilment included) furthest behind the head now, as `name +N/Ts`.
async fn most_behind(channel: Channel) -> Result<String, BenchError> {
    let listed = ProjectionAdminClient::new(channel)
        .list_projections(ListProjectionsRequest {})
        .await
        .doing("listing the projections")?
        .into_inner();
    Ok(listed
        .projections
        .into_iter()
        .max_by_key(|p| p.behind)
        .map_or_else(
            || "no projection".to_owned(),
            |p| format!("{} +{}/{:.1}s", p.name, p.behind, p.behind_seconds),
        ))
}

fn judge(
    report: &mut Report,
    measured: &[(Measurement, Footprint)],
    started: Footprint,
    most_threads: u64,
    total: usize,
    in_flight: usize,
) -> Result<(), BenchError> {
    let fifth = SEGMENTS / 5;
    let window = |segments: &[(Measurement, Footprint)]| -> Result<Measurement, BenchError> {
        let mut rounds = crate::bench::load::Rounds::default();
        for (m, _) in segments {
            rounds.add(m.clone())?;
        }
        rounds.total()
    };
    let first = window(&measured[..fifth])?;
    let last = window(&measured[SEGMENTS - fifth..])?;
    report.subject(14, "last fifth of the commands", &last, "req/s");
    report.baseline(14, "first fifth of the commands", &first, "req/s");
    report.ratio(
        14,
        format!(
            "{total} commands at {in_flight} in flight: throughput of the last 20% / the first 20%"
        ),
        match (last.throughput(), first.throughput()) {
            (Some(l), Some(f)) if f > 0.0 => Outcome::Value(l / f),
            _ => Outcome::NotAvailable("no samples".into()),
        },
        Some(Target::AtLeast(0.9)),
    );
    let quarter = measured[SEGMENTS / 4 - 1].1;
    let end = measured[SEGMENTS - 1].1;
    report.ratio(
        14,
        format!("RSS after {total} commands / RSS after {}", total / 4),
        Outcome::Value(end.rss_kib as f64 / quarter.rss_kib.max(1) as f64),
        Some(Target::AtMost(1.1)),
    );
    report.ratio(
        14,
        "threads: most seen during the run / at the start",
        Outcome::Value(most_threads as f64 / started.threads.max(1) as f64),
        None,
    );
    let trail: Vec<String> = measured
        .iter()
        .map(|(m, f)| {
            format!(
                "{:.0}/s {:.0} MiB {}t",
                m.throughput().unwrap_or(0.0),
                f.rss_mib(),
                f.threads
            )
        })
        .collect();
    report.note(format!(
        "Scenario 14: server process at start {:.1} MiB, {} threads; at a quarter {:.1} MiB; at \
         the end {:.1} MiB, {} threads; most threads seen {most_threads}. Per segment of {} \
         commands: {}.",
        started.rss_mib(),
        started.threads,
        quarter.rss_mib(),
        end.rss_mib(),
        end.threads,
        total / SEGMENTS,
        trail.join(", ")
    ));
    Ok(())
}

/// The commands of `plan`: by `i % 4`, two orders, a receipt and a new product.
async fn mix(
    channel: Channel,
    skus: Arc<Vec<String>>,
    run_id: String,
    plan: &Plan,
) -> Result<Measurement, BenchError> {
    closed_loop(plan, move |i| {
        let channel = channel.clone();
        let sku = skus[(i / 4) % skus.len()].clone();
        let new_sku = format!("{run_id}-{SET}-new-{i}");
        async move {
            let answer = match i % 4 {
                0 | 1 => OrderCommandsClient::new(channel)
                    .place_order(order(&sku))
                    .await
                    .map(|_| ()),
                2 => InventoryCommandsClient::new(channel)
                    .receive_stock(receive_stock(&sku))
                    .await
                    .map(|_| ()),
                _ => InventoryCommandsClient::new(channel)
                    .register_product(register(&new_sku))
                    .await
                    .map(|_| ()),
            };
            answer.map_err(|s| s.to_string())
        }
    })
    .await
}

fn options() -> Option<CommandOptions> {
    Some(CommandOptions {
        command_id: Uuid::now_v7().to_string(),
        ..CommandOptions::default()
    })
}

fn register(sku: &str) -> RegisterProductRequest {
    RegisterProductRequest {
        options: options(),
        sku: sku.to_owned(),
        name: format!("Long-run product {sku}"),
    }
}

fn order(sku: &str) -> PlaceOrderRequest {
    PlaceOrderRequest {
        options: options(),
        order_id: String::new(),
        customer_id: "long-run".into(),
        currency: "EUR".into(),
        lines: vec![OrderLine {
            sku: sku.to_owned(),
            quantity: 1,
            unit_price_minor: 250,
        }],
    }
}

/// Reads the server's thread count every [`SAMPLE_EVERY`] into `most`, while the segment beside
/// it runs (it is dropped when that ends); returns only when `/proc` cannot be read.
async fn sample_threads(server: &ServerProcess, most: &AtomicU64) -> BenchError {
    let mut ticks = tokio::time::interval(SAMPLE_EVERY);
    loop {
        ticks.tick().await;
        match server.footprint() {
            Ok(footprint) => {
                most.fetch_max(footprint.threads, Ordering::Relaxed);
            }
            Err(e) => return e,
        }
    }
}
