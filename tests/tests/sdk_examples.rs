//! The SDK's examples (`client-sdk/examples/`) run against a real server. Each example is a thin
//! `main` over a `run` function; the example file itself is compiled into this test, so what runs
//! here is exactly the code a reader copies, without spawning `cargo run` or guessing where the
//! built binaries live.

#[path = "../../client-sdk/examples/place_order.rs"]
#[allow(dead_code)]
mod place_order;

#[path = "../../client-sdk/examples/low_stock.rs"]
#[allow(dead_code)]
mod low_stock;

#[path = "../../client-sdk/examples/low_stock_notifier.rs"]
#[allow(dead_code)]
mod low_stock_notifier;

use std::time::Duration;

use causeway_client::{
    Client,
    inventory::{ReceiveStockRequest, RegisterProductRequest, ReserveStockRequest},
    orders::OrderStatus,
};
use causeway_tests::TestServer;

#[tokio::test(flavor = "multi_thread")]
async fn place_order_places_and_reads_back() {
    let server = TestServer::start().await;
    let order = place_order::run(&server.url()).await.expect("example runs");
    assert_eq!(order.status(), OrderStatus::Placed);
    assert_eq!(order.customer_id, "ada");
    assert_eq!(order.total_minor, 2 * 2999);
}

#[tokio::test(flavor = "multi_thread")]
async fn low_stock_lists_what_needs_restocking() {
    let server = TestServer::start().await;
    let client = Client::builder(server.url())
        .deadline(Duration::from_secs(20))
        .build()
        .expect("client");
    let session = client.session();
    for (sku, stock) in [("anvil", 1), ("bellows", 40), ("chisel", 4), ("drill", 5)] {
        session
            .inventory()
            .register_product(RegisterProductRequest {
                sku: sku.into(),
                name: sku.to_uppercase(),
                ..Default::default()
            })
            .await
            .expect("register");
        session
            .inventory()
            .receive_stock(ReceiveStockRequest {
                sku: sku.into(),
                quantity: stock,
                ..Default::default()
            })
            .await
            .expect("receive");
    }
    // The example's client has no session: wait until the read model holds the last write.
    session
        .inventory()
        .get_product(causeway_client::inventory::GetProductRequest {
            sku: "drill".into(),
            ..Default::default()
        })
        .await
        .expect("caught up");

    let low = low_stock::run(&server.url(), 5)
        .await
        .expect("example runs");
    let skus: Vec<&str> = low.iter().map(|p| p.sku.as_str()).collect();
    assert_eq!(skus, ["anvil", "chisel"]);
}

/// Runs the notifier until it has told `count` products and checkpointed `through`, then stops
/// it (as a deploy would).
async fn notices(
    url: &str,
    checkpoint: &std::path::Path,
    count: usize,
    through: u64,
) -> Vec<(String, u64)> {
    let told = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = told.clone();
    let (url, file) = (url.to_owned(), checkpoint.to_owned());
    let notifier = tokio::spawn(async move {
        low_stock_notifier::run_as(&url, 5, &file, None, move |low| {
            seen.lock().unwrap().push((low.sku, low.available));
        })
        .await
    });
    let stored = || {
        std::fs::read_to_string(checkpoint)
            .ok()
            .and_then(|text| text.trim().parse::<u64>().ok())
    };
    let enough = async {
        while told.lock().unwrap().len() < count || stored().is_none_or(|at| at < through) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(30), enough)
        .await
        .expect("the notifier tells in time");
    notifier.abort();
    let _ = notifier.await;
    told.lock().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_low_stock_notifier_tells_each_low_reservation_once_across_restarts() {
    let server = TestServer::start().await;
    let inventory = Client::builder(server.url())
        .build()
        .expect("client")
        .inventory();
    for sku in ["anvil", "bellows"] {
        inventory
            .register_product(RegisterProductRequest {
                sku: sku.into(),
                name: sku.to_uppercase(),
                ..Default::default()
            })
            .await
            .expect("register");
        inventory
            .receive_stock(ReceiveStockRequest {
                sku: sku.into(),
                quantity: 10,
                ..Default::default()
            })
            .await
            .expect("receive");
    }
    let reserve = |sku: &'static str, quantity: u64, id: &'static str| {
        let inventory = inventory.clone();
        async move {
            inventory
                .reserve_stock(ReserveStockRequest {
                    sku: sku.into(),
                    quantity,
                    reservation_id: id.into(),
                    ..Default::default()
                })
                .await
                .expect("reserve")
                .position
        }
    };
    reserve("anvil", 3, "r1").await; // 7 left: fine
    reserve("bellows", 8, "r2").await; // 2 left: low
    let third = reserve("anvil", 4, "r3").await; // 3 left: low
    let dir = tempfile::tempdir().expect("temp dir");
    let checkpoint = dir.path().join("notifier.checkpoint");
    let first = notices(&server.url(), &checkpoint, 2, third).await;
    assert_eq!(first, [("bellows".to_owned(), 2), ("anvil".to_owned(), 3)]);

    // Stopped and started again: only what happened since.
    let fourth = reserve("anvil", 2, "r4").await; // 1 left: low
    let second = notices(&server.url(), &checkpoint, 1, fourth).await;
    assert_eq!(second, [("anvil".to_owned(), 1)]);
}
