//! Lists every product with fewer than a threshold of units available, across all pages.
//!
//! ```sh
//! cargo run -p causeway-client --example low_stock -- http://127.0.0.1:50051 5
//! ```
//!
//! The endpoint is the first argument, else `$CAUSEWAY_ENDPOINT`, else `http://127.0.0.1:50051`;
//! the threshold is the second argument, else 5. A server that authenticates (the default) needs
//! a token with a role that reads products (`customer`, `orders.staff`, `inventory.staff`,
//! `admin`) in `$CAUSEWAY_TOKEN`. `main` is a thin shell over [`run_as`], which the test suite
//! calls against a test server.

use causeway_client::{
    Client,
    inventory::{ListProductsRequest, Product},
};
use futures::TryStreamExt;

/// [`run_as`] without a token, for a server with authentication off.
pub async fn run(endpoint: &str, below: u64) -> Result<Vec<Product>, Box<dyn std::error::Error>> {
    run_as(endpoint, below, None).await
}

/// Every product with fewer than `below` units available, in sku order, asked with `token`
/// when given.
pub async fn run_as(
    endpoint: &str,
    below: u64,
    token: Option<String>,
) -> Result<Vec<Product>, Box<dyn std::error::Error>> {
    let mut builder = Client::builder(endpoint).user_agent("causeway-example-low-stock");
    if let Some(token) = token {
        builder = builder.bearer_token(token);
    }
    let client = builder.build()?;
    let mut products = client.inventory().list_products(ListProductsRequest {
        available_below: Some(below),
        // Small pages keep each answer quick; the stream fetches the next one when needed.
        page_size: 50,
        ..Default::default()
    });
    let mut low = Vec::new();
    while let Some(product) = products.try_next().await? {
        println!(
            "{:<20} {:<30} available {:>6} (on hand {}, reserved {})",
            product.sku, product.name, product.available, product.on_hand, product.reserved
        );
        low.push(product);
    }
    println!("{} products below {below} available", low.len());
    Ok(low)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let endpoint = args
        .next()
        .or_else(|| std::env::var("CAUSEWAY_ENDPOINT").ok())
        .unwrap_or_else(|| "http://127.0.0.1:50051".to_owned());
    let below = match args.next() {
        Some(below) => below
            .parse()
            .map_err(|e| format!("threshold {below:?} is not a whole number: {e}"))?,
        None => 5,
    };
    let token = std::env::var("CAUSEWAY_TOKEN").ok();
    run_as(&endpoint, below, token).await.map(|_| ())
}
