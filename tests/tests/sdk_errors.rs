//! Every kind of SDK error, each produced by a real server's answer, and which of them the SDK
//! retries. A proxy in front of the server counts the attempts that reach it.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU32, Ordering},
    },
    time::Duration,
};

use causeway_client::{
    Client, Error, RetryPolicy, TokenProvider, at_revision,
    common::Consistency,
    inventory::{GetProductRequest, RegisterProductRequest},
    orders::{
        ConfirmOrderRequest, GetOrderRequest, OrderLine, PlaceOrderRequest, ShipOrderRequest,
    },
};
use causeway_server::{
    config::Config,
    inventory::projection::COLLECTION as PRODUCTS,
    projection::generation,
    readstore::{Document, ReadStore, WriteOp, embedded::EmbeddedReadStore},
};
use causeway_tests::{TestServer, bearer_gate::BearerGate, proxy::FaultProxy};
use serde_json::json;

const ATTEMPTS: u32 = 3;

fn client(endpoint: String) -> Client {
    Client::builder(endpoint)
        .retry_policy(
            RetryPolicy::default()
                .max_attempts(ATTEMPTS)
                .initial_backoff(Duration::from_millis(10))
                .max_backoff(Duration::from_millis(50)),
        )
        .deadline(Duration::from_secs(20))
        .build()
        .expect("client")
}

fn place(lines: Vec<OrderLine>) -> PlaceOrderRequest {
    PlaceOrderRequest {
        customer_id: "errors".into(),
        currency: "EUR".into(),
        lines,
        ..Default::default()
    }
}

fn one_line() -> Vec<OrderLine> {
    vec![OrderLine {
        sku: "kettle".into(),
        quantity: 1,
        unit_price_minor: 100,
    }]
}

async fn proxied(server: &TestServer) -> FaultProxy {
    drop(server.channel().await);
    FaultProxy::start(server.addr).await
}

/// Runs `call` and returns its error and how many attempts reached the server.
async fn attempts<T: std::fmt::Debug>(
    proxy: &FaultProxy,
    call: impl Future<Output = Result<T, Error>>,
) -> (Error, u64) {
    let before = proxy.requests();
    let error = call.await.expect_err("the call fails");
    (error, proxy.requests() - before)
}

#[tokio::test(flavor = "multi_thread")]
async fn request_errors_are_typed_and_never_retried() {
    let server = TestServer::start().await;
    let proxy = proxied(&server).await;
    let client = client(proxy.url());
    let orders = client.orders();

    let mut zero = one_line();
    zero[0].quantity = 0;
    let (error, tries) = attempts(&proxy, orders.place_order(place(zero))).await;
    assert_eq!(tries, 1);
    let Error::Validation { violations, .. } = &error else {
        panic!("{error:?}");
    };
    assert!(
        violations.iter().any(|v| v.field == "lines[0].quantity"),
        "{violations:?}"
    );

    let (error, tries) = attempts(
        &proxy,
        orders.confirm_order(ConfirmOrderRequest {
            order_id: "no-such-order".into(),
            ..Default::default()
        }),
    )
    .await;
    assert!(matches!(error, Error::NotFound { .. }), "{error:?}");
    assert_eq!(tries, 1);
    let (error, _) = attempts(
        &proxy,
        orders.get_order(GetOrderRequest {
            order_id: "no-such-order".into(),
            ..Default::default()
        }),
    )
    .await;
    assert!(matches!(error, Error::NotFound { .. }), "{error:?}");

    let placed = orders.place_order(place(one_line())).await.expect("place");
    let (error, tries) = attempts(
        &proxy,
        orders.ship_order(ShipOrderRequest {
            order_id: placed.order_id.clone(),
            ..Default::default()
        }),
    )
    .await;
    assert!(matches!(error, Error::RuleBroken { .. }), "{error:?}");
    assert_eq!(tries, 1, "a broken rule stays broken");

    let (error, tries) = attempts(
        &proxy,
        orders.confirm_order(ConfirmOrderRequest {
            options: at_revision(5),
            order_id: placed.order_id.clone(),
        }),
    )
    .await;
    assert!(matches!(error, Error::Conflict { .. }), "{error:?}");
    assert_eq!(
        tries, 1,
        "a stale expected revision is the caller's to resolve"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_read_model_that_cannot_be_read_is_internal_and_not_retried() {
    // A product document the projection never wrote and queries cannot parse: the server
    // answers INTERNAL (its own fault, which no retry can fix), without the document's content.
    let data_dir = tempfile::tempdir().expect("temp dir");
    let reads = EmbeddedReadStore::open(data_dir.path()).expect("read store");
    let broken = WriteOp::Upsert {
        collection: generation::collection(PRODUCTS, 1),
        document: Document {
            id: "broken".into(),
            body: json!({ "sku": 42 }),
        },
    };
    reads
        .apply("sdk-errors-fixture", vec![broken], 1)
        .await
        .expect("write fixture");
    drop(reads);
    let server = TestServer::start_with(
        causeway_tests::unchecked(Config::with_data_dir(data_dir.path())),
        data_dir,
    )
    .await;
    let proxy = proxied(&server).await;
    let client = client(proxy.url());

    let (error, tries) = attempts(
        &proxy,
        client.inventory().get_product(GetProductRequest {
            sku: "broken".into(),
            ..Default::default()
        }),
    )
    .await;
    match &error {
        Error::Other { code, message } => {
            assert_eq!(*code, tonic::Code::Internal, "{error:?}");
            assert!(!message.contains("42"), "no document content: {message}");
        }
        other => panic!("expected INTERNAL, got {other:?}"),
    }
    assert_eq!(tries, 1, "INTERNAL is not retried");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_position_the_read_model_does_not_reach_in_time_is_deadline_exceeded() {
    let server = TestServer::start().await;
    let proxy = proxied(&server).await;
    let client = client(proxy.url());
    let ack = client
        .inventory()
        .register_product(RegisterProductRequest {
            sku: "late".into(),
            name: "Late".into(),
            ..Default::default()
        })
        .await
        .expect("register");

    let (error, tries) = attempts(
        &proxy,
        client
            .with_deadline(Duration::from_secs(3))
            .inventory()
            .get_product(GetProductRequest {
                sku: "late".into(),
                consistency: Some(Consistency {
                    min_position: ack.position + 1_000_000,
                }),
                ..Default::default()
            }),
    )
    .await;
    let Error::DeadlineExceeded { message } = &error else {
        panic!("{error:?}");
    };
    // The server answers (at 90% of the deadline) before the client's own timer fires, naming
    // how far the read model got.
    assert!(message.contains("reached position"), "{message}");
    assert_eq!(tries, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_token_provider_is_asked_on_every_call_and_a_refused_token_is_unauthenticated() {
    let gate = BearerGate::start(|token| token.starts_with("good-")).await;
    let calls = Arc::new(AtomicU32::new(0));
    let counted = calls.clone();
    let provider = TokenProvider::from_fn(move || {
        let n = counted.fetch_add(1, Ordering::SeqCst) + 1;
        let token = if n <= 2 {
            format!("good-{n}")
        } else {
            format!("expired-{n}")
        };
        Ok(token)
    });
    let client = Client::builder(gate.url())
        .token_provider(provider)
        .user_agent("billing-service/1.4")
        .build()
        .expect("client");

    for _ in 0..2 {
        client
            .orders()
            .place_order(place(one_line()))
            .await
            .expect("accepted token");
    }
    let error = client
        .orders()
        .place_order(place(one_line()))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Unauthenticated { .. }), "{error:?}");
    assert_eq!(
        calls.load(Ordering::SeqCst),
        3,
        "once per call, never retried"
    );
    assert_eq!(
        gate.authorizations(),
        ["Bearer good-1", "Bearer good-2", "Bearer expired-3"]
    );
    let agent = &gate.user_agents()[0];
    assert!(
        agent.starts_with("billing-service/1.4 causeway-client/"),
        "{agent}"
    );

    let anonymous = Client::builder(gate.url()).build().expect("client");
    let error = anonymous
        .orders()
        .place_order(place(one_line()))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Unauthenticated { .. }), "{error:?}");
    assert_eq!(gate.authorizations().last().map(String::as_str), Some(""));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retry_asks_the_token_provider_again() {
    let gate = BearerGate::start(|token| token.starts_with("good-")).await;
    let proxy = FaultProxy::start(gate.addr).await;
    let calls = Arc::new(AtomicU32::new(0));
    let counted = calls.clone();
    let client = Client::builder(proxy.url())
        .token_provider(TokenProvider::from_async(move || {
            let n = counted.fetch_add(1, Ordering::SeqCst) + 1;
            async move { Ok(format!("good-{n}")) }
        }))
        .retry_policy(RetryPolicy::default().initial_backoff(Duration::from_millis(10)))
        .build()
        .expect("client");

    proxy.drop_next_response();
    let placed = client
        .orders()
        .place_order(place(one_line()))
        .await
        .expect("retried");
    assert!(placed.ack.deduplicated);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(gate.authorizations(), ["Bearer good-1", "Bearer good-2"]);
}
