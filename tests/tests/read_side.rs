//! The read side end to end over gRPC on the embedded stores: read-your-writes, listing and
//! pagination, rebuilds while serving, and a poison event that is reported instead of crashing
//! anything. The scenarios live in `causeway_tests::scenarios::read_side`, shared with the
//! KurrentDB runs.

use causeway_tests::{EventBackend, scenarios::read_side};

#[tokio::test(flavor = "multi_thread")]
async fn a_placed_order_reads_back_at_once_with_the_acks_position() {
    read_side::a_placed_order_reads_back_at_once_with_the_acks_position(&EventBackend::Embedded)
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn listing_250_orders_page_by_page_returns_each_exactly_once() {
    read_side::listing_250_orders_page_by_page_returns_each_exactly_once(&EventBackend::Embedded)
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rebuild_while_serving_gives_the_same_documents() {
    read_side::a_rebuild_while_serving_gives_the_same_documents(&EventBackend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_poison_event_marks_its_projection_not_serving_and_shows_its_position() {
    read_side::a_poison_event_marks_its_projection_not_serving_and_shows_its_position(
        &EventBackend::Embedded,
    )
    .await;
}
