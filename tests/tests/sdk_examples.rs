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

use std::time::Duration;

use causeway_client::{
    Client,
    inventory::{ReceiveStockRequest, RegisterProductRequest},
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
