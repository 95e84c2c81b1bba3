//! Scenario 6: REST against direct gRPC for the same query: `GET /v1/products/{sku}` on the
//! server's own REST listener (`--rest-listen`: the gateway's router calling the services
//! in-process) and through `causeway-gateway` (transcoded to `GetProduct` and forwarded over
//! gRPC, a second hop), against `InventoryQueries/GetProduct` sent straight to the server, at 1
//! and 32 in flight, the three interleaved.
//!
//! The gateway runs in-process through its library `run` entry point, on the server runtime:
//! it is server-side infrastructure, so it shares the server's core while the load generator
//! keeps its own. The HTTP client is a plain HTTP/1.1 keep-alive client (reqwest without TLS),
//! which opens one connection per concurrent request as REST callers do.

use std::{net::SocketAddr, sync::Arc};

use causeway_gateway::{GatewayError, config::Config as GatewayConfig};
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};

use super::{Bench, query::queries, reads::ReadSet};
use crate::bench::{
    BenchError,
    error::Context,
    load::{Measurement, Plan, Rounds, closed_loop},
    report::{Outcome, Report, Target},
};

/// A gateway running on the server runtime.
pub(super) struct Gateway {
    /// Where it listens.
    pub(super) addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), GatewayError>>,
}

/// Starts the gateway in front of `upstream`, on the server runtime.
pub(super) async fn start(bench: &Bench, upstream: SocketAddr) -> Result<Gateway, BenchError> {
    let uri = format!("http://{upstream}")
        .parse()
        .doing("gateway upstream")?;
    let mut config = GatewayConfig::with_upstream(uri);
    config.log = "warn".to_owned();
    let (bound, addr) = oneshot::channel();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = bench.server.spawn(async move {
        let listener = match TcpListener::bind("127.0.0.1:0").await {
            Ok(listener) => listener,
            Err(e) => {
                let _ = bound.send(Err(e));
                return Ok(());
            }
        };
        let _ = bound.send(listener.local_addr());
        causeway_gateway::run(listener, config, async {
            let _ = stopped.await;
        })
        .await
    });
    let addr = addr
        .await
        .map_err(|_| BenchError::new("the gateway task ended before binding"))?
        .doing("binding the gateway")?;
    Ok(Gateway { addr, stop, task })
}

/// Stops the gateway and reports whether it ended cleanly.
pub(super) async fn stop(gateway: Gateway) -> Result<(), BenchError> {
    let _ = gateway.stop.send(());
    gateway
        .task
        .await
        .doing("gateway task")?
        .doing("gateway stopped with an error")
}

/// `GET /v1/products/{sku}` through the gateway for every operation.
async fn gets(
    http: reqwest::Client,
    gateway: SocketAddr,
    skus: Arc<Vec<String>>,
    plan: &Plan,
) -> Result<Measurement, BenchError> {
    closed_loop(plan, move |i| {
        let url = (!skus.is_empty())
            .then(|| format!("http://{gateway}/v1/products/{}", skus[i % skus.len()]));
        let http = http.clone();
        async move {
            let url = url.ok_or("no product to query")?;
            let response = http.get(&url).send().await.map_err(|e| e.to_string())?;
            let status = response.status();
            let body = response.bytes().await.map_err(|e| e.to_string())?;
            if !status.is_success() || body.is_empty() {
                return Err(format!("GET {url}: {status}"));
            }
            Ok(())
        }
    })
    .await
}

pub(super) async fn run(
    bench: &Bench,
    set: &ReadSet,
    report: &mut Report,
) -> Result<(), BenchError> {
    let gateway = start(bench, set.server.addr).await?;
    let http = reqwest::Client::builder()
        .build()
        .doing("building the HTTP client")?;
    let in_server = set
        .server
        .rest
        .ok_or_else(|| BenchError::new("the read-side server serves no REST routes"))?;
    let measured = compare(bench, set, &http, [in_server, gateway.addr], report).await;
    let stopped = stop(gateway).await;
    measured?;
    stopped
}

async fn compare(
    bench: &Bench,
    set: &ReadSet,
    http: &reqwest::Client,
    [in_server, gateway]: [SocketAddr; 2],
    report: &mut Report,
) -> Result<(), BenchError> {
    let scale = &bench.scale;
    for (in_flight, count) in [
        (1, scale.requests),
        (scale.in_flight, scale.concurrent_requests),
    ] {
        bench.progress(&format!(
            "scenario 6 at {in_flight} in flight: direct gRPC, REST in the server, REST gateway"
        ));
        let (mut direct, mut rest, mut local) =
            (Rounds::default(), Rounds::default(), Rounds::default());
        for plan in bench.rounds(in_flight, count) {
            let skus = Arc::clone(&set.catalogue);
            direct.add(queries(set.server.channel(), skus, &plan).await?)?;
            let skus = Arc::clone(&set.catalogue);
            local.add(gets(http.clone(), in_server, skus, &plan).await?)?;
            let skus = Arc::clone(&set.catalogue);
            rest.add(gets(http.clone(), gateway, skus, &plan).await?)?;
        }
        let (direct, rest, local) = (direct.total()?, rest.total()?, local.total()?);
        report.subject(
            6,
            "GET /v1/products/{sku} on the server's --rest-listen (HTTP/1.1, in-process)",
            &local,
            "req/s",
        );
        report.subject(
            6,
            "GET /v1/products/{sku} through the REST gateway (HTTP/1.1, second hop)",
            &rest,
            "req/s",
        );
        report.baseline(6, "GetProduct over gRPC, direct", &direct, "req/s");
        let ratio = |a: &Measurement| match (a.p50(), direct.p50()) {
            (Some(r), Some(d)) if !d.is_zero() => Outcome::Value(r.as_secs_f64() / d.as_secs_f64()),
            _ => Outcome::NotAvailable("no samples".into()),
        };
        // The target is about latency, which only the 1-in-flight phase shows unqueued;
        // a single-binary deployment serves REST in the server, where it applies.
        let target = (in_flight == 1).then_some(Target::AtMost(1.3));
        report.ratio(
            6,
            format!("{in_flight} in flight: REST in the server p50 / direct gRPC p50, same query"),
            ratio(&local),
            target,
        );
        report.ratio(
            6,
            format!("{in_flight} in flight: gateway p50 / direct gRPC p50, same query"),
            ratio(&rest),
            None,
        );
    }
    Ok(())
}
