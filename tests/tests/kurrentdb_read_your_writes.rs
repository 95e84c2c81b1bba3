//! Read-your-writes across categories over KurrentDB's real checkpoint cadence (the double's).
//!
//! A projection's KurrentDB subscription is filtered to its categories, and the server tells it
//! how far the events it filters out go only every 32 events considered while live. After a
//! command on `product-…`, the orders projection has therefore heard nothing past its last order
//! event, yet a query for an order carrying that command's position (as the SDK's session sends
//! on every query) must answer at once: the runner asks the store whether any event of its own
//! lies in between, and moves on when none does. These queries would otherwise wait for their
//! deadline and fail with DEADLINE_EXCEEDED. A rebuild, which follows the new generation up to
//! the newest event, likewise must not wait for a checkpoint past other categories' events.

use std::time::Duration;

use causeway_client::{
    admin::{
        ListProjectionsRequest, RebuildProjectionRequest,
        projection_admin_client::ProjectionAdminClient,
    },
    common::{CommandAck, CommandOptions, Consistency},
    identity::{GetUserRequest, identity_queries_client::IdentityQueriesClient},
    inventory::{
        GetProductRequest, ReceiveStockRequest, RegisterProductRequest,
        inventory_commands_client::InventoryCommandsClient,
        inventory_queries_client::InventoryQueriesClient,
    },
    orders::{
        GetOrderRequest, OrderLine, PlaceOrderRequest, order_commands_client::OrderCommandsClient,
        order_queries_client::OrderQueriesClient,
    },
};
use causeway_tests::{
    EventBackend, TestServer, command_id, kurrentdb::KurrentDbDouble, scenarios::unique,
};
use tonic::{Code, Request};

/// The deadline of each query. The server waits for at most 90% of it.
const DEADLINE: Duration = Duration::from_secs(10);

fn options() -> Option<CommandOptions> {
    Some(CommandOptions {
        command_id: command_id(),
        ..CommandOptions::default()
    })
}

fn at(ack: &CommandAck) -> Option<Consistency> {
    Some(Consistency {
        min_position: ack.position,
    })
}

/// `message` with the query deadline set (sent as `grpc-timeout`).
fn within_deadline<T>(message: T) -> Request<T> {
    let mut request = Request::new(message);
    request.set_timeout(DEADLINE);
    request
}

#[tokio::test(flavor = "multi_thread")]
async fn a_query_for_a_write_in_another_category_answers_before_its_deadline() {
    let (_double, url) = KurrentDbDouble::start().await;
    let server = TestServer::start_on(&EventBackend::KurrentDb(url)).await;
    let channel = server.channel().await;
    let mut orders = OrderCommandsClient::new(channel.clone());
    let mut order_queries = OrderQueriesClient::new(channel.clone());
    let mut inventory = InventoryCommandsClient::new(channel.clone());
    let mut product_queries = InventoryQueriesClient::new(channel.clone());
    let mut user_queries = IdentityQueriesClient::new(channel);

    let placed = orders
        .place_order(PlaceOrderRequest {
            options: options(),
            order_id: String::new(),
            customer_id: unique("ada"),
            currency: "EUR".into(),
            lines: vec![OrderLine {
                sku: "sku-1".into(),
                quantity: 1,
                unit_price_minor: 500,
            }],
        })
        .await
        .expect("place order")
        .into_inner();
    let order_ack = placed.ack.expect("ack");

    for round in 0..3 {
        let sku = unique("kettle");
        let registered = inventory
            .register_product(RegisterProductRequest {
                options: options(),
                sku: sku.clone(),
                name: "Kettle".into(),
            })
            .await
            .expect("register product")
            .into_inner()
            .ack
            .expect("ack");
        assert!(registered.stream_id.starts_with("product-"));
        let order = order_queries
            .get_order(within_deadline(GetOrderRequest {
                order_id: placed.order_id.clone(),
                consistency: at(&registered),
                ..Default::default()
            }))
            .await
            .unwrap_or_else(|status| {
                panic!(
                    "round {round}: the orders read model never reached a product write: {status:?}"
                )
            })
            .into_inner()
            .order
            .expect("order");
        assert_eq!(order.order_id, placed.order_id);

        // The other way round: the products read model at an order write.
        let product = product_queries
            .get_product(within_deadline(GetProductRequest {
                sku: sku.clone(),
                consistency: at(&order_ack),
                ..Default::default()
            }))
            .await
            .expect("the products read model at an order write")
            .into_inner()
            .product
            .expect("product");
        assert_eq!(product.sku, sku);

        // A read model that sees neither category: the users projection.
        let stocked = inventory
            .receive_stock(ReceiveStockRequest {
                options: options(),
                sku,
                quantity: 3,
            })
            .await
            .expect("receive stock")
            .into_inner()
            .ack
            .expect("ack");
        let missing = user_queries
            .get_user(within_deadline(GetUserRequest {
                user_id: uuid::Uuid::now_v7().to_string(),
                consistency: at(&stocked),
                ..Default::default()
            }))
            .await
            .expect_err("no such user");
        assert_eq!(missing.code(), Code::NotFound, "{missing:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rebuild_finishes_when_the_newest_events_belong_to_other_categories() {
    let (_double, url) = KurrentDbDouble::start().await;
    let server = TestServer::start_on(&EventBackend::KurrentDb(url)).await;
    let channel = server.channel().await;
    let mut orders = OrderCommandsClient::new(channel.clone());
    let mut inventory = InventoryCommandsClient::new(channel.clone());
    let mut admin = ProjectionAdminClient::new(channel);
    for _ in 0..3 {
        orders
            .place_order(PlaceOrderRequest {
                options: options(),
                order_id: String::new(),
                customer_id: unique("lin"),
                currency: "EUR".into(),
                lines: vec![OrderLine {
                    sku: "sku-1".into(),
                    quantity: 1,
                    unit_price_minor: 100,
                }],
            })
            .await
            .expect("place order");
    }
    // The newest event is a product's: the rebuilt orders generation must get past it.
    inventory
        .register_product(RegisterProductRequest {
            options: options(),
            sku: unique("lamp"),
            name: "Lamp".into(),
        })
        .await
        .expect("register product");
    let generation = admin
        .rebuild_projection(RebuildProjectionRequest {
            name: "orders".into(),
        })
        .await
        .expect("rebuild starts")
        .into_inner()
        .generation;
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let projections = admin
            .list_projections(ListProjectionsRequest {})
            .await
            .expect("list projections")
            .into_inner()
            .projections;
        let orders = projections
            .iter()
            .find(|p| p.name == "orders")
            .expect("orders");
        if orders.generation == generation && orders.rebuilding_generation.is_none() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the rebuild never finished: {orders:?}"
        );
        tokio::task::yield_now().await;
    }
}
