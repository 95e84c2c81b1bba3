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

/// Fulfilment's own context: its state as of each revision and commit time of its stream shows
/// exactly the steps taken by then.
#[tokio::test(flavor = "multi_thread")]
async fn a_fulfilment_as_of_a_point_shows_the_steps_taken_by_then() {
    use causeway_client::{
        common::{AsOf, as_of::Point},
        events::{ReadStreamRequest, event_feed_client::EventFeedClient},
        fulfilment::{FulfilmentStatus, GetFulfilmentRequest},
    };
    use causeway_tests::scenarios::{
        fulfilment::fixtures::{Clients, NO_HURRY, fulfilling_server, line},
        unique,
    };

    let server = fulfilling_server(&EventBackend::Embedded, NO_HURRY).await;
    let mut c = Clients::of(&server).await;
    let sku = unique("kettle");
    c.stock(&sku, 5).await;
    let order_id = c.place("ada", vec![line(&sku, 2)]).await;
    c.outcome(&order_id).await;
    let now = c
        .fulfilment_in(&order_id, FulfilmentStatus::Confirmed)
        .await;
    let events = EventFeedClient::new(server.channel().await)
        .read_stream(ReadStreamRequest {
            stream: format!("fulfilment-{order_id}"),
            ..ReadStreamRequest::default()
        })
        .await
        .expect("the fulfilment's stream")
        .into_inner()
        .events;
    assert_eq!(events.len(), now.steps.len());
    let as_of = |point| GetFulfilmentRequest {
        order_id: order_id.clone(),
        as_of: Some(AsOf { point: Some(point) }),
    };
    for (i, event) in events.iter().enumerate() {
        let time = event.recorded_at.expect("commit time");
        for point in [Point::Revision(event.revision), Point::Time(time)] {
            let then = c
                .fulfilments
                .get_fulfilment(as_of(point))
                .await
                .expect("as of")
                .into_inner()
                .fulfilment
                .expect("fulfilment");
            assert_eq!(then.steps, now.steps[..=i], "{point:?}");
        }
    }
    let first = events[0].recorded_at.expect("commit time");
    let before = prost_types::Timestamp {
        seconds: first.seconds - 1,
        nanos: first.nanos,
    };
    let missing = c
        .fulfilments
        .get_fulfilment(as_of(Point::Time(before)))
        .await
        .unwrap_err();
    assert_eq!(missing.code(), tonic::Code::NotFound);
}

/// A graceful shutdown does not wait for live subscriptions, nor cut them off: each ends with
/// `UNAVAILABLE` saying to subscribe again after the last position handled.
#[tokio::test(flavor = "multi_thread")]
async fn a_shutdown_ends_a_live_subscription_with_unavailable() {
    use causeway_client::events::SubscribeRequest;
    use causeway_tests::{TestServer, scenarios::unique};

    let server = TestServer::start().await;
    let channel = server.channel().await;
    let position = feed::register(&channel, &unique("kettle")).await;
    let mut subscription = feed::subscribe(
        &channel,
        SubscribeRequest {
            category: vec!["product".into()],
            ..SubscribeRequest::default()
        },
    )
    .await;
    // Caught up: the subscription is live, waiting for new events.
    feed::read_through(&mut subscription, position).await;

    let stopping = tokio::spawn(server.stop());
    let ended = tokio::time::timeout(feed::WAIT, async {
        loop {
            match subscription.message().await {
                Ok(Some(_)) => continue,
                other => return other,
            }
        }
    })
    .await
    .expect("the subscription ends when the server shuts down");
    let status = ended.expect_err("it ends with a status, not as if the feed were complete");
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
    assert!(
        status.message().contains("shutting down"),
        "{}",
        status.message()
    );
    tokio::time::timeout(feed::WAIT, stopping)
        .await
        .expect("the server stops")
        .expect("the stop task");
}
