//! Who reads what through the event feed and the history queries, on a server that
//! authenticates: the RPCs' own roles, the contract's category readers, a customer's own orders
//! only, and the limit on subscriptions one caller holds at once.

use std::{collections::HashSet, time::Duration};

use causeway_client::{
    common::{AsOf, as_of::Point},
    events::{ReadStreamRequest, SubscribeRequest, event_feed_client::EventFeedClient},
    inventory::{RegisterProductRequest, inventory_commands_client::InventoryCommandsClient},
    orders::{
        GetOrderHistoryRequest, GetOrderRequest, OrderLine, PlaceOrderRequest, PlaceOrderResponse,
        order_commands_client::OrderCommandsClient, order_queries_client::OrderQueriesClient,
    },
};
use causeway_server::config::Config;
use causeway_tests::{
    TestServer,
    scenarios::{
        feed::{events_of, options, read_through},
        unique,
    },
    tokens::authorized,
};
use tonic::{Code, Request, transport::Channel};

/// `message` with `token` as its bearer.
fn signed<T>(token: &str, message: T) -> Request<T> {
    authorized(message, Some(token))
}

async fn subscribe_code(channel: &Channel, token: &str, request: SubscribeRequest) -> Code {
    match EventFeedClient::new(channel.clone())
        .subscribe(signed(token, request))
        .await
    {
        Ok(_) => Code::Ok,
        Err(status) => status.code(),
    }
}

async fn read_stream_code(channel: &Channel, token: &str, stream: &str) -> Code {
    let request = ReadStreamRequest {
        stream: stream.into(),
        ..ReadStreamRequest::default()
    };
    match EventFeedClient::new(channel.clone())
        .read_stream(signed(token, request))
        .await
    {
        Ok(_) => Code::Ok,
        Err(status) => status.code(),
    }
}

/// A kettle ordered by the holder of `token`, a customer.
async fn order_a_kettle(channel: &Channel, token: &str) -> PlaceOrderResponse {
    let request = PlaceOrderRequest {
        options: options(),
        currency: "EUR".into(),
        lines: vec![OrderLine {
            sku: "kettle".into(),
            quantity: 1,
            unit_price_minor: 2999,
        }],
        ..PlaceOrderRequest::default()
    };
    OrderCommandsClient::new(channel.clone())
        .place_order(signed(token, request))
        .await
        .expect("the customer orders")
        .into_inner()
}

#[tokio::test(flavor = "multi_thread")]
async fn roles_read_the_categories_the_contract_gives_them() {
    let server = TestServer::start_secured().await;
    let channel = server.channel().await;
    let admin = server.token("ops", &["admin"]).await;
    let stock = server.token("stocker", &["inventory.staff"]).await;
    let staff = server.token("clerk", &["orders.staff"]).await;
    let ada = server.token("ada", &["customer"]).await;

    let sku = unique("kettle");
    let registered = InventoryCommandsClient::new(channel.clone())
        .register_product(signed(
            &admin,
            RegisterProductRequest {
                options: options(),
                sku: sku.clone(),
                name: "Kettle".into(),
            },
        ))
        .await
        .expect("register")
        .into_inner()
        .ack
        .expect("ack")
        .position;
    let placed = order_a_kettle(&channel, &ada).await;
    let order_stream = format!("order-{}", placed.order_id);
    let last = placed.ack.expect("ack").position;

    // Inventory staff asking for everything gets the products only.
    let mut feed = EventFeedClient::new(channel.clone())
        .subscribe(signed(&stock, SubscribeRequest::default()))
        .await
        .expect("inventory staff subscribe")
        .into_inner();
    let product = format!("product-{sku}");
    // Through the order's position: the feed moves past it with a checkpoint only.
    let items = read_through(&mut feed, last).await;
    let streams: HashSet<String> = [product.clone(), order_stream.clone()].into();
    let seen: Vec<(&str, u64)> = events_of(&items, &streams)
        .iter()
        .map(|e| (e.stream.as_str(), e.position))
        .collect();
    assert_eq!(seen, [(product.as_str(), registered)]);
    let mut admin_feed = EventFeedClient::new(channel.clone())
        .subscribe(signed(&admin, SubscribeRequest::default()))
        .await
        .expect("admin subscribe")
        .into_inner();
    let items = read_through(&mut admin_feed, last).await;
    assert_eq!(
        events_of(&items, &streams).len(),
        2,
        "an admin reads every category"
    );

    let order = || SubscribeRequest {
        category: vec!["order".into()],
        ..SubscribeRequest::default()
    };
    assert_eq!(
        subscribe_code(&channel, &stock, order()).await,
        Code::PermissionDenied
    );
    assert_eq!(subscribe_code(&channel, &staff, order()).await, Code::Ok);
    assert_eq!(
        subscribe_code(&channel, &ada, order()).await,
        Code::PermissionDenied
    );
    let anonymous = EventFeedClient::new(channel.clone())
        .subscribe(order())
        .await
        .unwrap_err();
    assert_eq!(anonymous.code(), Code::Unauthenticated);

    assert_eq!(
        read_stream_code(&channel, &staff, &order_stream).await,
        Code::Ok
    );
    assert_eq!(
        read_stream_code(&channel, &stock, &order_stream).await,
        Code::PermissionDenied
    );
    assert_eq!(
        read_stream_code(&channel, &staff, "user-1").await,
        Code::PermissionDenied
    );
    assert_eq!(
        read_stream_code(&channel, &ada, &order_stream).await,
        Code::PermissionDenied
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_customer_reads_only_its_own_orders_history_and_past() {
    let server = TestServer::start_secured().await;
    let channel = server.channel().await;
    let ada = server.token("ada", &["customer"]).await;
    let bob = server.token("bob", &["customer"]).await;
    let staff = server.token("clerk", &["orders.staff"]).await;
    let placed = order_a_kettle(&channel, &ada).await;
    let history = || GetOrderHistoryRequest {
        order_id: placed.order_id.clone(),
        ..GetOrderHistoryRequest::default()
    };
    let past = || GetOrderRequest {
        order_id: placed.order_id.clone(),
        as_of: Some(AsOf {
            point: Some(Point::Revision(0)),
        }),
        ..GetOrderRequest::default()
    };
    let mut queries = OrderQueriesClient::new(channel.clone());
    for token in [&ada, &staff] {
        let own = queries.get_order_history(signed(token, history())).await;
        let events = own.expect("history").into_inner().events;
        assert_eq!(events[0].event_type, "causeway.orders.v1.OrderPlaced");
        let then = queries.get_order(signed(token, past())).await;
        assert_eq!(
            then.expect("as of").into_inner().order.unwrap().customer_id,
            "ada"
        );
    }
    let other = queries
        .get_order_history(signed(&bob, history()))
        .await
        .unwrap_err();
    assert_eq!(
        other.code(),
        Code::NotFound,
        "as if it did not exist: {other:?}"
    );
    let other = queries.get_order(signed(&bob, past())).await.unwrap_err();
    assert_eq!(other.code(), Code::NotFound, "{other:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn each_caller_holds_a_bounded_number_of_subscriptions() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = Config::with_data_dir(dir.path());
    config.feed.feed_subscriptions_per_caller = 2;
    let server = TestServer::start_with(config, dir).await;
    let channel = server.channel().await;
    let ops = server.token("ops", &["admin"]).await;
    let other = server.token("auditor", &["admin"]).await;
    let open = |token: &str| {
        let (channel, request) = (channel.clone(), signed(token, SubscribeRequest::default()));
        async move { EventFeedClient::new(channel).subscribe(request).await }
    };

    let first = open(&ops).await.expect("first");
    let _second = open(&ops).await.expect("second");
    let refused = open(&ops).await.unwrap_err();
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    assert!(refused.message().contains("2 subscriptions"), "{refused:?}");
    let _theirs = open(&other)
        .await
        .expect("another caller has a quota of its own");

    drop(first);
    let again = async {
        loop {
            match open(&ops).await {
                Ok(stream) => return stream,
                Err(status) => assert_eq!(status.code(), Code::ResourceExhausted),
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), again)
        .await
        .expect("a closed subscription gives its slot back");
}
