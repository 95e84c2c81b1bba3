//! Measures what the gateway adds to a call: the same read (`GetProduct`) made directly over
//! gRPC and through the gateway over HTTP/1.1 keep-alive, one at a time, against a real server
//! on loopback. Prints median and p99 of each and the difference.
//!
//! `cargo run -p causeway-gateway --example overhead --release [-- <requests>]`

use std::time::{Duration, Instant};

use causeway_client::common::CommandOptions;
use causeway_client::inventory::{
    GetProductRequest, RegisterProductRequest, inventory_commands_client::InventoryCommandsClient,
    inventory_queries_client::InventoryQueriesClient,
};
use causeway_gateway::config::Config;
use causeway_tests::TestServer;

#[tokio::main]
async fn main() {
    let requests: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(2000);
    let server = TestServer::start().await;
    let channel = server.channel().await;
    InventoryCommandsClient::new(channel.clone())
        .register_product(RegisterProductRequest {
            options: Some(CommandOptions {
                command_id: causeway_tests::command_id(),
                ..CommandOptions::default()
            }),
            sku: "kettle".into(),
            name: "Kettle".into(),
        })
        .await
        .expect("register");

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let config = Config::with_upstream(server.url().parse().unwrap());
    tokio::spawn(causeway_gateway::run(
        listener,
        config,
        std::future::pending(),
    ));

    let mut queries = InventoryQueriesClient::new(channel);
    let http = reqwest::Client::new();
    let url = format!("http://{addr}/v1/products/kettle");
    // Warm both paths (connections, projection caught up).
    for _ in 0..50 {
        let _ = queries
            .get_product(GetProductRequest {
                sku: "kettle".into(),
                consistency: None,
                ..Default::default()
            })
            .await;
        let _ = http.get(&url).send().await.unwrap().bytes().await;
    }

    let mut direct = Vec::with_capacity(requests);
    let mut gateway = Vec::with_capacity(requests);
    for _ in 0..requests {
        let started = Instant::now();
        queries
            .get_product(GetProductRequest {
                sku: "kettle".into(),
                consistency: None,
                ..Default::default()
            })
            .await
            .expect("direct read");
        direct.push(started.elapsed());
        let started = Instant::now();
        let response = http.get(&url).send().await.expect("gateway read");
        assert!(response.status().is_success());
        response.bytes().await.expect("body");
        gateway.push(started.elapsed());
    }
    let (d50, d99) = percentiles(&mut direct);
    let (g50, g99) = percentiles(&mut gateway);
    println!("{requests} sequential GetProduct reads on loopback");
    println!("direct gRPC      : p50 {d50:>9.3?}  p99 {d99:>9.3?}");
    println!("through gateway  : p50 {g50:>9.3?}  p99 {g99:>9.3?}");
    println!(
        "gateway overhead : p50 {:>9.3?}  p99 {:>9.3?}",
        g50.saturating_sub(d50),
        g99.saturating_sub(d99)
    );
}

fn percentiles(samples: &mut [Duration]) -> (Duration, Duration) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    (at(0.5), at(0.99))
}
