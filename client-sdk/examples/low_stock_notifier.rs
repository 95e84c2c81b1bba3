//! A small service built on the event feed: it tells someone when a reservation leaves a
//! product with fewer than a threshold of units available.
//!
//! ```sh
//! cargo run -p causeway-client --example low_stock_notifier -- http://127.0.0.1:50051 5 notifier.checkpoint
//! ```
//!
//! It follows only `StockReserved` events, and for each asks for the product as it was right
//! after that reservation (`GetProduct` with `asOf` the event's revision, folded from the
//! product's stream), so the answer is exact however far behind the read model or the notifier
//! is. Its position is kept in a file: stopped and started again, it goes on after the last
//! reservation it handled (at least once: a reservation handled just before a crash may be
//! told again). The endpoint is the first argument, else `$CAUSEWAY_ENDPOINT`, else
//! `http://127.0.0.1:50051`; then the threshold (5) and the checkpoint file
//! (`low_stock_notifier.checkpoint`). A server that authenticates needs a token with a role
//! that reads products and the `product` category (`inventory.staff`, `orders.staff`,
//! `admin`) in `$CAUSEWAY_TOKEN`. `main` is a thin shell over [`run_as`], which the test
//! suite calls against a test server.

use std::path::Path;

use causeway_client::{
    Client,
    common::{AsOf, as_of::Point},
    events::{Consumer, FileCheckpoints, StoredEvent, SubscribeRequest},
    inventory::GetProductRequest,
};

/// One product found running low.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LowStock {
    /// The product.
    pub sku: String,
    /// Units available right after the reservation.
    pub available: u64,
    /// The reservation's position in the log.
    pub position: u64,
}

/// Follows reservations from the position in `checkpoint`, calling `notify` for each that
/// leaves fewer than `below` units available; runs until the feed fails for good.
pub async fn run_as(
    endpoint: &str,
    below: u64,
    checkpoint: &Path,
    token: Option<String>,
    notify: impl FnMut(LowStock) + Send,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let mut builder = Client::builder(endpoint).user_agent("causeway-example-low-stock-notifier");
    if let Some(token) = token {
        builder = builder.bearer_token(token);
    }
    let client = builder.build()?;
    let reservations = SubscribeRequest {
        category: vec!["product".into()],
        event_type: vec!["causeway.inventory.v1.StockReserved".into()],
        ..Default::default()
    };
    let inventory = &client.inventory();
    // The handler runs one event at a time; the lock only lets its future be sent to a task.
    let notify = &std::sync::Mutex::new(notify);
    Consumer::new(
        client.events(),
        reservations,
        FileCheckpoints::new(checkpoint),
    )
    .run(|event| async move {
        let Some(StoredEvent::StockReserved(reserved)) = event.message else {
            return Ok(());
        };
        let then = inventory
            .get_product(GetProductRequest {
                sku: reserved.sku.clone(),
                as_of: Some(AsOf {
                    point: Some(Point::Revision(event.revision)),
                }),
                ..Default::default()
            })
            .await?;
        if then.available < below {
            let mut notify = notify.lock().unwrap_or_else(|e| e.into_inner());
            notify(LowStock {
                sku: reserved.sku,
                available: then.available,
                position: event.position,
            });
        }
        Ok::<(), causeway_client::Error>(())
    })
    .await?;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
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
    let checkpoint = args
        .next()
        .unwrap_or_else(|| "low_stock_notifier.checkpoint".to_owned());
    let token = std::env::var("CAUSEWAY_TOKEN").ok();
    run_as(&endpoint, below, Path::new(&checkpoint), token, |low| {
        println!(
            "{} is running low: {} available after the reservation at position {}",
            low.sku, low.available, low.position
        );
    })
    .await
}
