//! Scenario 16: tails under load. One command (`ReceiveStock` of one unit on one of many
//! products) at 32 in flight, over gRPC straight to the server and over REST
//! (`POST /v1/products/{sku}:receive`, HTTP/1.1 keep-alive, one connection per request in
//! flight): through the standalone gateway (`causeway-gateway`, in-process on the server's
//! runtime as in scenario 6) and through the server's own REST listener (`--rest-listen`).
//! Judged: p99 / p50 of each, which the issue wants within 4. The three take turns round after
//! round on one command-role server.

use std::{net::SocketAddr, sync::Arc};

use causeway_server::config::Role;
use uuid::Uuid;

use super::{Bench, command::hot_commands, fulfilment::restock, gateway, settle};
use crate::bench::{
    BenchError,
    error::Context,
    load::{Measurement, Plan, Rounds, closed_loop},
    report::{Outcome, Report, Target},
    server::BenchServer,
};

/// Data-set name (the middle part of each sku).
const SET: &str = "tail";
/// Products the commands go round: enough that 32 in flight rarely share one.
const PRODUCTS: usize = 256;

pub(super) async fn run(bench: &Bench, report: &mut Report) {
    if !bench.options.wants(16) {
        return;
    }
    let result = measure(bench, report).await;
    settle(report, 16, result);
}

async fn measure(bench: &Bench, report: &mut Report) -> Result<(), BenchError> {
    let dir = bench.base.join("tails");
    let config = bench.config(&dir, Role::Command);
    let skus = bench.skus(SET, PRODUCTS);
    bench
        .seed_products(&config, &skus, "scenario 16's products")
        .await?;

    let server = BenchServer::start_with_rest(&bench.server, config).await?;
    let rest = server
        .rest
        .ok_or_else(|| BenchError::new("the server serves no REST routes"))?;
    let gateway = gateway::start(bench, server.addr).await?;
    let result = phases(bench, &server, gateway.addr, rest, &skus, report).await;
    let gateway_stopped = gateway::stop(gateway).await;
    let stopped = server.stop().await;
    result.and(gateway_stopped).and(stopped)
}

async fn phases(
    bench: &Bench,
    server: &BenchServer,
    gateway: SocketAddr,
    rest: SocketAddr,
    skus: &Arc<Vec<String>>,
    report: &mut Report,
) -> Result<(), BenchError> {
    restock(server.channel(), skus).await?;
    let http = reqwest::Client::builder()
        .build()
        .doing("building the HTTP client")?;
    let in_flight = bench.scale.in_flight;
    bench.progress(&format!(
        "scenario 16 at {in_flight} in flight: gRPC, REST through the gateway, REST in the server"
    ));
    let (mut grpc, mut through_gateway, mut in_server) =
        (Rounds::default(), Rounds::default(), Rounds::default());
    for plan in bench.rounds(in_flight, bench.scale.concurrent_requests) {
        grpc.add(hot_commands(server.channel(), skus.clone(), &plan).await?)?;
        through_gateway.add(posts(http.clone(), gateway, skus.clone(), &plan).await?)?;
        in_server.add(posts(http.clone(), rest, skus.clone(), &plan).await?)?;
    }
    for (what, measured) in [
        ("ReceiveStock over gRPC", grpc.total()?),
        (
            "POST /v1/products/{sku}:receive through causeway-gateway",
            through_gateway.total()?,
        ),
        (
            "POST /v1/products/{sku}:receive on the server's --rest-listen",
            in_server.total()?,
        ),
    ] {
        report.subject(16, what, &measured, "req/s");
        report.ratio(
            16,
            format!("{in_flight} in flight: p99 / p50, {what}"),
            match (measured.p99(), measured.p50()) {
                (Some(p99), Some(p50)) if !p50.is_zero() => {
                    Outcome::Value(p99.as_secs_f64() / p50.as_secs_f64())
                }
                _ => Outcome::NotAvailable("no samples".into()),
            },
            Some(Target::AtMost(4.0)),
        );
    }
    Ok(())
}

/// `POST /v1/products/{sku}:receive` of one unit on `skus[i % len]` to `at`.
async fn posts(
    http: reqwest::Client,
    at: SocketAddr,
    skus: Arc<Vec<String>>,
    plan: &Plan,
) -> Result<Measurement, BenchError> {
    closed_loop(plan, move |i| {
        let url = format!("http://{at}/v1/products/{}:receive", skus[i % skus.len()]);
        let body = format!(
            r#"{{"options":{{"commandId":"{}"}},"quantity":"1"}}"#,
            Uuid::now_v7()
        );
        let http = http.clone();
        async move {
            let response = http
                .post(&url)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            let status = response.status();
            let answer = response.bytes().await.map_err(|e| e.to_string())?;
            if !status.is_success() {
                return Err(format!(
                    "POST {url}: {status}: {}",
                    String::from_utf8_lossy(&answer)
                ));
            }
            Ok(())
        }
    })
    .await
}
