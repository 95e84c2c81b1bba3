//! The read side end to end over gRPC: read-your-writes, listing and pagination, rebuilds while
//! serving, and a poison event that is reported instead of crashing anything.

use std::{collections::HashSet, time::Duration};

use causeway_client::{
    admin::{
        ListProjectionsRequest, RebuildProjectionRequest,
        projection_admin_client::ProjectionAdminClient,
    },
    common::{CommandOptions, Consistency},
    orders::{
        GetOrderRequest, ListOrdersRequest, Order, OrderLine, OrderStatus, PlaceOrderRequest,
        order_commands_client::OrderCommandsClient, order_queries_client::OrderQueriesClient,
    },
};
use causeway_server::store::{ExpectedRevision, NewEvent};
use tonic::{Code, transport::Channel};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

use super::unique;
use crate::{EventBackend, TestServer, command_id};

const WAIT: Duration = Duration::from_secs(20);

fn place(customer: &str) -> PlaceOrderRequest {
    PlaceOrderRequest {
        options: Some(CommandOptions {
            command_id: command_id(),
            ..CommandOptions::default()
        }),
        order_id: String::new(),
        customer_id: customer.into(),
        currency: "EUR".into(),
        lines: vec![OrderLine {
            sku: "sku-1".into(),
            quantity: 3,
            unit_price_minor: 700,
        }],
    }
}

fn at(position: u64) -> Option<Consistency> {
    Some(Consistency {
        min_position: position,
    })
}

async fn list_all(
    queries: &mut OrderQueriesClient<Channel>,
    customer: &str,
    min_position: u64,
) -> Vec<Order> {
    let mut orders = Vec::new();
    let mut token = String::new();
    loop {
        let page = queries
            .list_orders(ListOrdersRequest {
                customer_id: customer.into(),
                status: OrderStatus::Unspecified as i32,
                page_size: 40,
                page_token: token,
                consistency: at(min_position),
            })
            .await
            .expect("list orders")
            .into_inner();
        orders.extend(page.orders);
        if page.next_page_token.is_empty() {
            return orders;
        }
        token = page.next_page_token;
    }
}

/// A query passing a command ack's position reads that command's effect, every time.
pub async fn a_placed_order_reads_back_at_once_with_the_acks_position(backend: &EventBackend) {
    let server = TestServer::start_on(backend).await;
    let channel = server.channel().await;
    let mut commands = OrderCommandsClient::new(channel.clone());
    let mut queries = OrderQueriesClient::new(channel);
    let ada = unique("ada");
    for _ in 0..20 {
        let placed = commands
            .place_order(place(&ada))
            .await
            .unwrap()
            .into_inner();
        let ack = placed.ack.unwrap();
        let order = queries
            .get_order(GetOrderRequest {
                order_id: placed.order_id.clone(),
                consistency: at(ack.position),
                ..Default::default()
            })
            .await
            .expect("read your write, first try")
            .into_inner()
            .order
            .expect("order");
        assert_eq!(order.order_id, placed.order_id);
        assert_eq!(order.status(), OrderStatus::Placed);
        assert_eq!(order.total_minor, 2100);
        assert_eq!(order.revision, ack.revision);
    }
}

/// Paging through 200 of 250 orders returns each exactly once; a garbage page token is
/// INVALID_ARGUMENT.
pub async fn listing_250_orders_page_by_page_returns_each_exactly_once(backend: &EventBackend) {
    let server = TestServer::start_on(backend).await;
    let channel = server.channel().await;
    let mut commands = OrderCommandsClient::new(channel.clone());
    let mut queries = OrderQueriesClient::new(channel);
    let (grace, other) = (unique("grace"), unique("other"));
    let mut placed = HashSet::new();
    let mut last = 0;
    for i in 0..250 {
        let customer = if i % 5 == 0 { &other } else { &grace };
        let response = commands
            .place_order(place(customer))
            .await
            .unwrap()
            .into_inner();
        last = response.ack.unwrap().position;
        if customer == &grace {
            placed.insert(response.order_id);
        }
    }
    let listed = list_all(&mut queries, &grace, last).await;
    let ids: Vec<String> = listed.iter().map(|o| o.order_id.clone()).collect();
    assert_eq!(ids.len(), 200, "each order once");
    assert_eq!(ids.iter().cloned().collect::<HashSet<_>>(), placed);

    let status = queries
        .list_orders(ListOrdersRequest {
            page_token: "garbage".into(),
            ..ListOrdersRequest::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
}

/// A rebuild fills a new generation while the old one keeps answering, then switches over with
/// the same documents.
pub async fn a_rebuild_while_serving_gives_the_same_documents(backend: &EventBackend) {
    let server = TestServer::start_on(backend).await;
    let channel = server.channel().await;
    let mut commands = OrderCommandsClient::new(channel.clone());
    let mut queries = OrderQueriesClient::new(channel.clone());
    let mut admin = ProjectionAdminClient::new(channel);
    let lin = unique("lin");
    let mut last = 0;
    for _ in 0..60 {
        last = commands
            .place_order(place(&lin))
            .await
            .unwrap()
            .into_inner()
            .ack
            .unwrap()
            .position;
    }
    let before = list_all(&mut queries, &lin, last).await;

    let generation = admin
        .rebuild_projection(RebuildProjectionRequest {
            name: "orders".into(),
        })
        .await
        .expect("rebuild starts")
        .into_inner()
        .generation;
    assert_eq!(generation, 2);
    // Queries keep being answered while the rebuild runs.
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        assert_eq!(list_all(&mut queries, &lin, last).await, before);
        let projections = admin
            .list_projections(ListProjectionsRequest {})
            .await
            .unwrap()
            .into_inner()
            .projections;
        let orders = projections
            .iter()
            .find(|p| p.name == "orders")
            .expect("orders");
        if orders.generation == 2 && orders.rebuilding_generation.is_none() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "rebuild never finished: {orders:?}"
        );
        tokio::task::yield_now().await;
    }
    assert_eq!(list_all(&mut queries, &lin, last).await, before);

    let status = admin
        .rebuild_projection(RebuildProjectionRequest {
            name: "nope".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
}

/// An undecodable event stops only its projection, which reports it (health, admin) while the
/// rest keeps working. Writes the poison event for good: never run it against a shared store.
pub async fn a_poison_event_marks_its_projection_not_serving_and_shows_its_position(
    backend: &EventBackend,
) {
    let server = TestServer::start_on(backend).await;
    let channel = server.channel().await;
    let mut commands = OrderCommandsClient::new(channel.clone());
    let mut health = HealthClient::new(channel.clone());
    let mut admin = ProjectionAdminClient::new(channel.clone());
    let eve = unique("eve");
    let placed = commands
        .place_order(place(&eve))
        .await
        .unwrap()
        .into_inner();

    // Another writer puts an undecodable event straight into the store.
    let store = server.event_store();
    let poison = store
        .append(
            &format!("order-{}", placed.order_id),
            ExpectedRevision::Any,
            vec![NewEvent {
                id: uuid::Uuid::new_v4(),
                event_type: "causeway.orders.v1.OrderConfirmed".into(),
                data: b"\x00 definitely not json".to_vec(),
                metadata: b"{}".to_vec(),
            }],
        )
        .await
        .unwrap()
        .position;

    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let orders = admin
            .list_projections(ListProjectionsRequest {})
            .await
            .unwrap()
            .into_inner()
            .projections
            .into_iter()
            .find(|p| p.name == "orders")
            .expect("orders projection listed");
        if let Some(stuck) = &orders.stuck {
            assert_eq!(stuck.position, poison);
            assert!(!orders.healthy);
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "poison never reported: {orders:?}"
        );
        tokio::task::yield_now().await;
    }
    let status = health
        .check(HealthCheckRequest {
            service: "causeway.projection.orders".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .status();
    assert_eq!(status, ServingStatus::NotServing);
    // The process and the other projections are fine.
    let products = health
        .check(HealthCheckRequest {
            service: "causeway.projection.products".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .status();
    assert_eq!(products, ServingStatus::Serving);
    commands
        .place_order(place(&eve))
        .await
        .expect("commands still work");
}
