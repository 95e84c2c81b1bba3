//! The command services end to end on the embedded event store: a real server on a free
//! loopback port, driven through the generated clients over real gRPC. The scenarios live in
//! `causeway_tests::scenarios::commands`, shared with the KurrentDB runs.

use causeway_tests::{EventBackend, scenarios::commands};

#[tokio::test(flavor = "multi_thread")]
async fn a_day_of_business_over_grpc() {
    commands::a_day_of_business_over_grpc(&EventBackend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_requests_name_the_offending_field() {
    commands::bad_requests_name_the_offending_field(&EventBackend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_ids_are_not_found() {
    commands::unknown_ids_are_not_found(&EventBackend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn broken_rules_are_failed_precondition() {
    commands::broken_rules_are_failed_precondition(&EventBackend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stale_expected_revision_is_aborted() {
    commands::a_stale_expected_revision_is_aborted(&EventBackend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_repeated_command_id_appends_once_and_replays_the_ack() {
    commands::a_repeated_command_id_appends_once_and_replays_the_ack(&EventBackend::Embedded).await;
}
