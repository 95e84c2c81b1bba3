//! Scenario 10: an order fulfilled end to end against one command, on one all-roles server with
//! fulfilment on. The subject places an order (one unit of one of many well-stocked products)
//! and asks for its outcome (`GetOrder` with `awaitOutcome`); its latency is from the
//! `PlaceOrder` acknowledgement until CONFIRMED is visible in the orders read model, i.e. what
//! fulfilment adds (two reservation-side commands, three appends to its own stream, the
//! confirmation, two projections). The baseline is one command, `ReceiveStock` on the same
//! products, over the same channel. At 1 and 32 in flight, subject and baseline taking turns.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use causeway_client::{
    common::{CommandOptions, Consistency},
    inventory::inventory_commands_client::InventoryCommandsClient,
    orders::{
        GetOrderRequest, OrderLine, OrderStatus, PlaceOrderRequest,
        order_commands_client::OrderCommandsClient, order_queries_client::OrderQueriesClient,
    },
};
use causeway_server::config::{FulfilmentMode, Role};
use hdrhistogram::Histogram;
use tonic::transport::Channel;
use uuid::Uuid;

use super::{Bench, command::receive_stock, settle};
use crate::bench::{
    BenchError,
    load::{Measurement, Plan, Rounds, closed_loop},
    report::{Outcome, Report},
    server::BenchServer,
};

/// Products the orders go round: enough that 32 orders in flight rarely reserve the same one.
const PRODUCTS: usize = 256;
/// Units each product holds: more than all orders of a run take.
const UNITS: u64 = 1_000_000_000;
/// Data-set name (the middle part of each sku).
const SET: &str = "ful";

pub(super) async fn run(bench: &Bench, report: &mut Report) {
    if !bench.options.wants(10) {
        return;
    }
    let result = measure(bench, report).await;
    settle(report, 10, result);
}

async fn measure(bench: &Bench, report: &mut Report) -> Result<(), BenchError> {
    let dir = bench.base.join("fulfilment");
    let mut config = bench.config(&dir, Role::All);
    config.fulfilment = FulfilmentMode::Enabled;
    bench.progress("scenario 10: stocking products");
    let skus = bench.skus(SET, PRODUCTS);
    bench
        .seed_products(&config, &skus, "scenario 10's products")
        .await?;

    let server = BenchServer::start(&bench.server, config).await?;
    let result = phases(bench, &server, skus, report).await;
    let stopped = server.stop().await;
    result.and(stopped)
}

async fn phases(
    bench: &Bench,
    server: &BenchServer,
    skus: Arc<Vec<String>>,
    report: &mut Report,
) -> Result<(), BenchError> {
    restock(server.channel(), &skus).await?;
    let scale = &bench.scale;
    for (in_flight, count) in [
        (1, scale.fulfilment_orders),
        (scale.in_flight, scale.concurrent_fulfilment_orders),
    ] {
        bench.progress(&format!(
            "scenario 10 at {in_flight} in flight: command, order"
        ));
        let (mut command, mut fulfilled, mut after_ack) =
            (Rounds::default(), Rounds::default(), Rounds::default());
        for plan in bench.rounds(in_flight, count) {
            command.add(commands(server.channel(), skus.clone(), &plan).await?)?;
            let (whole, from_ack) = orders(server.channel(), skus.clone(), &plan).await?;
            fulfilled.add(whole)?;
            after_ack.add(from_ack)?;
        }
        let (command, fulfilled, after_ack) =
            (command.total()?, fulfilled.total()?, after_ack.total()?);
        report.subject(
            10,
            format!("{in_flight} in flight: order placed and CONFIRMED visible"),
            &fulfilled,
            "orders/s",
        );
        report.subject(
            10,
            format!("{in_flight} in flight: PlaceOrder ack -> CONFIRMED visible"),
            &after_ack,
            "orders/s",
        );
        report.baseline(
            10,
            format!("{in_flight} in flight: one command (ReceiveStock)"),
            &command,
            "req/s",
        );
        let ratio = |a: Option<Duration>, b: Option<Duration>| match (a, b) {
            (Some(a), Some(b)) if !b.is_zero() => Outcome::Value(a.as_secs_f64() / b.as_secs_f64()),
            _ => Outcome::NotAvailable("no samples".into()),
        };
        report.ratio(
            10,
            format!("{in_flight} in flight: fulfilment p50 (ack -> CONFIRMED) / command p50"),
            ratio(after_ack.p50(), command.p50()),
            None,
        );
        report.ratio(
            10,
            format!("{in_flight} in flight: fulfilment p99 (ack -> CONFIRMED) / command p99"),
            ratio(after_ack.p99(), command.p99()),
            None,
        );
        let throughput = match (fulfilled.throughput(), command.throughput()) {
            (Some(o), Some(c)) if c > 0.0 => Outcome::Value(o / c),
            _ => Outcome::NotAvailable("no samples".into()),
        };
        report.ratio(
            10,
            format!("{in_flight} in flight: orders fulfilled/s / commands/s"),
            throughput,
            None,
        );
    }
    Ok(())
}

/// Gives every product [`UNITS`] units (the seed registered them with one).
pub(super) async fn restock(channel: Channel, skus: &[String]) -> Result<(), BenchError> {
    let mut client = InventoryCommandsClient::new(channel);
    for sku in skus {
        let mut request = receive_stock(sku);
        request.quantity = UNITS;
        client
            .receive_stock(request)
            .await
            .map_err(|s| BenchError::new(format!("restocking {sku}: {s}")))?;
    }
    Ok(())
}

/// `ReceiveStock` of one unit of `skus[i % len]` for operation `i`.
async fn commands(
    channel: Channel,
    skus: Arc<Vec<String>>,
    plan: &Plan,
) -> Result<Measurement, BenchError> {
    closed_loop(plan, move |i| {
        let mut client = InventoryCommandsClient::new(channel.clone());
        let request = receive_stock(&skus[i % skus.len()]);
        async move {
            client
                .receive_stock(request)
                .await
                .map_err(|s| s.to_string())
                .map(|_| ())
        }
    })
    .await
}

/// Places an order for one unit of `skus[i % len]` and waits for it to be CONFIRMED; returns
/// the whole operation's measurement and the one from the acknowledgement on.
async fn orders(
    channel: Channel,
    skus: Arc<Vec<String>>,
    plan: &Plan,
) -> Result<(Measurement, Measurement), BenchError> {
    let measured_from = plan.offset + plan.warmup;
    let after_ack = Arc::new(Mutex::new(histogram()?));
    let recorded = after_ack.clone();
    let whole = closed_loop(plan, move |i| {
        let (channel, sku) = (channel.clone(), skus[i % skus.len()].clone());
        let recorded = recorded.clone();
        async move {
            let ack_to_visible = fulfil(channel, &sku).await?;
            if i >= measured_from {
                let nanos = u64::try_from(ack_to_visible.as_nanos()).unwrap_or(u64::MAX);
                recorded
                    .lock()
                    .map_err(|_| "a worker panicked".to_owned())?
                    .saturating_record(nanos.max(1));
            }
            Ok(())
        }
    })
    .await?;
    let histogram = Arc::try_unwrap(after_ack)
        .map_err(|_| BenchError::new("an order task outlived its phase"))?
        .into_inner()
        .map_err(|_| BenchError::new("a worker panicked"))?;
    let from_ack = Measurement {
        histogram,
        ..whole.clone()
    };
    Ok((whole, from_ack))
}

/// One order, placed and awaited; the time from its ack to CONFIRMED being visible.
async fn fulfil(channel: Channel, sku: &str) -> Result<Duration, String> {
    let placed = OrderCommandsClient::new(channel.clone())
        .place_order(PlaceOrderRequest {
            options: Some(CommandOptions {
                command_id: Uuid::now_v7().to_string(),
                ..CommandOptions::default()
            }),
            order_id: String::new(),
            customer_id: "bench".into(),
            currency: "EUR".into(),
            lines: vec![OrderLine {
                sku: sku.to_owned(),
                quantity: 1,
                unit_price_minor: 100,
            }],
        })
        .await
        .map_err(|s| s.to_string())?
        .into_inner();
    let acked = Instant::now();
    let position = placed.ack.map_or(0, |a| a.position);
    let order = OrderQueriesClient::new(channel)
        .get_order(GetOrderRequest {
            order_id: placed.order_id,
            consistency: Some(Consistency {
                min_position: position,
            }),
            await_outcome: true,
            ..Default::default()
        })
        .await
        .map_err(|s| s.to_string())?
        .into_inner()
        .order
        .ok_or("the response has no order")?;
    if order.status() != OrderStatus::Confirmed {
        return Err(format!(
            "order ended {:?}: {}",
            order.status(),
            order.reason
        ));
    }
    Ok(acked.elapsed())
}

fn histogram() -> Result<Histogram<u64>, BenchError> {
    Histogram::new_with_bounds(1, 120_000_000_000, 3)
        .map_err(|e| BenchError::new(format!("histogram: {e}")))
}
