//! Scenario 13: one hot stream under many clients. Every client reserves one unit of the same
//! well-stocked product (`InventoryCommands/ReserveStock`, a fresh reservation each time), at 1,
//! 16 and 32 clients, each client on a connection of its own; and, as the writer's measure, 32
//! clients reserving on 32 different products. An `ABORTED` answer ("still contested") is
//! counted, not fatal: its share is what the scenario judges, with the throughput against one
//! client's. The phases take turns round after round on one command-role server.

use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

use causeway_client::{
    common::CommandOptions,
    inventory::{ReserveStockRequest, inventory_commands_client::InventoryCommandsClient},
};
use causeway_server::config::Role;
use tonic::{Code, transport::Channel};
use uuid::Uuid;

use super::{Bench, fulfilment::restock, settle};
use crate::bench::{
    BenchError,
    error::Context,
    load::{Measurement, Plan, Rounds, closed_loop},
    report::{Outcome, Report, Target},
    server::BenchServer,
};

/// Data-set name (the middle part of each sku).
const SET: &str = "hot";
/// Clients of the contended phases.
const CLIENTS: [usize; 2] = [16, 32];

pub(super) async fn run(bench: &Bench, report: &mut Report) {
    if !bench.options.wants(13) {
        return;
    }
    let result = measure(bench, report).await;
    settle(report, 13, result);
}

/// What one phase found: its measurement and how many answers were `ABORTED`.
struct Phase {
    measurement: Measurement,
    aborted: u64,
}

async fn measure(bench: &Bench, report: &mut Report) -> Result<(), BenchError> {
    let dir = bench.base.join("hot");
    let config = bench.config(&dir, Role::Command);
    let most = CLIENTS.iter().copied().max().unwrap_or(1);
    let skus = bench.skus(SET, most);
    bench
        .seed_products(&config, &skus, "scenario 13's products")
        .await?;

    let server = BenchServer::start(&bench.server, config).await?;
    let result = phases(bench, &server, &skus, report).await;
    let stopped = server.stop().await;
    result.and(stopped)
}

async fn phases(
    bench: &Bench,
    server: &BenchServer,
    skus: &Arc<Vec<String>>,
    report: &mut Report,
) -> Result<(), BenchError> {
    restock(server.channel(), skus).await?;
    let most = CLIENTS.iter().copied().max().unwrap_or(1);
    let mut channels = Vec::with_capacity(most);
    for _ in 0..most {
        channels.push(connect(server).await?);
    }
    let channels = Arc::new(channels);
    let hot = Arc::new(vec![skus[0].clone()]);
    let count = bench.scale.concurrent_requests / 4;
    bench.progress(&format!(
        "scenario 13: one stream at 1, {} and {} clients; {} clients on {} streams",
        CLIENTS[0],
        CLIENTS[1],
        most,
        skus.len()
    ));
    let mut alone = Rounds::default();
    let mut contended: Vec<(Rounds, u64)> = CLIENTS.iter().map(|_| Default::default()).collect();
    let mut spread = (Rounds::default(), 0);
    let rounds = bench.rounds(1, count);
    for plan in rounds {
        let one = Plan {
            in_flight: 1,
            ..plan.clone()
        };
        alone.add(reservations(&channels, &hot, &one).await?.measurement)?;
        for (clients, (measured, aborted)) in CLIENTS.iter().zip(contended.iter_mut()) {
            let many = Plan {
                in_flight: *clients,
                ..plan.clone()
            };
            let phase = reservations(&channels, &hot, &many).await?;
            measured.add(phase.measurement)?;
            *aborted += phase.aborted;
        }
        let many = Plan {
            in_flight: most,
            ..plan.clone()
        };
        let phase = reservations(&channels, skus, &many).await?;
        spread.0.add(phase.measurement)?;
        spread.1 += phase.aborted;
    }
    let alone = alone.total()?;
    let spread_aborted = spread.1;
    let spread = spread.0.total()?;
    report.baseline(13, "1 client, one stream", &alone, "req/s");
    report.baseline(
        13,
        format!("{most} clients, {} streams (one each)", skus.len()),
        &spread,
        "req/s",
    );
    if spread_aborted > 0 {
        report.note(format!(
            "Scenario 13: {spread_aborted} ABORTED answers with {most} clients on {} streams.",
            skus.len()
        ));
    }
    for (clients, (measured, aborted)) in CLIENTS.iter().zip(contended) {
        let measured = measured.total()?;
        report.subject(
            13,
            format!("{clients} clients, one stream ({aborted} ABORTED)"),
            &measured,
            "req/s",
        );
        report.ratio(
            13,
            format!("{clients} clients on one stream: ABORTED answers / commands"),
            match measured.count() {
                0 => Outcome::NotAvailable("no samples".into()),
                n => Outcome::Value(aborted as f64 / n as f64),
            },
            Some(Target::AtMost(0.0)),
        );
        report.ratio(
            13,
            format!("{clients} clients on one stream: reservations made/s / 1 client's"),
            ratio(made(&measured, aborted), alone.throughput()),
            None,
        );
        if *clients == most {
            report.ratio(
                13,
                format!(
                    "{clients} clients, diagnostic: one stream's throughput / {} streams'",
                    skus.len()
                ),
                ratio(made(&measured, aborted), made(&spread, spread_aborted)),
                None,
            );
        }
    }
    Ok(())
}

/// Commands that succeeded, per second.
fn made(measured: &Measurement, aborted: u64) -> Option<f64> {
    let seconds = measured.elapsed.as_secs_f64();
    (seconds > 0.0).then(|| measured.count().saturating_sub(aborted) as f64 / seconds)
}

fn ratio(a: Option<f64>, b: Option<f64>) -> Outcome {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Outcome::Value(a / b),
        _ => Outcome::NotAvailable("no samples".into()),
    }
}

/// A connection of its own, as a separate client would hold.
async fn connect(server: &BenchServer) -> Result<Channel, BenchError> {
    tonic::transport::Endpoint::from_shared(format!("http://{}", server.addr))
        .doing("server url")?
        .connect()
        .await
        .doing("connecting a client")
}

/// Reserves one unit of `skus[i % len]` for operation `i`, on client `i % in_flight`'s
/// connection; an `ABORTED` answer is counted (and timed like the others), anything else that is
/// not an acknowledgement fails the phase.
async fn reservations(
    channels: &Arc<Vec<Channel>>,
    skus: &Arc<Vec<String>>,
    plan: &Plan,
) -> Result<Phase, BenchError> {
    let aborted = Arc::new(AtomicU64::new(0));
    let measured_from = plan.offset + plan.warmup;
    let (channels, skus, counted) = (channels.clone(), skus.clone(), aborted.clone());
    let clients = plan.in_flight.min(channels.len()).max(1);
    let measurement = closed_loop(plan, move |i| {
        let mut client = InventoryCommandsClient::new(channels[i % clients].clone());
        let request = ReserveStockRequest {
            options: Some(CommandOptions {
                command_id: Uuid::now_v7().to_string(),
                ..CommandOptions::default()
            }),
            sku: skus[i % skus.len()].clone(),
            quantity: 1,
            reservation_id: Uuid::new_v4().simple().to_string(),
        };
        let counted = counted.clone();
        async move {
            match client.reserve_stock(request).await {
                Ok(_) => Ok(()),
                Err(status) if status.code() == Code::Aborted => {
                    if i >= measured_from {
                        counted.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(())
                }
                Err(status) => Err(status.to_string()),
            }
        }
    })
    .await?;
    Ok(Phase {
        measurement,
        aborted: aborted.load(Ordering::Relaxed),
    })
}
