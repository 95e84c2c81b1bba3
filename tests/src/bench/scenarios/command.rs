//! Scenario 1: a durable command that loads a 20-event stream and appends one event
//! (`InventoryCommands/ReceiveStock` over gRPC), against a bare echo RPC of the same payload
//! size on the same server stack, and against the raw store doing the same read of 20 events
//! and durable append of 1. At 1 in flight and at 32, in interleaved phases (raw, echo, command)
//! so a change in machine load hits all three alike.
//!
//! Every operation gets its own pre-seeded stream, so each command loads exactly 20 events.

use std::sync::Arc;

use causeway_client::{
    common::CommandOptions,
    inventory::{ReceiveStockRequest, inventory_commands_client::InventoryCommandsClient},
};
use causeway_server::{
    inventory::domain::{Quantity, ReceiveStock, Sku},
    kernel::{CommandContext, CommandHandler},
    store::{EventStore, ExpectedRevision, NewEvent},
};
use prost::{Message, bytes::Bytes};
use tonic::transport::Channel;
use uuid::Uuid;

use super::{
    Bench,
    writes::{
        COMMANDS_1, COMMANDS_N, HOT, HOT_PER_SLOT, KERNEL_1, KERNEL_N, RAW_1, RAW_N, WriteSet,
    },
};
use crate::bench::{
    BenchError, echo,
    load::{Measurement, Plan, Rounds, closed_loop},
    report::{Outcome, Report, Target},
    seed,
};

/// The command every request sends: one unit received for `sku`, under a fresh command id.
pub(super) fn receive_stock(sku: &str) -> ReceiveStockRequest {
    ReceiveStockRequest {
        options: Some(CommandOptions {
            command_id: Uuid::now_v7().to_string(),
            ..CommandOptions::default()
        }),
        sku: sku.to_owned(),
        quantity: 1,
    }
}

/// Commands `ReceiveStock` on `skus[i]` for operation `i`; each must land at revision
/// `stream_events` (proof that it loaded exactly the seeded events).
pub(super) async fn commands(
    channel: Channel,
    skus: Arc<Vec<String>>,
    stream_events: usize,
    plan: &Plan,
) -> Result<Measurement, BenchError> {
    let expected = stream_events as u64;
    closed_loop(plan, move |i| {
        let mut client = InventoryCommandsClient::new(channel.clone());
        let request = skus.get(i).map(|sku| receive_stock(sku));
        async move {
            let request = request.ok_or("no stream seeded for this operation")?;
            let ack = client
                .receive_stock(request)
                .await
                .map_err(|s| s.to_string())?
                .into_inner()
                .ack
                .ok_or("the response has no ack")?;
            if ack.revision != expected {
                return Err(format!(
                    "the command left its stream at revision {}, expected {expected}",
                    ack.revision
                ));
            }
            Ok(())
        }
    })
    .await
}

/// Commands `ReceiveStock` on `hot[i % hot.len()]` for operation `i`: a few streams that take
/// command after command, so the server decides them from its aggregate cache instead of
/// reading them. Diagnostic only: the scenario's own command loads a cold stream every time.
pub(super) async fn hot_commands(
    channel: Channel,
    hot: Arc<Vec<String>>,
    plan: &Plan,
) -> Result<Measurement, BenchError> {
    closed_loop(plan, move |i| {
        let mut client = InventoryCommandsClient::new(channel.clone());
        let request = (!hot.is_empty()).then(|| receive_stock(&hot[i % hot.len()]));
        async move {
            let request = request.ok_or("no hot stream")?;
            let ack = client
                .receive_stock(request)
                .await
                .map_err(|s| s.to_string())?
                .into_inner()
                .ack
                .ok_or("the response has no ack")?;
            if ack.deduplicated {
                return Err("a fresh command id was answered as a duplicate".into());
            }
            Ok(())
        }
    })
    .await
}

/// Echoes `payload` for every operation.
pub(super) async fn echoes(
    channel: Channel,
    payload: Bytes,
    plan: &Plan,
) -> Result<Measurement, BenchError> {
    closed_loop(plan, move |_| {
        let (channel, payload) = (channel.clone(), payload.clone());
        async move {
            let size = payload.len();
            let back = echo::call(channel, payload)
                .await
                .map_err(|s| s.to_string())?;
            if back.len() != size {
                return Err(format!("echo returned {} of {size} bytes", back.len()));
            }
            Ok(())
        }
    })
    .await
}

/// The raw store's own read of a 20-event stream and durable append of one event to it, on the
/// server runtime. The events are encoded beforehand: encoding is the kernel's work, not the
/// store's.
async fn raw_operations(
    bench: &Bench,
    store: Arc<dyn EventStore>,
    skus: Arc<Vec<String>>,
    stream_events: usize,
    plan: Plan,
) -> Result<Measurement, BenchError> {
    let events: Arc<Vec<NewEvent>> =
        Arc::new(skus.iter().map(|s| seed::stock_received(s)).collect());
    bench
        .on_server(async move {
            closed_loop(&plan, move |i| {
                let store = Arc::clone(&store);
                let work = skus
                    .get(i)
                    .zip(events.get(i))
                    .map(|(sku, event)| (seed::stream(sku), event.clone()));
                async move {
                    let (stream, event) = work.ok_or("no stream seeded for this operation")?;
                    let read = store
                        .read_stream(&stream, 0)
                        .await
                        .map_err(|e| e.to_string())?;
                    if read.len() != stream_events {
                        return Err(format!(
                            "read {} events, expected {stream_events}",
                            read.len()
                        ));
                    }
                    let last = read.last().map_or(0, |e| e.revision);
                    store
                        .append(&stream, ExpectedRevision::Exact(last), vec![event])
                        .await
                        .map_err(|e| e.to_string())?;
                    Ok(())
                }
            })
            .await
        })
        .await
}

/// The same command through the kernel in-process (`CommandHandler::execute`: load, decode,
/// decide, encode, append), on the server runtime: no gRPC, no validation of a request. It
/// splits "our own code" into the kernel's share and the RPC layer's.
async fn kernel_commands(
    bench: &Bench,
    store: Arc<dyn EventStore>,
    skus: Arc<Vec<String>>,
    stream_events: usize,
    plan: Plan,
) -> Result<Measurement, BenchError> {
    let handler = CommandHandler::new(store, Arc::new(causeway_server::server::upcasters()));
    let expected = stream_events as u64;
    bench
        .on_server(async move {
            closed_loop(&plan, move |i| {
                let handler = handler.clone();
                let sku = skus.get(i).cloned();
                async move {
                    let sku = sku.ok_or("no stream seeded for this operation")?;
                    let ctx = CommandContext::new(Uuid::now_v7().to_string());
                    let cmd = ReceiveStock {
                        sku: Sku::parse(&sku).map_err(|e| e.to_string())?,
                        quantity: Quantity::parse(1).map_err(|e| e.to_string())?,
                    };
                    let ack = handler
                        .handle(&ctx, &cmd)
                        .await
                        .map_err(|e| e.to_string())?;
                    if ack.revision != expected {
                        return Err(format!(
                            "the command left its stream at revision {}, expected {expected}",
                            ack.revision
                        ));
                    }
                    Ok(())
                }
            })
            .await
        })
        .await
}

pub(super) async fn run(
    bench: &Bench,
    set: &WriteSet,
    report: &mut Report,
) -> Result<(), BenchError> {
    let scale = &bench.scale;
    let events = scale.command_stream_events;
    for (in_flight, count, commands_set, raw_set, kernel_set) in [
        (1, scale.requests, COMMANDS_1, RAW_1, KERNEL_1),
        (
            scale.in_flight,
            scale.concurrent_requests,
            COMMANDS_N,
            RAW_N,
            KERNEL_N,
        ),
    ] {
        let total = scale.warmup + count;
        let command_skus = bench.skus(commands_set, total);
        let raw_skus = bench.skus(raw_set, total);
        let kernel_skus = bench.skus(kernel_set, total);
        // The echo payload is a real request of this phase, encoded: same size, same bytes.
        let payload = Bytes::from(receive_stock(&command_skus[0]).encode_to_vec());
        let size = payload.len();
        bench.progress(&format!(
            "scenario 1 at {in_flight} in flight: raw store, echo, command"
        ));
        let (mut raw, mut echo, mut command) =
            (Rounds::default(), Rounds::default(), Rounds::default());
        let mut kernel = Rounds::default();
        let mut hot = Rounds::default();
        // Loaded by their first command, then decided from the server's aggregate cache.
        let hot_skus = bench.skus(HOT, in_flight * HOT_PER_SLOT);
        for plan in bench.rounds(in_flight, count) {
            let skus = Arc::clone(&raw_skus);
            raw.add(
                raw_operations(bench, Arc::clone(&set.raw), skus, events, plan.clone()).await?,
            )?;
            echo.add(echoes(set.server.channel(), payload.clone(), &plan).await?)?;
            let skus = Arc::clone(&command_skus);
            command.add(commands(set.server.channel(), skus, events, &plan).await?)?;
            let skus = Arc::clone(&kernel_skus);
            let store = Arc::clone(&set.raw);
            kernel.add(kernel_commands(bench, store, skus, events, plan.clone()).await?)?;
            hot.add(hot_commands(set.server.channel(), Arc::clone(&hot_skus), &plan).await?)?;
        }
        let (raw, echo, command) = (raw.total()?, echo.total()?, command.total()?);
        let (kernel, hot) = (kernel.total()?, hot.total()?);

        report.subject(
            1,
            format!("command ReceiveStock over gRPC: load {events} events, append 1, durable"),
            &command,
            "req/s",
        );
        report.baseline(
            1,
            format!("echo RPC, same stack, {size} B payload"),
            &echo,
            "req/s",
        );
        report.baseline(
            1,
            format!("raw store: read {events} events + durable append of 1"),
            &raw,
            "ops/s",
        );
        report.baseline(
            1,
            "diagnostic: the same command through the kernel in-process (no gRPC)",
            &kernel,
            "req/s",
        );
        report.baseline(
            1,
            format!(
                "diagnostic: ReceiveStock over gRPC on {} hot stream(s), decided from the aggregate cache",
                hot_skus.len()
            ),
            &hot,
            "req/s",
        );
        if in_flight == 1 {
            ratios_at_one(report, &command, &echo, &raw, &kernel);
        } else {
            ratios_concurrent(report, in_flight, &command, &echo, &raw);
        }
        report.ratio(
            1,
            format!(
                "{in_flight} in flight, diagnostic: hot-stream (cached) command throughput / echo throughput"
            ),
            match (hot.throughput(), echo.throughput()) {
                (Some(h), Some(e)) if e > 0.0 => Outcome::Value(h / e),
                _ => Outcome::NotAvailable("no samples".into()),
            },
            None,
        );
    }
    Ok(())
}

fn ratios_at_one(
    report: &mut Report,
    command: &Measurement,
    echo: &Measurement,
    raw: &Measurement,
    kernel: &Measurement,
) {
    let seconds = |m: &Measurement, p: fn(&Measurement) -> Option<std::time::Duration>| {
        p(m).map(|d| d.as_secs_f64())
    };
    let own = match (
        seconds(command, Measurement::p50),
        seconds(echo, Measurement::p50),
        seconds(raw, Measurement::p50),
    ) {
        (Some(c), Some(e), Some(r)) if e > 0.0 => Outcome::Value((c - e - r) / e),
        _ => Outcome::NotAvailable("no samples".into()),
    };
    report.ratio(
        1,
        "1 in flight: our own code, (command p50 − echo p50 − raw p50) / echo p50",
        own,
        Some(Target::AtMost(1.0)),
    );
    let kernel_share = match (
        seconds(kernel, Measurement::p50),
        seconds(echo, Measurement::p50),
        seconds(raw, Measurement::p50),
    ) {
        (Some(k), Some(e), Some(r)) if e > 0.0 => Outcome::Value((k - r) / e),
        _ => Outcome::NotAvailable("no samples".into()),
    };
    report.ratio(
        1,
        "1 in flight, diagnostic: the kernel's share, (in-process command p50 − raw p50) / echo p50",
        kernel_share,
        None,
    );
    let tail = match (
        seconds(command, Measurement::p99),
        seconds(echo, Measurement::p99),
        seconds(raw, Measurement::p99),
    ) {
        (Some(c), Some(e), Some(r)) if e + r > 0.0 => Outcome::Value(c / (e + r)),
        _ => Outcome::NotAvailable("no samples".into()),
    };
    report.ratio(
        1,
        "1 in flight: command p99 / (echo p99 + raw p99)",
        tail,
        Some(Target::AtMost(3.0)),
    );
}

fn ratios_concurrent(
    report: &mut Report,
    in_flight: usize,
    command: &Measurement,
    echo: &Measurement,
    raw: &Measurement,
) {
    let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Outcome::Value(a / b),
        _ => Outcome::NotAvailable("no samples".into()),
    };
    report.ratio(
        1,
        format!("{in_flight} in flight: command throughput / echo throughput"),
        ratio(command.throughput(), echo.throughput()),
        Some(Target::AtLeast(0.4)),
    );
    report.ratio(
        1,
        format!("{in_flight} in flight: command throughput / raw store throughput"),
        ratio(command.throughput(), raw.throughput()),
        None,
    );
}
