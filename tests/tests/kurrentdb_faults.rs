//! The KurrentDB adapter under faults, over the protocol double: the server stopped and started
//! again (same port, same data) under a live subscription and under a running Causeway server,
//! and the server down while Causeway starts.

use std::{collections::HashSet, sync::Arc, time::Duration};

use causeway_client::{
    admin::{ListProjectionsRequest, projection_admin_client::ProjectionAdminClient},
    common::{CommandOptions, Consistency},
    identity::{GetUserRequest, identity_queries_client::IdentityQueriesClient},
    inventory::{GetProductRequest, inventory_queries_client::InventoryQueriesClient},
    orders::{
        ListOrdersRequest, OrderLine, OrderStatus, PlaceOrderRequest, PlaceOrderResponse,
        order_commands_client::OrderCommandsClient, order_queries_client::OrderQueriesClient,
    },
};
use causeway_server::store::{
    EventFeed, EventStore, ExpectedRevision, FeedItem, NewEvent, RecordedEvent, SubscriptionFilter,
    kurrentdb::KurrentDbEventStore,
};
use causeway_tests::{
    EventBackend, TestServer, command_id, kurrentdb::KurrentDbDouble, scenarios::unique,
};
use futures::StreamExt;
use tonic::{Code, transport::Channel};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};
use uuid::Uuid;

const WAIT: Duration = Duration::from_secs(30);

fn new_event(tag: &str) -> NewEvent {
    NewEvent {
        id: Uuid::new_v4(),
        event_type: "causeway.faults.v1.Tagged".into(),
        data: format!(r#"{{"tag":"{tag}"}}"#).into_bytes(),
        metadata: b"{}".to_vec(),
    }
}

/// Appends one event per tag to `category-<i % 3>`, with a filtered-out neighbour before each.
async fn append(
    store: &Arc<dyn EventStore>,
    category: &str,
    tags: std::ops::Range<u32>,
) -> Vec<Uuid> {
    let mut ids = Vec::new();
    for i in tags {
        let noise = new_event("noise");
        store
            .append("noise-1", ExpectedRevision::Any, vec![noise])
            .await
            .expect("append noise");
        let event = new_event(&i.to_string());
        ids.push(event.id);
        store
            .append(
                &format!("{category}-{}", i % 3),
                ExpectedRevision::Any,
                vec![event],
            )
            .await
            .expect("append");
    }
    ids
}

async fn next_event(feed: &mut EventFeed) -> RecordedEvent {
    loop {
        let item = tokio::time::timeout(WAIT, feed.next())
            .await
            .unwrap_or_else(|_| panic!("no subscription item within {WAIT:?}"));
        match item {
            Some(Ok(FeedItem::Event(event))) => return event,
            Some(Ok(FeedItem::Checkpoint(_))) => continue,
            Some(Err(error)) => panic!("the subscription failed: {error:?}"),
            None => panic!("the subscription ended"),
        }
    }
}

async fn receive(feed: &mut EventFeed, count: usize) -> Vec<Uuid> {
    let mut ids = Vec::with_capacity(count);
    while ids.len() < count {
        ids.push(next_event(feed).await.id);
    }
    ids
}

#[tokio::test(flavor = "multi_thread")]
async fn a_subscription_resumes_after_restarts_with_no_gap_and_no_duplicate() {
    let (mut double, url) = KurrentDbDouble::start().await;
    let store: Arc<dyn EventStore> = Arc::new(KurrentDbEventStore::connect(&url).expect("url"));
    let category = unique("fault").replace('-', "");
    let backlog = append(&store, &category, 0..600).await;
    let mut feed = store.subscribe_all(None, SubscriptionFilter::categories([category.clone()]));

    // Stopped in the middle of the catch-up. The client may already hold the rest of the backlog
    // in its buffers, so events written after the restart are what proves it subscribed again.
    let mut received = receive(&mut feed, 100).await;
    let accepted = double.subscriptions_accepted();
    double.stop().await;
    double.restart().await;
    let mut expected = backlog.clone();
    expected.extend(append(&store, &category, 1000..1010).await);
    received.extend(receive(&mut feed, expected.len() - received.len()).await);
    assert_eq!(received, expected, "the catch-up resumed where it stopped");
    assert!(
        double.subscriptions_accepted() > accepted,
        "it subscribed again"
    );

    // Stopped while live; events written after the restart, before it subscribes again, count.
    let accepted = double.subscriptions_accepted();
    double.stop().await;
    double.restart().await;
    let after = append(&store, &category, 600..620).await;
    assert_eq!(receive(&mut feed, after.len()).await, after);
    assert!(
        double.subscriptions_accepted() > accepted,
        "it subscribed again"
    );

    // Nothing extra was delivered: the next event is the one appended next.
    let marker = append(&store, &category, 620..621).await;
    assert_eq!(next_event(&mut feed).await.id, marker[0], "no duplicate");
}

fn place(customer: &str, command_id: &str) -> PlaceOrderRequest {
    PlaceOrderRequest {
        options: Some(CommandOptions {
            command_id: command_id.to_owned(),
            ..CommandOptions::default()
        }),
        order_id: String::new(),
        customer_id: customer.into(),
        currency: "EUR".into(),
        lines: vec![OrderLine {
            sku: "sku-1".into(),
            quantity: 1,
            unit_price_minor: 100,
        }],
    }
}

/// Places an order, retrying with the same command id while the store is unavailable (as the
/// SDK would), within [`WAIT`].
async fn place_until_stored(
    commands: &mut OrderCommandsClient<Channel>,
    customer: &str,
) -> PlaceOrderResponse {
    let id = command_id();
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match commands.place_order(place(customer, &id)).await {
            Ok(response) => return response.into_inner(),
            Err(status) if status.code() == Code::Unavailable => {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "never stored: {status:?}"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(status) => panic!("place order: {status:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn projections_resume_after_a_restart_and_reach_the_head() {
    let (mut double, url) = KurrentDbDouble::start().await;
    let server = TestServer::start_on(&EventBackend::KurrentDb(url)).await;
    let channel = server.channel().await;
    let mut commands = OrderCommandsClient::new(channel.clone());
    let mut queries = OrderQueriesClient::new(channel.clone());
    let mut admin = ProjectionAdminClient::new(channel.clone());
    let customer = unique("kim");
    let mut placed = HashSet::new();
    for _ in 0..10 {
        placed.insert(place_until_stored(&mut commands, &customer).await.order_id);
    }
    double.stop().await;
    double.restart().await;
    let mut last = 0;
    for _ in 0..10 {
        let response = place_until_stored(&mut commands, &customer).await;
        last = response.ack.expect("ack").position;
        placed.insert(response.order_id);
    }
    let listed = queries
        .list_orders(ListOrdersRequest {
            customer_id: customer.clone(),
            status: OrderStatus::Unspecified as i32,
            page_size: 100,
            page_token: String::new(),
            consistency: Some(Consistency { min_position: last }),
        })
        .await
        .expect("list after the restart")
        .into_inner()
        .orders;
    let ids: Vec<String> = listed.into_iter().map(|o| o.order_id).collect();
    assert_eq!(ids.len(), 20, "each order once");
    assert_eq!(ids.into_iter().collect::<HashSet<_>>(), placed);

    // Every read model gets to the head once a reader waits for it, the ones that never see an
    // order event included: KurrentDB checkpoints their subscriptions only every 32 events, so
    // they learn from the store, when asked, that nothing of theirs lies before it.
    let at = || Some(Consistency { min_position: last });
    let mut products = InventoryQueriesClient::new(channel.clone());
    let missing = products
        .get_product(GetProductRequest {
            sku: unique("none"),
            consistency: at(),
            ..Default::default()
        })
        .await
        .expect_err("no such product");
    assert_eq!(missing.code(), Code::NotFound, "{missing:?}");
    let mut users = IdentityQueriesClient::new(channel.clone());
    let missing = users
        .get_user(GetUserRequest {
            user_id: Uuid::now_v7().to_string(),
            consistency: at(),
            ..Default::default()
        })
        .await
        .expect_err("no such user");
    assert_eq!(missing.code(), Code::NotFound, "{missing:?}");
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let projections = admin
            .list_projections(ListProjectionsRequest {})
            .await
            .expect("list projections")
            .into_inner()
            .projections;
        if projections.iter().all(|p| p.position >= last && p.healthy) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "read models short of {last}: {projections:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn health_is_not_serving_while_kurrentdb_is_down_at_start_and_serving_once_it_is_up() {
    let (mut double, url) = KurrentDbDouble::start().await;
    double.stop().await;
    let server = TestServer::start_on(&EventBackend::KurrentDb(url)).await;
    let channel = server.channel().await;
    let mut health = HealthClient::new(channel.clone());
    let mut commands = OrderCommandsClient::new(channel);
    let service = "causeway.orders.v1.OrderCommands";
    let check = HealthCheckRequest {
        service: service.into(),
    };
    let status = health
        .check(check.clone())
        .await
        .expect("health")
        .into_inner();
    assert_eq!(status.status(), ServingStatus::NotServing);
    let refused = commands
        .place_order(place(&unique("lee"), &command_id()))
        .await
        .expect_err("no store, no order");
    assert_eq!(refused.code(), Code::Unavailable, "{refused:?}");

    double.restart().await;
    let mut updates = health.watch(check).await.expect("watch").into_inner();
    let serving = tokio::time::timeout(WAIT, async {
        while let Some(update) = updates.message().await.expect("health update") {
            if update.status() == ServingStatus::Serving {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(serving, Ok(true), "{service} never became SERVING");
    place_until_stored(&mut commands, &unique("lee")).await;
}
