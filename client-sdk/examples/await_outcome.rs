//! Places two orders and waits for fulfilment's verdict on each without polling: the first is
//! confirmed (its stock reserved), the second rejected with the reason.
//!
//! ```sh
//! cargo run -p causeway-server -- --auth disabled &
//! cargo run -p causeway-client --example await_outcome -- http://127.0.0.1:50051
//! ```
//!
//! The endpoint is the first argument, else `$CAUSEWAY_ENDPOINT`, else `http://127.0.0.1:50051`.
//! `main` is a thin shell over [`run`], which the test suite calls against a test server.

use causeway_client::{
    Client,
    inventory::{ReceiveStockRequest, RegisterProductRequest},
    orders::{Order, OrderLine, PlaceOrderRequest},
};

/// Stocks `sku` with 2 units, orders 2 of them, then 3 more; returns both settled orders.
pub async fn run(endpoint: &str, sku: &str) -> Result<(Order, Order), Box<dyn std::error::Error>> {
    let client = Client::builder(endpoint)
        .user_agent("causeway-example-await-outcome")
        .build()?;
    let inventory = client.inventory();
    inventory
        .register_product(RegisterProductRequest {
            sku: sku.into(),
            name: "Kettle".into(),
            ..Default::default()
        })
        .await?;
    inventory
        .receive_stock(ReceiveStockRequest {
            sku: sku.into(),
            quantity: 2,
            ..Default::default()
        })
        .await?;
    let orders = client.orders();
    let order = |quantity| PlaceOrderRequest {
        customer_id: "ada".into(),
        currency: "EUR".into(),
        lines: vec![OrderLine {
            sku: sku.into(),
            quantity,
            unit_price_minor: 2999,
        }],
        ..Default::default()
    };
    let mut settled = Vec::new();
    for quantity in [2, 3] {
        let placed = orders.place_order(order(quantity)).await?;
        // One call: the server answers once fulfilment has confirmed or rejected the order.
        let outcome = orders.await_outcome(&placed).await?;
        println!(
            "order {} for {quantity} x {sku}: {:?} {}",
            outcome.order_id,
            outcome.status(),
            outcome.reason
        );
        settled.push(outcome);
    }
    let rejected = settled.pop().ok_or("two orders were placed")?;
    let confirmed = settled.pop().ok_or("two orders were placed")?;
    Ok((confirmed, rejected))
}

/// The endpoint from the command line or the environment.
pub fn endpoint() -> String {
    std::env::args()
        .nth(1)
        .or_else(|| std::env::var("CAUSEWAY_ENDPOINT").ok())
        .unwrap_or_else(|| "http://127.0.0.1:50051".to_owned())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    run(&endpoint(), "kettle").await.map(|_| ())
}
