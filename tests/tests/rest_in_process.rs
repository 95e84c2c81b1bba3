//! The REST routes a server serves itself (`--rest-listen`): the gateway's router calling the
//! server's own services in-process. Over real HTTP on 127.0.0.1 against a server that
//! authenticates, as in production: the same answers as gRPC gives (a command's ack, a refusal's
//! field violations), the same security (401 with the bearer challenge, 403 for a missing
//! role), health and the OpenAPI document; and the gRPC listener keeps working beside it.

use causeway_client::inventory::{
    GetProductRequest, inventory_queries_client::InventoryQueriesClient,
};
use causeway_server::config::Config;
use causeway_tests::{TestServer, tokens::OwnKeys, without_fulfilment};
use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};

async fn secured() -> (TestServer, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = without_fulfilment(Config::with_data_dir(dir.path()));
    let server = TestServer::start_with_rest(config, dir).await;
    // The health check answers once the server has made its signing keys.
    let rest = server.rest_url().expect("a REST listener");
    let http = Client::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        if let Ok(reply) = http.get(format!("{rest}/healthz")).send().await
            && reply.status() == StatusCode::OK
        {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the REST routes never answered"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    (server, rest)
}

async fn json_of(reply: Response) -> (StatusCode, Value, Option<String>) {
    let status = reply.status();
    let challenge = reply
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = reply.text().await.expect("body");
    let value = serde_json::from_str(&body).unwrap_or(Value::String(body));
    (status, value, challenge)
}

#[tokio::test(flavor = "multi_thread")]
async fn commands_and_queries_answer_over_rest_in_the_server_as_over_grpc() {
    let (server, rest) = secured().await;
    let keys = OwnKeys::of_server(&server).await;
    let staff = format!("Bearer {}", keys.token("ops", &["inventory.staff"]));
    let http = Client::new();

    let registered = http
        .post(format!("{rest}/v1/products"))
        .header("authorization", &staff)
        .json(&json!({"options": {"commandId": "rest-1"}, "sku": "kettle", "name": "Kettle"}))
        .send()
        .await
        .expect("register");
    let (status, body, _) = json_of(registered).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["ack"]["streamId"], "product-kettle", "{body}");
    assert_eq!(body["ack"]["revision"], "0", "{body}");

    let received = http
        .post(format!("{rest}/v1/products/kettle:receive"))
        .header("authorization", &staff)
        .json(&json!({"options": {"commandId": "rest-2"}, "quantity": "7"}))
        .send()
        .await
        .expect("receive");
    let (status, body, _) = json_of(received).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let position: u64 = body["ack"]["position"]
        .as_str()
        .and_then(|p| p.parse().ok())
        .expect("a position");

    // What REST wrote, gRPC reads (read-your-writes on the ack's position), and REST too.
    let mut request = tonic::Request::new(GetProductRequest {
        sku: "kettle".into(),
        consistency: Some(causeway_client::common::Consistency {
            min_position: position,
        }),
        ..GetProductRequest::default()
    });
    request
        .metadata_mut()
        .insert("authorization", staff.parse().expect("metadata"));
    let product = InventoryQueriesClient::new(server.channel().await)
        .get_product(request)
        .await
        .expect("gRPC query")
        .into_inner()
        .product
        .expect("a product");
    assert_eq!(product.on_hand, 7);
    let read = http
        .get(format!("{rest}/v1/products/kettle"))
        .header("authorization", &staff)
        .send()
        .await
        .expect("query");
    let (status, body, _) = json_of(read).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["product"]["onHand"], "7", "{body}");

    // A malformed request names its fields, as the gateway does.
    let refused = http
        .post(format!("{rest}/v1/products/kettle:receive"))
        .header("authorization", &staff)
        .json(&json!({"options": {"commandId": "rest-3"}, "quantity": "0"}))
        .send()
        .await
        .expect("refused");
    let (status, body, _) = json_of(refused).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["status"], "INVALID_ARGUMENT", "{body}");
    assert_eq!(
        body["error"]["fieldViolations"][0]["field"], "quantity",
        "{body}"
    );

    let openapi = http
        .get(format!("{rest}/openapi.json"))
        .send()
        .await
        .expect("openapi");
    let (status, body, _) = json_of(openapi).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body["paths"]["/v1/products/{sku}:receive"].is_object(),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn rest_in_the_server_checks_callers_exactly_like_grpc() {
    let (server, rest) = secured().await;
    let keys = OwnKeys::of_server(&server).await;
    let http = Client::new();
    let product = json!({"options": {"commandId": "rest-1"}, "sku": "kettle", "name": "Kettle"});

    let anonymous = http
        .post(format!("{rest}/v1/products"))
        .json(&product)
        .send()
        .await
        .expect("anonymous");
    let (status, body, challenge) = json_of(anonymous).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(challenge.as_deref(), Some("Bearer realm=\"causeway\""));

    let customer = format!("Bearer {}", keys.token("ada", &["customer"]));
    let forbidden = http
        .post(format!("{rest}/v1/products"))
        .header("authorization", &customer)
        .json(&product)
        .send()
        .await
        .expect("forbidden");
    let (status, body, _) = json_of(forbidden).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["status"], "PERMISSION_DENIED", "{body}");

    // Nothing was written by the refused calls.
    let store = server.event_store();
    assert!(
        store
            .read_stream("product-kettle", 0)
            .await
            .unwrap()
            .is_empty()
    );
}
