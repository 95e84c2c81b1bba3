//! The `EventStore` conformance suite, unchanged, against the KurrentDB adapter: over the
//! protocol double (a fresh one per case, always), and over a real KurrentDB when
//! `CAUSEWAY_TEST_KURRENTDB_URL` is set (skipped with a printed reason otherwise).

use std::sync::Arc;

use causeway_server::store::{EventStore, conformance, kurrentdb::KurrentDbEventStore};
use causeway_tests::kurrentdb::{KurrentDbDouble, real_server};

/// A KurrentDB adapter on a fresh double; the double is the guard, stopped after the case.
async fn on_a_double() -> (Arc<dyn EventStore>, KurrentDbDouble) {
    let (double, url) = KurrentDbDouble::start().await;
    let store = KurrentDbEventStore::connect(&url).expect("the double's connection string");
    (Arc::new(store), double)
}

mod over_the_double {
    causeway_server::event_store_conformance!(super::on_a_double);
}

/// Every case in turn against one real server. The cases write only to streams and categories
/// of their own, so the server's earlier contents do not matter.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conformance_on_a_real_kurrentdb() {
    let Some(url) = real_server("the EventStore conformance suite") else {
        return;
    };
    let store: Arc<dyn EventStore> =
        Arc::new(KurrentDbEventStore::connect(&url).expect("a valid connection string"));
    conformance::appends_and_reads_back(store.clone()).await;
    conformance::reads_stream_from_revision(store.clone()).await;
    conformance::missing_stream_reads_empty(store.clone()).await;
    conformance::rejects_invalid_appends(store.clone()).await;
    conformance::expected_any(store.clone()).await;
    conformance::expected_no_stream(store.clone()).await;
    conformance::expected_stream_exists(store.clone()).await;
    conformance::expected_exact(store.clone()).await;
    conformance::refused_append_writes_nothing(store.clone()).await;
    conformance::concurrent_optimistic_appends(store.clone()).await;
    conformance::concurrent_appends_to_many_streams(store.clone()).await;
    conformance::read_all_orders_and_pages(store.clone()).await;
    conformance::head_position_tracks_appends(store.clone()).await;
    conformance::subscription_catches_up_then_goes_live(store.clone()).await;
    conformance::subscription_from_position_is_exclusive(store.clone()).await;
    conformance::subscription_filters_by_category(store.clone()).await;
    conformance::subscription_catches_up_across_many_events(store.clone()).await;
    conformance::subscription_checkpoints_past_filtered_events(store).await;
}
