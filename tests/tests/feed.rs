//! The event feed over gRPC on the embedded store: the shared scenarios
//! (`causeway_tests::scenarios::feed`, also run on KurrentDB), plus what only needs one backend.

use causeway_tests::{
    EventBackend,
    scenarios::{feed, history},
};

#[tokio::test(flavor = "multi_thread")]
async fn a_write_storm_arrives_once_and_in_order_across_the_switch() {
    feed::a_write_storm_arrives_once_and_in_order_across_the_switch(&EventBackend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_filtered_subscription_checkpoints_past_what_it_skips() {
    feed::a_filtered_subscription_checkpoints_past_what_it_skips(&EventBackend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn events_arrive_typed_upcast_and_with_their_metadata() {
    feed::events_arrive_typed_upcast_and_with_their_metadata(&EventBackend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn history_and_as_of_answers_equal_a_fold_of_the_stream() {
    history::history_and_as_of_answers_equal_a_fold_of_the_stream(&EventBackend::Embedded).await;
}
