//! Places an order and reads it straight back, through a read-your-writes session.
//!
//! ```sh
//! cargo run -p causeway-server &
//! cargo run -p causeway-client --example place_order -- http://127.0.0.1:50051
//! ```
//!
//! The endpoint is the first argument, else `$CAUSEWAY_ENDPOINT`, else `http://127.0.0.1:50051`.
//! `main` is a thin shell over [`run`], which the test suite calls against a test server.

use causeway_client::{
    Client,
    orders::{GetOrderRequest, Order, OrderLine, PlaceOrderRequest},
};

/// Places a one-line order for customer `ada` and returns it as the orders read model shows it.
pub async fn run(endpoint: &str) -> Result<Order, Box<dyn std::error::Error>> {
    let client = Client::builder(endpoint)
        .user_agent("causeway-example-place-order")
        .build()?;
    // The session remembers the position of the ack, so the query below waits, if it must,
    // until the read model holds the new order.
    let session = client.session();
    let placed = session
        .orders()
        .place_order(PlaceOrderRequest {
            customer_id: "ada".into(),
            currency: "EUR".into(),
            lines: vec![OrderLine {
                sku: "kettle".into(),
                quantity: 2,
                unit_price_minor: 2999,
            }],
            ..Default::default()
        })
        .await?;
    println!(
        "placed order {} at position {}",
        placed.order_id, placed.ack.position
    );
    let order = session
        .orders()
        .get_order(GetOrderRequest {
            order_id: placed.order_id,
            ..Default::default()
        })
        .await?;
    println!(
        "read back: {:?}, {} lines, total {} {}",
        order.status(),
        order.lines.len(),
        order.total_minor,
        order.currency
    );
    Ok(order)
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
    run(&endpoint()).await.map(|_| ())
}
