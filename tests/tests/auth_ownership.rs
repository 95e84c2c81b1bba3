//! Ownership of orders, over gRPC and through the REST gateway: a customer places orders only
//! for itself (its customer id filled in from its token when left out), reads, lists and
//! cancels only its own, and another customer's order is not found, exactly as an order that
//! does not exist; staff see and change every order.

use causeway_proto::{
    common::{CommandOptions, Consistency},
    orders::{
        CancelOrderRequest, GetOrderRequest, ListOrdersRequest, Order, OrderLine, OrderStatus,
        PlaceOrderRequest, order_commands_client::OrderCommandsClient,
        order_queries_client::OrderQueriesClient,
    },
};
use causeway_tests::{
    TestServer, command_id,
    gateway::TestGateway,
    tokens::{OwnKeys, authorized},
};
use serde_json::{Value, json};
use tonic::{Code, transport::Channel};

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
            sku: "kettle".into(),
            quantity: 1,
            unit_price_minor: 2999,
        }],
    }
}

fn cancel(order_id: &str) -> CancelOrderRequest {
    CancelOrderRequest {
        options: Some(CommandOptions {
            command_id: command_id(),
            ..CommandOptions::default()
        }),
        order_id: order_id.into(),
        reason: "changed my mind".into(),
    }
}

/// The gRPC side of one caller.
struct Orders {
    token: String,
    commands: OrderCommandsClient<Channel>,
    queries: OrderQueriesClient<Channel>,
}

impl Orders {
    fn new(channel: &Channel, token: String) -> Self {
        Self {
            token,
            commands: OrderCommandsClient::new(channel.clone()),
            queries: OrderQueriesClient::new(channel.clone()),
        }
    }

    /// Places an order naming `customer` ("" for none): its id and position.
    async fn place(&mut self, customer: &str) -> Result<(String, u64), tonic::Status> {
        let response = self
            .commands
            .place_order(authorized(place(customer), Some(&self.token)))
            .await?
            .into_inner();
        let position = response.ack.expect("an ack").position;
        Ok((response.order_id, position))
    }

    async fn get(&mut self, order_id: &str, at: u64) -> Result<Order, tonic::Status> {
        let request = GetOrderRequest {
            order_id: order_id.into(),
            consistency: Some(Consistency { min_position: at }),
            await_outcome: false,
            ..Default::default()
        };
        let response = self
            .queries
            .get_order(authorized(request, Some(&self.token)))
            .await?;
        Ok(response.into_inner().order.expect("an order"))
    }

    /// Ids of the orders listed, optionally asking for `customer`'s only.
    async fn list(&mut self, customer: &str, at: u64) -> Vec<String> {
        let request = ListOrdersRequest {
            customer_id: customer.into(),
            page_size: 500,
            consistency: Some(Consistency { min_position: at }),
            ..ListOrdersRequest::default()
        };
        let response = self
            .queries
            .list_orders(authorized(request, Some(&self.token)))
            .await
            .expect("listing is allowed");
        let mut ids: Vec<String> = response
            .into_inner()
            .orders
            .into_iter()
            .map(|o| o.order_id)
            .collect();
        ids.sort();
        ids
    }

    async fn cancel(&mut self, order_id: &str) -> Result<u64, tonic::Status> {
        let response = self
            .commands
            .cancel_order(authorized(cancel(order_id), Some(&self.token)))
            .await?;
        Ok(response.into_inner().ack.expect("an ack").position)
    }
}

/// `status`'s message with `id` replaced, to compare the answers about two ids.
fn without(status: &tonic::Status, id: &str) -> String {
    status.message().replace(id, "<id>")
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

#[tokio::test(flavor = "multi_thread")]
async fn a_customer_sees_and_changes_only_its_own_orders_over_grpc() {
    // Staff confirm by hand, and a refusal is shown to append nothing: fulfilment stays off.
    let server = TestServer::start_secured_without_fulfilment().await;
    let keys = OwnKeys::of_server(&server).await;
    let channel = server.channel().await;
    let mut ada = Orders::new(&channel, keys.token("ada", &["customer"]));
    let mut bob = Orders::new(&channel, keys.token("bob", &["customer"]));
    let mut staff = Orders::new(&channel, keys.token("sam", &["orders.staff"]));

    let (filled, _) = ada.place("").await.expect("customerId left out");
    let (named, _) = ada.place("ada").await.expect("customerId = itself");
    let before = server.event_store().head_position().await.unwrap();
    let other = ada.place("bob").await.expect_err("for another customer");
    assert_eq!(other.code(), Code::PermissionDenied, "{other:?}");
    assert_eq!(server.event_store().head_position().await.unwrap(), before);
    let (bobs, at) = bob.place("").await.expect("bob's own");

    for id in [&filled, &named] {
        let order = ada.get(id, at).await.expect("its own order");
        assert_eq!(order.customer_id, "ada", "filled in from the token");
    }
    assert_eq!(
        ada.list("", at).await,
        sorted(vec![filled.clone(), named.clone()])
    );
    assert_eq!(
        ada.list("bob", at).await,
        Vec::<String>::new(),
        "naming another customer lists nothing of theirs"
    );

    // Another customer's order is exactly as absent as one that does not exist.
    let hidden = ada.get(&bobs, at).await.expect_err("bob's order");
    let missing = ada.get("no-such-order", at).await.expect_err("no order");
    assert_eq!(hidden.code(), Code::NotFound, "{hidden:?}");
    assert_eq!(missing.code(), Code::NotFound);
    assert_eq!(without(&hidden, &bobs), without(&missing, "no-such-order"));
    let hidden = ada.cancel(&bobs).await.expect_err("cancel bob's order");
    let missing = ada
        .cancel("no-such-order")
        .await
        .expect_err("cancel nothing");
    assert_eq!(hidden.code(), Code::NotFound, "{hidden:?}");
    assert_eq!(without(&hidden, &bobs), without(&missing, "no-such-order"));

    let at = ada.cancel(&filled).await.expect("cancel its own");
    let order = ada.get(&filled, at).await.expect("its own order");
    assert_eq!(order.status, OrderStatus::Cancelled as i32);

    // Staff see every order and change any; bob's order was left alone by ada.
    let order = staff.get(&bobs, at).await.expect("staff read any order");
    assert_eq!(order.status, OrderStatus::Placed as i32);
    assert_eq!(
        staff.list("", at).await,
        sorted(vec![filled, named, bobs.clone()])
    );
    staff.cancel(&bobs).await.expect("staff cancel any order");
    let order = staff
        .place("")
        .await
        .expect_err("staff must name the customer");
    assert_eq!(order.code(), Code::InvalidArgument);
    staff.place("carol").await.expect("staff order for anyone");
}

/// One caller of the REST gateway.
struct Rest<'a> {
    gateway: &'a TestGateway,
    http: reqwest::Client,
    token: String,
}

impl Rest<'_> {
    /// Sends `method path` with `body` (and `x-min-position: at`); status and JSON body.
    async fn send(&self, method: &str, path: &str, body: Option<Value>, at: u64) -> (u16, Value) {
        let method = method.parse().expect("an HTTP method");
        let mut request = self
            .http
            .request(method, self.gateway.at(path))
            .header("authorization", format!("Bearer {}", self.token))
            .header("x-min-position", at.to_string());
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .header("idempotency-key", command_id())
                .body(body.to_string());
        }
        let response = request.send().await.expect("the gateway answers");
        let status = response.status().as_u16();
        let text = response.text().await.expect("a body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// Places an order with `body`: its id and position.
    async fn place(&self, body: Value) -> (String, u64) {
        let (status, body) = self.send("POST", "/v1/orders", Some(body), 0).await;
        assert_eq!(status, 200, "{body}");
        (
            body["orderId"].as_str().expect("an orderId").to_owned(),
            position(&body["ack"]["position"]),
        )
    }
}

/// A uint64 in proto3 JSON (a string, or a number).
fn position(value: &Value) -> u64 {
    value
        .as_str()
        .and_then(|s| s.parse().ok())
        .or_else(|| value.as_u64())
        .expect("a position")
}

fn order_body(customer: Option<&str>) -> Value {
    let mut body = json!({
        "currency": "EUR",
        "lines": [{"sku": "kettle", "quantity": 1, "unitPriceMinor": "2999"}],
    });
    if let Some(customer) = customer {
        body["customerId"] = json!(customer);
    }
    body
}

fn listed(body: &Value) -> Vec<String> {
    let mut ids: Vec<String> = body["orders"]
        .as_array()
        .map(|orders| {
            orders
                .iter()
                .filter_map(|o| o["orderId"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

#[tokio::test(flavor = "multi_thread")]
async fn a_customer_sees_and_changes_only_its_own_orders_over_rest() {
    // Staff confirm by hand, and a refusal is shown to append nothing: fulfilment stays off.
    let server = TestServer::start_secured_without_fulfilment().await;
    let keys = OwnKeys::of_server(&server).await;
    let gateway = TestGateway::start(&server).await;
    let caller = |subject: &str, role: &str| Rest {
        gateway: &gateway,
        http: reqwest::Client::new(),
        token: keys.token(subject, &[role]),
    };
    let (ada, bob, staff) = (
        caller("ada", "customer"),
        caller("bob", "customer"),
        caller("sam", "orders.staff"),
    );

    let (own, _) = ada.place(order_body(None)).await;
    let (named, _) = ada.place(order_body(Some("ada"))).await;
    let (status, body) = ada
        .send("POST", "/v1/orders", Some(order_body(Some("bob"))), 0)
        .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["status"], "PERMISSION_DENIED", "{body}");
    let (bobs, at) = bob.place(order_body(None)).await;

    let (status, body) = ada
        .send("GET", &format!("/v1/orders/{own}"), None, at)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["order"]["customerId"], "ada", "{body}");
    let (status, body) = ada.send("GET", "/v1/orders", None, at).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(listed(&body), sorted(vec![own.clone(), named.clone()]));

    let (status, body) = ada
        .send("GET", &format!("/v1/orders/{bobs}"), None, at)
        .await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = ada
        .send(
            "POST",
            &format!("/v1/orders/{bobs}:cancel"),
            Some(json!({})),
            at,
        )
        .await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = ada
        .send(
            "POST",
            &format!("/v1/orders/{own}:cancel"),
            Some(json!({})),
            at,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let at = position(&body["ack"]["position"]);

    let (status, body) = staff
        .send("GET", &format!("/v1/orders/{bobs}"), None, at)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["order"]["status"], "ORDER_STATUS_PLACED", "{body}");
    let (status, body) = staff.send("GET", "/v1/orders", None, at).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(listed(&body), sorted(vec![own, named, bobs]));
    gateway.stop().await;
}
