//! MongoDB going away under a running server, on both commit paths: the query services and the
//! projections report NOT_SERVING while it is down, commands keep working, and once MongoDB is
//! back (same port, same storage) everything recovers by itself and the projections catch up
//! with no event lost or doubled.

use std::time::Duration;

use causeway_client::{
    common::{CommandOptions, Consistency},
    orders::{
        ListOrdersRequest, OrderLine, OrderStatus, PlaceOrderRequest,
        order_commands_client::OrderCommandsClient, order_queries_client::OrderQueriesClient,
    },
};
use causeway_server::config::Config;
use causeway_tests::{
    TestServer, command_id,
    mongo::{MongoServer, Topology, unique_database},
};
use tonic::transport::Channel;
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

const WAIT: Duration = Duration::from_secs(40);

async fn place(commands: &mut OrderCommandsClient<Channel>, customer: &str) -> (String, u64) {
    let placed = commands
        .place_order(PlaceOrderRequest {
            options: Some(CommandOptions {
                command_id: command_id(),
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
        })
        .await
        .expect("commands need only the event store")
        .into_inner();
    (placed.order_id, placed.ack.expect("ack").position)
}

/// Waits until the health of `service` is `wanted`.
async fn health_becomes(health: &mut HealthClient<Channel>, service: &str, wanted: ServingStatus) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let status = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .expect("health answers")
            .into_inner()
            .status();
        if status == wanted {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{service} stayed {status:?}, expected {wanted:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn listed(queries: &mut OrderQueriesClient<Channel>, customer: &str, at: u64) -> Vec<String> {
    let mut ids = Vec::new();
    let mut token = String::new();
    loop {
        let mut request = tonic::Request::new(ListOrdersRequest {
            customer_id: customer.into(),
            status: OrderStatus::Unspecified as i32,
            page_size: 7,
            page_token: token,
            consistency: Some(Consistency { min_position: at }),
        });
        request.set_timeout(WAIT);
        let page = queries
            .list_orders(request)
            .await
            .expect("list")
            .into_inner();
        ids.extend(page.orders.into_iter().map(|o| o.order_id));
        if page.next_page_token.is_empty() {
            return ids;
        }
        token = page.next_page_token;
    }
}

async fn a_mongodb_outage_is_reported_and_ridden_out(topology: Topology) {
    let mut mongo = MongoServer::start_durable(topology).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let config = mongo.configure(
        causeway_tests::unchecked(Config::with_data_dir(dir.path())),
        &unique_database(),
    );
    let server = TestServer::start_with(config, dir).await;
    let channel = server.channel().await;
    let mut commands = OrderCommandsClient::new(channel.clone());
    let mut queries = OrderQueriesClient::new(channel.clone());
    let mut health = HealthClient::new(channel);
    let (queries_service, projection) = (
        "causeway.orders.v1.OrderQueries",
        "causeway.projection.orders",
    );

    let mut placed = Vec::new();
    let mut last = 0;
    for _ in 0..10 {
        let (id, position) = place(&mut commands, "ada").await;
        placed.push(id);
        last = position;
    }
    assert_eq!(listed(&mut queries, "ada", last).await, placed);
    health_becomes(&mut health, queries_service, ServingStatus::Serving).await;

    mongo.stop().await;
    health_becomes(&mut health, queries_service, ServingStatus::NotServing).await;
    health_becomes(&mut health, "", ServingStatus::NotServing).await;
    for _ in 0..10 {
        let (id, position) = place(&mut commands, "ada").await;
        placed.push(id);
        last = position;
    }
    health_becomes(&mut health, projection, ServingStatus::NotServing).await;
    let mut request = tonic::Request::new(ListOrdersRequest {
        customer_id: "ada".into(),
        consistency: Some(Consistency { min_position: last }),
        ..ListOrdersRequest::default()
    });
    request.set_timeout(Duration::from_secs(3));
    let refused = queries
        .list_orders(request)
        .await
        .expect_err("no read models now");
    assert!(
        matches!(
            refused.code(),
            tonic::Code::Unavailable | tonic::Code::DeadlineExceeded
        ),
        "{refused:?}"
    );

    mongo.restart().await;
    health_becomes(&mut health, queries_service, ServingStatus::Serving).await;
    health_becomes(&mut health, projection, ServingStatus::Serving).await;
    health_becomes(&mut health, "", ServingStatus::Serving).await;
    assert_eq!(
        listed(&mut queries, "ada", last).await,
        placed,
        "caught up: every order once, in placement order"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn replica_set_a_mongodb_outage_is_reported_and_ridden_out() {
    a_mongodb_outage_is_reported_and_ridden_out(Topology::ReplicaSet).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn standalone_a_mongodb_outage_is_reported_and_ridden_out() {
    a_mongodb_outage_is_reported_and_ridden_out(Topology::Standalone).await;
}
