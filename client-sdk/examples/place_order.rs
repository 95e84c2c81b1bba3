//! Places an order and reads it straight back, through a read-your-writes session.
//!
//! ```sh
//! cargo run -p causeway-server &
//! cargo run -p causeway-client --example place_order -- http://127.0.0.1:50051
//! ```
//!
//! The endpoint is the first argument, else `$CAUSEWAY_ENDPOINT`, else `http://127.0.0.1:50051`.
//! A server that authenticates (the default) needs a token with the `orders.staff` or `admin`
//! role in `$CAUSEWAY_TOKEN`, e.g. from `causeway-server token --subject ops --role admin`.
//! `main` is a thin shell over [`run_as`], which the test suite calls against a test server.

use causeway_client::{
    Client,
    orders::{GetOrderRequest, Order, OrderLine, PlaceOrderRequest},
};

/// [`run_as`] without a token, for a server with authentication off.
pub async fn run(endpoint: &str) -> Result<Order, Box<dyn std::error::Error>> {
    run_as(endpoint, None).await
}

/// Places a one-line order for customer `ada`, with `token` when given, and returns it as the
/// orders read model shows it.
pub async fn run_as(
    endpoint: &str,
    token: Option<String>,
) -> Result<Order, Box<dyn std::error::Error>> {
    let mut builder = Client::builder(endpoint).user_agent("causeway-example-place-order");
    if let Some(token) = token {
        builder = builder.bearer_token(token);
    }
    let client = builder.build()?;
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
    let token = std::env::var("CAUSEWAY_TOKEN").ok();
    run_as(&endpoint(), token).await.map(|_| ())
}
