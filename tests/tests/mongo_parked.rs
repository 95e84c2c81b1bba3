//! A read-model document MongoDB cannot store (over its 16 MiB document limit) parks the event
//! that produced it, with a clear log line, and the server process and its projection carry on.

use std::{sync::Arc, time::Duration};

use causeway_client::{
    admin::{ListProjectionsRequest, projection_admin_client::ProjectionAdminClient},
    common::{CommandOptions, Consistency},
    orders::{
        GetOrderRequest, OrderLine as ApiLine, PlaceOrderRequest,
        order_commands_client::OrderCommandsClient, order_queries_client::OrderQueriesClient,
    },
};
use causeway_server::{
    kernel::{CommandContext, CommandHandler},
    orders::domain::{Currency, CustomerId, Money, OrderId, OrderLine, PlaceOrder, Quantity, Sku},
    readstore::ReadStore,
    server::upcasters,
    store::embedded::{Durability, EmbeddedEventStore},
};
use causeway_tests::{
    command_id,
    mongo::{MongoServer, Topology, process::ServerProcess, unique_database},
};
use tonic::{Code, transport::Channel};

const WAIT: Duration = Duration::from_secs(30);

async fn place_and_read(channel: &Channel) -> String {
    let placed = OrderCommandsClient::new(channel.clone())
        .place_order(PlaceOrderRequest {
            options: Some(CommandOptions {
                command_id: command_id(),
                ..CommandOptions::default()
            }),
            order_id: String::new(),
            customer_id: "ada".into(),
            currency: "EUR".into(),
            lines: vec![ApiLine {
                sku: "sku-1".into(),
                quantity: 1,
                unit_price_minor: 100,
            }],
        })
        .await
        .expect("place")
        .into_inner();
    let mut request = tonic::Request::new(GetOrderRequest {
        order_id: placed.order_id.clone(),
        consistency: Some(Consistency {
            min_position: placed.ack.expect("ack").position,
        }),
        ..Default::default()
    });
    request.set_timeout(WAIT);
    OrderQueriesClient::new(channel.clone())
        .get_order(request)
        .await
        .expect("reads back");
    placed.order_id
}

#[tokio::test(flavor = "multi_thread")]
async fn an_oversized_document_parks_its_event_with_a_clear_log() {
    let mongo = MongoServer::start(Topology::ReplicaSet).await;
    let database = unique_database();
    let data = tempfile::tempdir().expect("temp dir");
    let log = data.path().join("server.log");
    let mut process = ServerProcess::start("all", data.path(), &mongo, &database, Some(&log));
    let channel = process.channel().await;
    place_and_read(&channel).await;

    // Another writer appends an order whose read-model document would be ~17 MiB.
    let events = Arc::new(EmbeddedEventStore::open(data.path(), Durability::Full).expect("store"));
    let kernel = CommandHandler::new(events, Arc::new(upcasters()));
    // No caller could send such a sku; a writer going straight to the kernel can.
    let huge = PlaceOrder {
        order_id: OrderId::parse("huge-order").unwrap(),
        customer_id: CustomerId::parse("ada").unwrap(),
        currency: Currency::parse("EUR").unwrap(),
        lines: vec![OrderLine {
            sku: Sku::recorded(&"x".repeat(17 * 1024 * 1024)).unwrap(),
            quantity: Quantity::parse(1).unwrap(),
            unit_price: Money::parse(1).unwrap(),
        }],
        awaits_fulfilment: false,
    };
    let position = kernel
        .handle(&CommandContext::new(command_id()), &huge)
        .await
        .expect("the event store takes it")
        .position;

    let mut admin = ProjectionAdminClient::new(channel.clone());
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let orders = admin
            .list_projections(ListProjectionsRequest {})
            .await
            .expect("admin")
            .into_inner()
            .projections
            .into_iter()
            .find(|p| p.name == "orders")
            .expect("orders");
        if orders.parked == 1 && orders.position >= position {
            assert!(orders.healthy, "{orders:?}");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never parked: {orders:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(process.is_running(), "the process did not crash");
    place_and_read(&channel).await;
    let missing = OrderQueriesClient::new(channel.clone())
        .get_order(GetOrderRequest {
            order_id: "huge-order".into(),
            consistency: None,
            ..Default::default()
        })
        .await
        .expect_err("its document was refused");
    assert_eq!(missing.code(), Code::NotFound);

    let reads = mongo.store_in(&database).await;
    let parked = reads
        .get("parked_events", &format!("orders@{position}"))
        .await
        .expect("read")
        .expect("parked event kept for operators");
    assert_eq!(parked.body["stream"], "order-huge-order");
    let reason = parked.body["reason"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        reason.contains("16 MiB") && reason.contains("huge-order"),
        "{reason}"
    );

    process.kill();
    let logged = std::fs::read_to_string(&log).expect("log");
    let line = logged
        .lines()
        .find(|line| line.contains("event parked"))
        .unwrap_or_else(|| panic!("no parking logged:\n{logged}"));
    assert!(
        line.contains("order-huge-order") && line.contains("16 MiB"),
        "{line}"
    );
}
