//! Signs in as a Causeway user with the `customer` role, places an order as that customer and
//! lists the customer's own orders. The client keeps the access token from the login and signs
//! in again before it expires, so a long-running service needs nothing more than this.
//!
//! ```sh
//! CAUSEWAY_EMAIL=ada@example.com CAUSEWAY_PASSWORD='correct horse' \
//!   cargo run -p causeway-client --example sign_in -- http://127.0.0.1:50051
//! ```
//!
//! The endpoint is the first argument, else `$CAUSEWAY_ENDPOINT`, else `http://127.0.0.1:50051`.
//! The user must exist and hold `customer` (see the README's Security section). `main` is a thin
//! shell over [`run`], which the test suite calls against a test server.

use causeway_client::{
    Client,
    orders::{ListOrdersRequest, Order, OrderLine, PlaceOrderRequest},
};
use futures::TryStreamExt;

/// Signs in as `email`, places a one-line order and returns every order of that customer.
pub async fn run(
    endpoint: &str,
    email: &str,
    password: &str,
) -> Result<Vec<Order>, Box<dyn std::error::Error>> {
    let client = Client::builder(endpoint)
        .login(email, password)
        .user_agent("causeway-example-sign-in")
        .build()?;
    let session = client.session();
    // No customer id: a customer orders for itself, and the server fills its id in.
    let placed = session
        .orders()
        .place_order(PlaceOrderRequest {
            currency: "EUR".into(),
            lines: vec![OrderLine {
                sku: "kettle".into(),
                quantity: 1,
                unit_price_minor: 2999,
            }],
            ..Default::default()
        })
        .await?;
    println!("placed order {}", placed.order_id);
    // A customer's listing holds its own orders only.
    let mine: Vec<Order> = session
        .orders()
        .list_orders(ListOrdersRequest::default())
        .try_collect()
        .await?;
    for order in &mine {
        println!(
            "{} {:?} {} {}",
            order.order_id,
            order.status(),
            order.total_minor,
            order.currency
        );
    }
    Ok(mine)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let endpoint = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("CAUSEWAY_ENDPOINT").ok())
        .unwrap_or_else(|| "http://127.0.0.1:50051".to_owned());
    let email = std::env::var("CAUSEWAY_EMAIL").map_err(|_| "set CAUSEWAY_EMAIL")?;
    let password = std::env::var("CAUSEWAY_PASSWORD").map_err(|_| "set CAUSEWAY_PASSWORD")?;
    run(&endpoint, &email, &password).await.map(|_| ())
}
