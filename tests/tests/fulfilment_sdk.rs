//! The SDK's way to learn an order's outcome: `Orders::await_outcome`, and the example that
//! shows it (`client-sdk/examples/await_outcome.rs`, compiled in here as `sdk_examples.rs`
//! does with the others), against a server that fulfils orders.

#[path = "../../client-sdk/examples/await_outcome.rs"]
#[allow(dead_code)]
mod await_outcome;

use causeway_client::orders::OrderStatus;
use causeway_tests::{
    EventBackend,
    scenarios::{
        fulfilment::fixtures::{NO_HURRY, fulfilling_server},
        unique,
    },
};

#[tokio::test(flavor = "multi_thread")]
async fn the_example_learns_a_confirmation_and_a_rejection_with_its_reason() {
    let server = fulfilling_server(&EventBackend::Embedded, NO_HURRY).await;
    let sku = unique("kettle");
    let (confirmed, rejected) = await_outcome::run(&server.url(), &sku)
        .await
        .expect("the example runs");
    assert_eq!(confirmed.status(), OrderStatus::Confirmed);
    assert_eq!(rejected.status(), OrderStatus::Rejected);
    assert_eq!(
        rejected.reason,
        format!("not enough {sku}: 3 requested, 0 available")
    );
}
