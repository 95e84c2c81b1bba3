//! The Rust SDK against a real server on a free loopback port: idempotent retries through a
//! connection that loses an answer, read-your-writes sessions, and listings streamed over all
//! pages.

use std::{collections::BTreeSet, time::Duration};

use causeway_client::{
    Client, RetryPolicy,
    common::CommandOptions,
    inventory::{
        GetProductRequest, ListProductsRequest, ReceiveStockRequest, RegisterProductRequest,
    },
    orders::{
        ConfirmOrderRequest, GetOrderRequest, ListOrdersRequest, OrderLine, OrderStatus,
        PlaceOrderRequest, order_commands_client::OrderCommandsClient,
    },
    with_command_id,
};
use causeway_tests::{TestServer, command_id, proxy::FaultProxy};
use futures::TryStreamExt;

/// Quick retries, so a test that exercises them stays fast.
fn quick_retries() -> RetryPolicy {
    RetryPolicy::default()
        .max_attempts(5)
        .initial_backoff(Duration::from_millis(10))
        .max_backoff(Duration::from_millis(100))
}

fn client(endpoint: String) -> Client {
    Client::builder(endpoint)
        .retry_policy(quick_retries())
        .deadline(Duration::from_secs(20))
        .build()
        .expect("client")
}

fn place(customer: &str) -> PlaceOrderRequest {
    PlaceOrderRequest {
        customer_id: customer.into(),
        currency: "EUR".into(),
        lines: vec![OrderLine {
            sku: "kettle".into(),
            quantity: 2,
            unit_price_minor: 2999,
        }],
        ..Default::default()
    }
}

/// A server behind a proxy, once the server accepts connections.
async fn proxied() -> (TestServer, FaultProxy) {
    let server = TestServer::start().await;
    drop(server.channel().await);
    let proxy = FaultProxy::start(server.addr).await;
    (server, proxy)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_command_whose_answer_is_lost_is_retried_with_its_id_and_applied_once() {
    let (server, proxy) = proxied().await;
    let client = client(proxy.url());

    proxy.drop_next_response();
    let placed = client
        .orders()
        .place_order(place("lost-answer"))
        .await
        .expect("the retry succeeds");
    assert_eq!(proxy.dropped(), 1, "the first answer was lost");
    assert_eq!(proxy.requests(), 2, "one lost answer, one retry");
    // Had the retry carried a new command id, the server would have placed a second order.
    assert!(placed.ack.deduplicated, "{:?}", placed.ack);
    assert_eq!(placed.ack.stream_id, format!("order-{}", placed.order_id));
    assert_eq!(placed.ack.revision, 0);

    // Exactly one set of events: one order for the customer, its stream at revision 0.
    let session = client.session();
    session.observe(placed.ack.position);
    let orders: Vec<_> = session
        .orders()
        .list_orders(ListOrdersRequest {
            customer_id: "lost-answer".into(),
            ..Default::default()
        })
        .try_collect()
        .await
        .expect("list");
    assert_eq!(orders.len(), 1, "{orders:?}");
    assert_eq!(orders[0].order_id, placed.order_id);
    assert_eq!(orders[0].revision, 0);
    let confirmed = client
        .orders()
        .confirm_order(ConfirmOrderRequest {
            options: causeway_client::at_revision(0),
            order_id: placed.order_id.clone(),
        })
        .await
        .expect("the stream holds exactly one event");
    assert_eq!(confirmed.revision, 1);
    drop(server);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retried_command_returns_the_original_acknowledgement() {
    let (server, proxy) = proxied().await;
    let client = client(proxy.url());
    let id = command_id();

    proxy.drop_next_response();
    let retried = client
        .orders()
        .place_order(PlaceOrderRequest {
            options: with_command_id(id.clone()),
            ..place("caller-chosen-id")
        })
        .await
        .expect("the retry succeeds");
    assert_eq!((proxy.dropped(), proxy.requests()), (1, 2));

    // Asked again directly, the server names the same stream, revision and position.
    let direct = OrderCommandsClient::new(server.channel().await)
        .place_order(PlaceOrderRequest {
            options: Some(CommandOptions {
                command_id: id,
                ..CommandOptions::default()
            }),
            ..place("caller-chosen-id")
        })
        .await
        .expect("direct replay")
        .into_inner();
    let original = direct.ack.expect("ack");
    assert_eq!(direct.order_id, retried.order_id);
    assert!(retried.ack.deduplicated && original.deduplicated);
    assert_eq!(
        (
            &retried.ack.stream_id,
            retried.ack.revision,
            retried.ack.position
        ),
        (&original.stream_id, original.revision, original.position)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_reads_its_own_write_on_every_query() {
    let server = TestServer::start().await;
    let client = client(server.url());
    let session = client.session();
    let sku = "rw-kettle";
    session
        .inventory()
        .register_product(RegisterProductRequest {
            sku: sku.into(),
            name: "Kettle".into(),
            ..Default::default()
        })
        .await
        .expect("register");

    let (mut received, mut placed) = (0, Vec::new());
    for pair in 0..100 {
        match pair % 3 {
            0 => {
                let ack = session
                    .inventory()
                    .receive_stock(ReceiveStockRequest {
                        sku: sku.into(),
                        quantity: 1,
                        ..Default::default()
                    })
                    .await
                    .expect("receive");
                received += 1;
                assert_eq!(session.position(), ack.position);
                let product = session
                    .inventory()
                    .get_product(GetProductRequest {
                        sku: sku.into(),
                        ..Default::default()
                    })
                    .await
                    .expect("get product");
                assert_eq!(product.on_hand, received, "pair {pair}");
                assert_eq!(product.revision, ack.revision, "pair {pair}");
            }
            1 => {
                let order = session
                    .orders()
                    .place_order(place("session"))
                    .await
                    .expect("place");
                let read = session
                    .orders()
                    .get_order(GetOrderRequest {
                        order_id: order.order_id.clone(),
                        ..Default::default()
                    })
                    .await
                    .expect("get order at once");
                assert_eq!(read.status(), OrderStatus::Placed, "pair {pair}");
                placed.push(order.order_id);
            }
            _ => {
                let order = session
                    .orders()
                    .place_order(place("session"))
                    .await
                    .expect("place");
                placed.push(order.order_id);
                // Every order so far (two pages once there are more than 50), each page waiting for
                // the session.
                let listed: Vec<String> = session
                    .orders()
                    .list_orders(ListOrdersRequest {
                        customer_id: "session".into(),
                        page_size: 50,
                        ..Default::default()
                    })
                    .map_ok(|o| o.order_id)
                    .try_collect()
                    .await
                    .expect("list");
                assert_eq!(listed, placed, "pair {pair}");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn listings_stream_every_page() {
    let server = TestServer::start().await;
    let client = client(server.url());
    let session = client.session();
    for i in 0..23u64 {
        let sku = format!("sku-{i:02}");
        session
            .inventory()
            .register_product(RegisterProductRequest {
                sku: sku.clone(),
                name: format!("Product {i}"),
                ..Default::default()
            })
            .await
            .expect("register");
        if i % 10 > 0 {
            session
                .inventory()
                .receive_stock(ReceiveStockRequest {
                    sku,
                    quantity: i % 10,
                    ..Default::default()
                })
                .await
                .expect("receive");
        }
    }

    let low = || ListProductsRequest {
        available_below: Some(3),
        page_size: 2,
        ..Default::default()
    };
    let skus: Vec<String> = session
        .inventory()
        .list_products(low())
        .map_ok(|p| p.sku)
        .try_collect()
        .await
        .expect("low stock");
    let expected: Vec<String> = (0..23u64)
        .filter(|i| i % 10 < 3)
        .map(|i| format!("sku-{i:02}"))
        .collect();
    assert_eq!(skus, expected, "every low product once, in sku order");

    let pages: Vec<_> = session
        .inventory()
        .list_product_pages(low())
        .try_collect()
        .await
        .expect("pages");
    assert!(pages.len() >= expected.len().div_ceil(2), "{}", pages.len());
    assert!(pages.iter().all(|p| p.products.len() <= 2));

    for _ in 0..11 {
        session
            .orders()
            .place_order(place("pager"))
            .await
            .expect("place");
    }
    let ids: BTreeSet<String> = session
        .orders()
        .list_orders(ListOrdersRequest {
            customer_id: "pager".into(),
            page_size: 3,
            ..Default::default()
        })
        .map_ok(|o| o.order_id)
        .try_collect()
        .await
        .expect("orders");
    assert_eq!(ids.len(), 11);
}
