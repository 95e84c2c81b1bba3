//! Every route of the contracts, end to end: a real HTTP client -> the gateway -> a real
//! `causeway-server` on free loopback ports. The client records which route each request hit,
//! and the last test fails if any route of the annotated contracts went untested.

mod support;

use serde_json::json;
use support::{Http, Reply, Stack, key};

/// A command answer's `X-Position`, sent back as `X-Min-Position` so the next read sees the
/// write without polling.
fn at(reply: &Reply) -> String {
    reply
        .header("x-position")
        .expect("a command answers with X-Position")
        .to_owned()
}

/// A read's `ETag`, sent back as `If-Match`.
fn etag(reply: &Reply) -> String {
    reply
        .header("etag")
        .expect("a read answers with ETag")
        .to_owned()
}

async fn inventory(http: &Http) {
    let registered = http
        .post(
            "/v1/products",
            &[("idempotency-key", &key())],
            json!({"sku": "kettle", "name": "Kettle"}),
        )
        .await
        .expect(200);
    let ack = &registered.json["ack"];
    assert_eq!(ack["streamId"], "product-kettle");
    assert_eq!(ack["revision"], "0");
    assert_eq!(ack["deduplicated"], false);
    assert_eq!(ack["position"].as_str(), registered.header("x-position"));

    http.post(
        "/v1/products/kettle:receive",
        &[("idempotency-key", &key())],
        json!({"quantity": "10"}),
    )
    .await
    .expect(200);
    http.post(
        "/v1/products/kettle:reserve",
        &[("idempotency-key", &key())],
        json!({"quantity": "4", "reservationId": "r-1"}),
    )
    .await
    .expect(200);
    let released = http
        .post(
            "/v1/products/kettle:release",
            &[("idempotency-key", &key())],
            json!({"reservationId": "r-1", "quantity": "1"}),
        )
        .await
        .expect(200);

    let product = http
        .get("/v1/products/kettle", &[("x-min-position", &at(&released))])
        .await
        .expect(200);
    assert_eq!(
        product.json["product"],
        json!({"sku": "kettle", "name": "Kettle", "onHand": "10", "reserved": "3",
               "available": "7", "revision": "3"})
    );
    assert_eq!(etag(&product), "\"3\"");

    let low = http
        .get(
            &format!(
                "/v1/products?availableBelow=8&consistency.minPosition={}",
                at(&released)
            ),
            &[],
        )
        .await
        .expect(200);
    assert_eq!(low.json["products"][0]["sku"], "kettle");
    let none = http
        .get(
            "/v1/products?available_below=7",
            &[("x-min-position", &at(&released))],
        )
        .await
        .expect(200);
    assert_eq!(none.json["products"], json!([]));
    assert_eq!(none.json["nextPageToken"], "");
}

async fn orders(http: &Http) {
    let place = |customer: &str| {
        json!({"customerId": customer, "currency": "EUR",
               "lines": [{"sku": "kettle", "quantity": 2, "unitPriceMinor": "1250"}]})
    };
    let idempotency = key();
    let placed = http
        .post(
            "/v1/orders",
            &[("idempotency-key", &idempotency)],
            place("ada"),
        )
        .await
        .expect(200);
    let order_id = placed.json["orderId"].as_str().unwrap().to_owned();
    let again = http
        .post(
            "/v1/orders",
            &[("idempotency-key", &idempotency)],
            place("ada"),
        )
        .await
        .expect(200);
    assert_eq!(again.json["orderId"], order_id.as_str());
    assert_eq!(again.json["ack"]["deduplicated"], true);

    let read = http
        .get(
            &format!("/v1/orders/{order_id}"),
            &[("x-min-position", &at(&placed))],
        )
        .await
        .expect(200);
    assert_eq!(read.json["order"]["status"], "ORDER_STATUS_PLACED");
    assert_eq!(read.json["order"]["totalMinor"], "2500");
    assert_eq!(etag(&read), "\"0\"");

    let confirmed = http
        .post(
            &format!("/v1/orders/{order_id}:confirm"),
            &[("idempotency-key", &key()), ("if-match", &etag(&read))],
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(confirmed.json["ack"]["revision"], "1");
    let shipped = http
        .post(
            &format!("/v1/orders/{order_id}:ship"),
            &[("idempotency-key", &key())],
            json!({}),
        )
        .await
        .expect(200);

    let rejected = http
        .post("/v1/orders", &[("idempotency-key", &key())], place("ada"))
        .await
        .expect(200);
    let rejected_id = rejected.json["orderId"].as_str().unwrap().to_owned();
    http.post(
        &format!("/v1/orders/{rejected_id}:reject"),
        &[("idempotency-key", &key())],
        json!({"reason": "out of stock"}),
    )
    .await
    .expect(200);

    let cancelled = http
        .post("/v1/orders", &[("idempotency-key", &key())], place("ada"))
        .await
        .expect(200);
    let cancelled_id = cancelled.json["orderId"].as_str().unwrap().to_owned();
    let last = http
        .post(
            &format!("/v1/orders/{cancelled_id}:cancel"),
            &[("idempotency-key", &key())],
            json!({"reason": "changed my mind"}),
        )
        .await
        .expect(200);
    assert!(at(&last).parse::<u64>().unwrap() > at(&shipped).parse::<u64>().unwrap());

    let list = |status: &'static str| {
        let position = at(&last);
        async move {
            http.get(
                &format!("/v1/orders?customer_id=ada&status={status}"),
                &[("x-min-position", &position)],
            )
            .await
            .expect(200)
        }
    };
    let ids = |reply: &Reply| -> Vec<String> {
        reply.json["orders"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["orderId"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        ids(&list("ORDER_STATUS_SHIPPED").await),
        vec![order_id.clone()]
    );
    assert_eq!(ids(&list("ORDER_STATUS_REJECTED").await), vec![rejected_id]);
    assert_eq!(
        ids(&list("ORDER_STATUS_CANCELLED").await),
        vec![cancelled_id]
    );
    let page = http
        .get(
            "/v1/orders?customerId=ada&pageSize=2",
            &[("x-min-position", &at(&last))],
        )
        .await
        .expect(200);
    assert_eq!(page.json["orders"].as_array().unwrap().len(), 2);
    let token = page.json["nextPageToken"].as_str().unwrap();
    assert!(!token.is_empty());
    let token: String = form_urlencoded::byte_serialize(token.as_bytes()).collect();
    let rest = http
        .get(
            &format!("/v1/orders?customerId=ada&pageSize=2&pageToken={token}"),
            &[],
        )
        .await
        .expect(200);
    assert_eq!(rest.json["orders"].as_array().unwrap().len(), 1);
}

async fn users(http: &Http) {
    let registered = http
        .post(
            "/v1/users",
            &[("idempotency-key", &key())],
            json!({"email": "grace@example.com", "displayName": "Grace", "password": "correct horse"}),
        )
        .await
        .expect(200);
    let user_id = registered.json["userId"].as_str().unwrap().to_owned();
    for (verb, body) in [
        ("grantRole", json!({"role": "admin"})),
        ("grantRole", json!({"role": "ops"})),
        ("revokeRole", json!({"role": "admin"})),
    ] {
        http.post(
            &format!("/v1/users/{user_id}:{verb}"),
            &[("idempotency-key", &key())],
            body,
        )
        .await
        .expect(200);
    }
    let disabled = http
        .post(
            &format!("/v1/users/{user_id}:disable"),
            &[("idempotency-key", &key())],
            json!({"reason": "left"}),
        )
        .await
        .expect(200);

    let read = http
        .get(
            &format!("/v1/users/{user_id}"),
            &[("x-min-position", &at(&disabled))],
        )
        .await
        .expect(200);
    let user = &read.json["user"];
    assert_eq!(user["email"], "grace@example.com");
    assert_eq!(user["displayName"], "Grace");
    assert_eq!(user["roles"], json!(["ops"]));
    assert_eq!(user["disabled"], true);
    assert!(
        !read.text.contains("password") && !read.text.contains("argon"),
        "{}",
        read.text
    );
    assert_eq!(
        etag(&read),
        format!("\"{}\"", user["revision"].as_str().unwrap())
    );

    let found = http
        .get(
            "/v1/users:byEmail?email=grace%40example.com",
            &[("x-min-position", &at(&disabled))],
        )
        .await
        .expect(200);
    assert_eq!(found.json["user"]["userId"], user_id.as_str());
}

async fn admin(http: &Http) {
    let list = http.get("/v1/admin/projections", &[]).await.expect(200);
    let names: Vec<&str> = list.json["projections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    for name in ["orders", "products", "users"] {
        assert!(names.contains(&name), "{names:?}");
    }
    let rebuild = http
        .post("/v1/admin/projections/orders:rebuild", &[], json!({}))
        .await
        .expect(200);
    assert!(
        rebuild.json["generation"]
            .as_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    let unknown = http
        .post("/v1/admin/projections/nope:rebuild", &[], json!({}))
        .await
        .expect(400);
    assert_eq!(unknown.json["error"]["fieldViolations"][0]["field"], "name");
}

/// Signing in, and the keys that verify what signing in gives.
async fn sessions(http: &Http) {
    http.post(
        "/v1/users",
        &[("idempotency-key", &key())],
        json!({"email": "linus@example.com", "displayName": "Linus", "password": "correct horse"}),
    )
    .await
    .expect(200);
    let token = http
        .post(
            "/v1/sessions:login",
            &[],
            json!({"email": "linus@example.com", "password": "correct horse"}),
        )
        .await
        .expect(200);
    assert_eq!(token.json["tokenType"], "Bearer");
    assert_eq!(token.json["expiresIn"], "900");
    let access = token.json["accessToken"].as_str().unwrap();
    let kid = access.split('.').next().unwrap();
    let jwks = http.get("/.well-known/jwks.json", &[]).await.expect(200);
    let keys = jwks.json["keys"].as_array().unwrap();
    assert_eq!(keys[0]["kty"], "OKP");
    assert_eq!(keys[0]["alg"], "EdDSA");
    assert!(!kid.is_empty());
    let refused = http
        .post(
            "/v1/sessions:login",
            &[],
            json!({"email": "linus@example.com", "password": "wrong horse"}),
        )
        .await
        .expect(401);
    assert_eq!(refused.json["error"]["status"], "UNAUTHENTICATED");
}

/// History reads; the event stream's own behaviour is in tests/events.rs (a stream has no end
/// to wait for here), so only a refused subscription is sent through this client.
async fn events(http: &Http) {
    let product = http
        .get("/v1/streams/product-kettle?maxCount=1", &[])
        .await
        .expect(200);
    assert_eq!(product.json["events"][0]["revision"], "0");
    assert_eq!(
        product.json["events"][0]["payload"]["@type"],
        "type.googleapis.com/causeway.inventory.v1.ProductRegistered"
    );
    let placed = http
        .post(
            "/v1/orders",
            &[("idempotency-key", &key())],
            json!({"customerId": "ada", "currency": "EUR",
                   "lines": [{"sku": "kettle", "quantity": 1, "unitPriceMinor": "1250"}]}),
        )
        .await
        .expect(200);
    let order_id = placed.json["orderId"].as_str().unwrap();
    let history = http
        .get(&format!("/v1/orders/{order_id}/history"), &[])
        .await
        .expect(200);
    assert_eq!(history.json["endOfStream"], true);
    let recorded_at = history.json["events"][0]["recordedAt"].as_str().unwrap();
    for past in [
        "asOf.revision=0".to_owned(),
        format!("asOf.time={recorded_at}"),
    ] {
        let then = http
            .get(&format!("/v1/orders/{order_id}?{past}"), &[])
            .await
            .expect(200);
        assert_eq!(
            then.json["order"]["status"], "ORDER_STATUS_PLACED",
            "{past}"
        );
    }
    assert_eq!(
        history.json["events"][0]["eventType"],
        "causeway.orders.v1.OrderPlaced"
    );
    let refused = http
        .get("/v1/events:stream?category=not-a-category", &[])
        .await
        .expect(400);
    assert_eq!(
        refused.json["error"]["fieldViolations"][0]["field"],
        "category[0]"
    );
}

/// Fulfilment's route (this stack's server fulfils no orders): one nobody took on is 404.
async fn fulfilment(http: &Http) {
    let missing = http
        .get("/v1/fulfilments/no-such-order", &[])
        .await
        .expect(404);
    assert_eq!(
        missing.json["error"]["message"],
        "fulfilment of order no-such-order not found"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_route_of_the_contracts_works_through_the_gateway() {
    let stack = Stack::start().await;
    let http = &stack.http;
    inventory(http).await;
    orders(http).await;
    users(http).await;
    sessions(http).await;
    admin(http).await;
    fulfilment(http).await;
    events(http).await;
    let missed = http.routes_not_hit();
    assert!(missed.is_empty(), "routes no test exercised: {missed:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn healthz_and_openapi_are_served() {
    let stack = Stack::start().await;
    let health = stack.http.get("/healthz", &[]).await.expect(200);
    assert_eq!(health.json["status"], "SERVING");
    let doc = stack.http.get("/openapi.json", &[]).await.expect(200);
    assert_eq!(doc.header("content-type"), Some("application/json"));
    assert_eq!(doc.json["openapi"], "3.0.3");
    let paths = doc.json["paths"].as_object().unwrap();
    for route in [
        "/v1/orders",
        "/v1/orders/{order_id}:cancel",
        "/v1/users:byEmail",
    ] {
        assert!(
            paths.contains_key(route),
            "{route} missing from {:?}",
            paths.keys()
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn healthz_is_503_while_the_upstream_is_down() {
    // A port that was just free and is closed again: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let gateway = support::Gateway::start(&format!("http://127.0.0.1:{port}")).await;
    let http = Http::new(&gateway.url());
    let health = http.get("/healthz", &[]).await.expect(503);
    assert_eq!(health.json["status"], "UNREACHABLE");
}
