//! The shared end-to-end scenarios with the read models in MongoDB: commands, projections,
//! queries, read-your-writes, pagination and poison events, over real gRPC. The read
//! side runs on both commit paths (replica set: transactions; standalone: the journal); the
//! command scenarios, which only touch read models through the projections, on the replica set.

use causeway_server::readstore::ReadStore;
use causeway_tests::{
    EventBackend,
    mongo::{MongoServer, Topology, unique_database, with_read_models},
    scenarios::{commands, fulfilment, history, read_side},
};

/// Runs `scenario` with its servers' read models in a fresh database on a fresh MongoDB; with
/// `orders_projected`, checks afterwards that the orders projection did write there.
async fn on_mongo<F: Future<Output = ()>>(
    topology: Topology,
    orders_projected: bool,
    scenario: impl FnOnce(EventBackend) -> F,
) {
    let mongo = MongoServer::start(topology).await;
    let database = unique_database();
    with_read_models(&mongo, &database, scenario(EventBackend::Embedded)).await;
    if orders_projected {
        let store = mongo.store_in(&database).await;
        let mut positions = Vec::new();
        for key in ["orders_g1", "orders_g2"] {
            positions.push(store.checkpoint(key).await.expect("checkpoint"));
        }
        assert!(
            positions.iter().any(Option::is_some),
            "the scenario's read models were not in MongoDB"
        );
    }
}

macro_rules! on_both {
    ($($scenario:ident),* $(,)?) => {
        mod replica_set {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread")]
                async fn $scenario() {
                    on_mongo(Topology::ReplicaSet, true, |backend| async move {
                        read_side::$scenario(&backend).await
                    })
                    .await;
                }
            )*
        }
        mod standalone {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread")]
                async fn $scenario() {
                    on_mongo(Topology::Standalone, true, |backend| async move {
                        read_side::$scenario(&backend).await
                    })
                    .await;
                }
            )*
        }
    };
}

on_both!(
    a_placed_order_reads_back_at_once_with_the_acks_position,
    listing_250_orders_page_by_page_returns_each_exactly_once,
    a_poison_event_marks_its_projection_not_serving_and_shows_its_position,
    a_rebuild_while_serving_gives_the_same_documents,
);

macro_rules! commands_on_replica_set {
    ($($scenario:ident),* $(,)?) => {
        mod commands_on_replica_set {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread")]
                async fn $scenario() {
                    on_mongo(Topology::ReplicaSet, false, |backend| async move {
                        commands::$scenario(&backend).await
                    })
                    .await;
                }
            )*
        }
    };
}

commands_on_replica_set!(
    a_day_of_business_over_grpc,
    bad_requests_name_the_offending_field,
    unknown_ids_are_not_found,
    broken_rules_are_failed_precondition,
    a_stale_expected_revision_is_aborted,
    a_repeated_command_id_appends_once_and_replays_the_ack,
);

macro_rules! fulfilment_on_replica_set {
    ($($scenario:ident),* $(,)?) => {
        mod fulfilment_on_replica_set {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread")]
                async fn $scenario() {
                    on_mongo(Topology::ReplicaSet, true, |backend| async move {
                        fulfilment::$scenario(&backend).await
                    })
                    .await;
                }
            )*
        }
    };
}

fulfilment_on_replica_set!(
    an_order_in_stock_is_confirmed_with_its_stock_reserved,
    an_order_beyond_stock_is_rejected_and_its_partial_reservation_released,
    an_order_for_an_unknown_product_is_rejected,
    an_order_cancelled_before_confirmation_keeps_nothing_reserved,
    an_order_cancelled_after_confirmation_releases_its_stock,
    a_shipped_order_takes_its_units_out_of_stock,
    an_order_not_settled_by_its_deadline_is_rejected,
);

/// History and `asOf` come from the event store, the latest state from the read model in
/// MongoDB: the scenario checks that the two agree.
#[tokio::test(flavor = "multi_thread")]
async fn history_and_as_of_answers_equal_a_fold_of_the_stream() {
    on_mongo(Topology::ReplicaSet, true, |backend| async move {
        history::history_and_as_of_answers_equal_a_fold_of_the_stream(&backend).await
    })
    .await;
}
