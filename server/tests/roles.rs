//! The roles as separate processes over one data directory, as they would run as separate
//! deployments: commands in one, projections in another, queries in a third. And a projection
//! process killed mid-catch-up that resumes to the same read model a clean rebuild gives.

mod support;

use std::{sync::Arc, time::Duration};

use causeway_proto::{
    admin::{
        ListProjectionsRequest, ProjectionInfo, RebuildProjectionRequest,
        projection_admin_client::ProjectionAdminClient,
    },
    common::{CommandOptions, Consistency},
    orders::{
        GetOrderRequest, ListOrdersRequest, Order, OrderLine, OrderStatus, PlaceOrderRequest,
        order_commands_client::OrderCommandsClient, order_queries_client::OrderQueriesClient,
    },
};
use causeway_server::{
    kernel::{CommandContext, CommandHandler},
    orders::domain::{
        Currency, CustomerId, Money, OrderId, OrderLine as Line, PlaceOrder, Quantity, Sku,
    },
    server::upcasters,
    store::embedded::{Durability, EmbeddedEventStore},
};
use support::Process;
use tonic::transport::Channel;

const WAIT: Duration = Duration::from_secs(60);

fn place(customer: &str) -> PlaceOrderRequest {
    PlaceOrderRequest {
        options: Some(CommandOptions {
            command_id: uuid::Uuid::now_v7().to_string(),
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

async fn orders_projection(admin: &mut ProjectionAdminClient<Channel>) -> ProjectionInfo {
    admin
        .list_projections(ListProjectionsRequest {})
        .await
        .expect("admin answers")
        .into_inner()
        .projections
        .into_iter()
        .find(|p| p.name == "orders")
        .expect("orders projection runs here")
}

/// Polls the projection process until `done` holds (bounded).
async fn until(
    admin: &mut ProjectionAdminClient<Channel>,
    done: impl Fn(&ProjectionInfo) -> bool,
) -> ProjectionInfo {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let info = orders_projection(admin).await;
        if done(&info) {
            return info;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "gave up waiting: {info:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn list_all(queries: &mut OrderQueriesClient<Channel>, min_position: u64) -> Vec<Order> {
    let mut orders = Vec::new();
    let mut token = String::new();
    loop {
        let mut request = tonic::Request::new(ListOrdersRequest {
            customer_id: String::new(),
            status: OrderStatus::Unspecified as i32,
            page_size: 500,
            page_token: token,
            consistency: Some(Consistency { min_position }),
        });
        request.set_timeout(WAIT);
        let page = queries
            .list_orders(request)
            .await
            .expect("list")
            .into_inner();
        orders.extend(page.orders);
        if page.next_page_token.is_empty() {
            return orders;
        }
        token = page.next_page_token;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn command_projection_and_query_roles_cooperate_as_three_processes() {
    let data = tempfile::tempdir().unwrap();
    let command = Process::start(data.path(), "command");
    let projection = Process::start(data.path(), "projection");
    let query = Process::start(data.path(), "query");
    let mut commands = OrderCommandsClient::new(command.channel().await);
    let mut queries = OrderQueriesClient::new(query.channel().await);

    for _ in 0..5 {
        let placed = commands
            .place_order(place("ada"))
            .await
            .unwrap()
            .into_inner();
        let ack = placed.ack.unwrap();
        let mut request = tonic::Request::new(GetOrderRequest {
            order_id: placed.order_id.clone(),
            consistency: Some(Consistency {
                min_position: ack.position,
            }),
            ..Default::default()
        });
        request.set_timeout(Duration::from_secs(10));
        let order = queries
            .get_order(request)
            .await
            .expect("the query process sees the projection process's write")
            .into_inner()
            .order
            .unwrap();
        assert_eq!(order.order_id, placed.order_id);
    }
    let mut admin = ProjectionAdminClient::new(projection.channel().await);
    assert!(orders_projection(&mut admin).await.healthy);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_projection_process_killed_mid_catch_up_resumes_to_what_a_clean_rebuild_gives() {
    let data = tempfile::tempdir().unwrap();
    // A backlog written straight through the kernel, as a command process would.
    let store = Arc::new(EmbeddedEventStore::open(data.path(), Durability::Relaxed).unwrap());
    let kernel = CommandHandler::new(store.clone(), Arc::new(upcasters()));
    let mut head = 0;
    for i in 0u32..6000 {
        let id = format!("backlog-{i}");
        let command = PlaceOrder {
            order_id: OrderId::parse(&id).unwrap(),
            customer_id: CustomerId::parse(&format!("customer-{}", i % 17)).unwrap(),
            currency: Currency::parse("EUR").unwrap(),
            lines: vec![Line {
                sku: Sku::parse("sku-1").unwrap(),
                quantity: Quantity::parse(u64::from(1 + i % 5)).unwrap(),
                unit_price: Money::parse(250).unwrap(),
            }],
            awaits_fulfilment: false,
        };
        let ack = kernel
            .handle(&CommandContext::new(format!("seed-{i}")), &command)
            .await
            .expect("seed");
        head = ack.position;
    }
    drop(kernel);
    drop(store);

    let projection = Process::start(data.path(), "projection");
    let mut admin = ProjectionAdminClient::new(projection.channel().await);
    let info = until(&mut admin, |p| p.position > 0).await;
    projection.kill();
    assert!(
        info.position < head,
        "killed before catching up ({} of {head})",
        info.position
    );

    let projection = Process::start(data.path(), "projection");
    let mut admin = ProjectionAdminClient::new(projection.channel().await);
    until(&mut admin, |p| p.position >= head).await;
    let query = Process::start(data.path(), "query");
    let mut queries = OrderQueriesClient::new(query.channel().await);
    let resumed = list_all(&mut queries, head).await;
    assert_eq!(resumed.len(), 6000);

    admin
        .rebuild_projection(RebuildProjectionRequest {
            name: "orders".into(),
        })
        .await
        .expect("rebuild");
    until(&mut admin, |p| {
        p.generation == 2 && p.rebuilding_generation.is_none()
    })
    .await;
    assert_eq!(list_all(&mut queries, head).await, resumed);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_projection_process_reports_the_head_for_every_projection_it_runs() {
    use causeway_proto::{
        identity::{RegisterUserRequest, identity_commands_client::IdentityCommandsClient},
        inventory::{RegisterProductRequest, inventory_commands_client::InventoryCommandsClient},
    };
    let options = || {
        Some(CommandOptions {
            command_id: uuid::Uuid::now_v7().to_string(),
            ..CommandOptions::default()
        })
    };
    let data = tempfile::tempdir().unwrap();
    let command = Process::start(data.path(), "command");
    let channel = command.channel().await;
    InventoryCommandsClient::new(channel.clone())
        .register_product(RegisterProductRequest {
            options: options(),
            sku: "sku-1".into(),
            name: "Kettle".into(),
        })
        .await
        .unwrap();
    IdentityCommandsClient::new(channel.clone())
        .register_user(RegisterUserRequest {
            options: options(),
            email: "ada@example.com".into(),
            display_name: "Ada".into(),
            password: "correct horse".into(),
        })
        .await
        .unwrap();
    let mut orders = OrderCommandsClient::new(channel);
    let mut head = 0;
    for _ in 0..20 {
        let placed = orders.place_order(place("ada")).await.unwrap().into_inner();
        head = placed.ack.unwrap().position;
    }

    // Fulfilment (a projection-role runner too) settles the orders with appends of its own,
    // so the head ends past the last order's; every runner reports the same one, caught up.
    let everything_at = |placed: u64| {
        move |all: &[ProjectionInfo]| {
            let head = all.first().map_or(0, |p| p.head);
            all.len() == 5
                && head >= placed
                && all
                    .iter()
                    .all(|p| p.position == head && p.head == head && p.behind == 0)
        }
    };
    // A projection process that caught up, and one started after that: both know the head.
    for _ in 0..2 {
        let projection = Process::start(data.path(), "projection");
        let mut admin = ProjectionAdminClient::new(projection.channel().await);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        loop {
            let all = admin
                .list_projections(ListProjectionsRequest {})
                .await
                .expect("admin answers")
                .into_inner()
                .projections;
            if everything_at(head)(&all) {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "head {head} not reported: {all:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        projection.kill();
    }
}
