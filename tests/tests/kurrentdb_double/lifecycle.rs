//! Connecting, stopping and restarting, and a client that connected too early.

use super::*;

#[tokio::test(flavor = "multi_thread")]
async fn connecting_reads_the_servers_version_from_its_features() {
    let (_double, url) = KurrentDbDouble::start().await;
    let info = within("server info", client(&url).server_info())
        .await
        .expect("server info");
    assert_eq!(info.version().to_string(), SERVER_VERSION);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restart_keeps_the_data_and_port_and_a_connected_client_carries_on() {
    let (mut double, url) = KurrentDbDouble::start().await;
    let client = client(&url);
    append(&client, "order-9", StreamState::NoStream, vec![event("a")])
        .await
        .expect("append");
    let port = double.addr().port();
    double.stop().await;
    double.restart().await;
    assert_eq!(double.addr().port(), port);
    // The client's pooled connection died with the server; at most one call notices that.
    let mut outcome = append(
        &client,
        "order-9",
        StreamState::StreamRevision(0),
        vec![event("b")],
    )
    .await;
    if let Err(kurrentdb::Error::ServerError(_)) = outcome {
        outcome = append(
            &client,
            "order-9",
            StreamState::StreamRevision(0),
            vec![event("b")],
        )
        .await;
    }
    assert_eq!(
        outcome.expect("append after restart").next_expected_version,
        1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_whose_first_connect_failed_stays_dead() {
    let (mut double, url) = KurrentDbDouble::start().await;
    double.stop().await;
    let early = client(&url);
    let refused = append(&early, "order-1", StreamState::Any, vec![event("a")]).await;
    assert!(refused.is_err());
    double.restart().await;
    let still_dead = append(&early, "order-1", StreamState::Any, vec![event("a")]).await;
    assert!(
        matches!(still_dead, Err(kurrentdb::Error::ConnectionClosed)),
        "{still_dead:?}"
    );
    let fresh = append(&client(&url), "order-1", StreamState::Any, vec![event("a")]).await;
    assert!(fresh.is_ok(), "{fresh:?}");
}
