//! The error mapping, row by row: every gRPC status code through a probe upstream that answers
//! whichever code it is asked for, then the codes the real server produces, each from the
//! situation that produces it. Every error body has the same shape.

use crate::support;

use causeway_gateway::config::Config;
use serde_json::json;
use std::time::Duration;
use support::{
    Gateway, Http, Reply, Stack, key,
    probe::{Annotations, Probe, compile},
};

/// The documented table: gRPC code number, name, HTTP status.
const TABLE: [(i32, &str, u16); 17] = [
    (0, "OK", 200),
    (1, "CANCELLED", 499),
    (2, "UNKNOWN", 500),
    (3, "INVALID_ARGUMENT", 400),
    (4, "DEADLINE_EXCEEDED", 504),
    (5, "NOT_FOUND", 404),
    (6, "ALREADY_EXISTS", 409),
    (7, "PERMISSION_DENIED", 403),
    (8, "RESOURCE_EXHAUSTED", 429),
    (9, "FAILED_PRECONDITION", 409),
    (10, "ABORTED", 409),
    (11, "OUT_OF_RANGE", 400),
    (12, "UNIMPLEMENTED", 501),
    (13, "INTERNAL", 500),
    (14, "UNAVAILABLE", 503),
    (15, "DATA_LOSS", 500),
    (16, "UNAUTHENTICATED", 401),
];

#[track_caller]
fn assert_error(reply: &Reply, http: u16, status: &str) {
    assert_eq!(reply.status.as_u16(), http, "{}", reply.text);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let error = &reply.json["error"];
    assert_eq!(error["code"], http, "{}", reply.text);
    assert_eq!(error["status"], status, "{}", reply.text);
    assert!(
        error["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{}",
        reply.text
    );
    assert!(error["fieldViolations"].is_array(), "{}", reply.text);
}

#[tokio::test(flavor = "multi_thread")]
async fn every_grpc_code_maps_to_its_documented_http_status() {
    let pool = compile(&Annotations::all());
    let probe = Probe::start(&pool).await;
    let gateway = Gateway::start_with(support::config(&probe.url()), pool).await;
    let http = Http::new(&gateway.url());
    for (number, name, status) in TABLE {
        let reply = http.get(&format!("/v1/fail/{number}"), &[]).await;
        if number == 0 {
            assert_eq!(reply.expect(200).json, json!({}));
            continue;
        }
        assert_error(&reply, status, name);
        if name == "INVALID_ARGUMENT" {
            // The server names `detail.field_name`; REST clients see the JSON name.
            assert_eq!(
                reply.json["error"]["fieldViolations"],
                json!([{"field": "detail.fieldName", "description": "is wrong"}])
            );
        }
    }
    assert_eq!(probe.calls(), TABLE.len());
}

fn order(lines: serde_json::Value) -> serde_json::Value {
    json!({"customerId": "ada", "currency": "EUR", "lines": lines})
}

#[tokio::test(flavor = "multi_thread")]
async fn the_real_servers_errors_map_row_by_row() {
    let stack = Stack::start().await;
    let http = &stack.http;
    let line = json!([{"sku": "kettle", "quantity": 1, "unitPriceMinor": "100"}]);

    // INVALID_ARGUMENT -> 400, with the fields in proto3 JSON names.
    let invalid = http
        .post(
            "/v1/orders",
            &[("idempotency-key", &key())],
            order(json!([{"sku": "kettle", "quantity": 1, "unitPriceMinor": "-1"}])),
        )
        .await;
    assert_error(&invalid, 400, "INVALID_ARGUMENT");
    assert_eq!(
        invalid.json["error"]["fieldViolations"][0]["field"],
        "lines[0].unitPriceMinor"
    );
    // A REST caller sends no `options`: the gateway asks for the header that sets it.
    let no_key = http.post("/v1/orders", &[], order(line.clone())).await;
    assert_error(&no_key, 400, "INVALID_ARGUMENT");
    assert_eq!(
        no_key.json["error"]["fieldViolations"][0]["field"],
        "Idempotency-Key"
    );

    // NOT_FOUND -> 404.
    let missing = http.get(&format!("/v1/orders/{}", key()), &[]).await;
    assert_error(&missing, 404, "NOT_FOUND");

    // FAILED_PRECONDITION -> 409: a shipped order cannot be cancelled.
    let placed = http
        .post(
            "/v1/orders",
            &[("idempotency-key", &key())],
            order(line.clone()),
        )
        .await
        .expect(200);
    let id = placed.json["orderId"].as_str().unwrap().to_owned();
    for verb in ["confirm", "ship"] {
        http.post(
            &format!("/v1/orders/{id}:{verb}"),
            &[("idempotency-key", &key())],
            json!({}),
        )
        .await
        .expect(200);
    }
    let forbidden = http
        .post(
            &format!("/v1/orders/{id}:cancel"),
            &[("idempotency-key", &key())],
            json!({"reason": "too late"}),
        )
        .await;
    assert_error(&forbidden, 409, "FAILED_PRECONDITION");

    // ABORTED -> 409 when the body named the revision, 412 when If-Match did.
    let stale_body = http
        .post(
            &format!("/v1/orders/{id}:ship"),
            &[],
            json!({"options": {"commandId": key(), "expectedRevision": "0"}}),
        )
        .await;
    assert_error(&stale_body, 409, "ABORTED");
    let stale_etag = http
        .post(
            &format!("/v1/orders/{id}:ship"),
            &[("idempotency-key", &key()), ("if-match", "\"0\"")],
            json!({}),
        )
        .await;
    assert_error(&stale_etag, 412, "ABORTED");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_read_model_that_does_not_reach_the_position_in_time_is_504() {
    let stack = Stack::start_with(|config| Config {
        timeout: Duration::from_secs(1),
        ..config
    })
    .await;
    let reply = stack
        .http
        .get("/v1/products/kettle", &[("x-min-position", "1000000")])
        .await;
    assert_error(&reply, 504, "DEADLINE_EXCEEDED");
    assert!(
        reply.json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("1000000"),
        "{}",
        reply.text
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_upstream_is_503_without_its_address() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let gateway = Gateway::start(&format!("http://127.0.0.1:{port}")).await;
    let http = Http::new(&gateway.url());
    let reply = http
        .post(
            "/v1/orders",
            &[("idempotency-key", &key())],
            order(json!([])),
        )
        .await;
    assert_error(&reply, 503, "UNAVAILABLE");
    assert!(!reply.text.contains(&port.to_string()), "{}", reply.text);
}

#[tokio::test(flavor = "multi_thread")]
async fn requests_the_gateway_refuses_never_reach_the_upstream() {
    let pool = compile(&Annotations::all());
    let probe = Probe::start(&pool).await;
    let gateway = Gateway::start_with(
        Config {
            max_body_bytes: 1024,
            ..support::config(&probe.url())
        },
        pool,
    )
    .await;
    let http = Http::new(&gateway.url());
    let post = |body: &'static str| {
        let http = http.clone();
        async move {
            http.send(
                reqwest::Method::POST,
                "/v1/echo/bob:shout",
                &[],
                Some(body.to_owned()),
            )
            .await
        }
    };

    for (body, says) in [
        (r#"{"mood":"#, "invalid JSON"),
        (r#"{"colour":"red"}"#, "colour"),
        (r#"{"big":true}"#, "invalid JSON"),
        (r#"{"big":"99999999999999999999"}"#, "invalid JSON"),
        (r#"{"mood":"MOOD_ANGRY"}"#, "MOOD_ANGRY"),
        (r#"{"tags":"x"}"#, "invalid JSON"),
        (r#"[]"#, "invalid JSON"),
        (r#"{"target":{"name":"eve"}}"#, "path"),
    ] {
        let reply = post(body).await;
        assert_error(&reply, 400, "INVALID_ARGUMENT");
        assert!(reply.text.contains(says), "{body}: {}", reply.text);
    }

    let big = format!(r#"{{"tags":["{}"]}}"#, "x".repeat(2048));
    let reply = http
        .send(reqwest::Method::POST, "/v1/echo/bob:shout", &[], Some(big))
        .await;
    assert_error(&reply, 413, "INVALID_ARGUMENT");
    assert_eq!(chunked_upload_status(&gateway, 2048).await, 413);

    let reply = http
        .send(
            reqwest::Method::POST,
            "/v1/echo/bob:shout",
            &[("content-type", "text/plain")],
            None,
        )
        .await;
    // No body at all is fine (an empty message); a non-JSON body is not.
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text);
    let calls_before = probe.calls();
    let client = reqwest::Client::new();
    let plain = client
        .post(format!("{}/v1/echo/bob:shout", gateway.url()))
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status().as_u16(), 415);

    let reply = http.get("/v1/nothing", &[]).await;
    assert_error(&reply, 404, "NOT_FOUND");
    let reply = http
        .send(reqwest::Method::DELETE, "/v1/echo/bob:shout", &[], None)
        .await;
    assert_error(&reply, 405, "UNIMPLEMENTED");
    assert_eq!(reply.header("allow"), Some("POST"));
    let reply = http.get("/v1/fail/three", &[]).await;
    assert_error(&reply, 400, "INVALID_ARGUMENT");
    assert!(reply.text.contains("path parameter code"), "{}", reply.text);
    let reply = http
        .get("/v1/fail/3?detail.fieldName=x&colour=red", &[])
        .await;
    assert_error(&reply, 400, "INVALID_ARGUMENT");
    assert!(reply.text.contains("colour"), "{}", reply.text);
    let reply = http
        .send(
            reqwest::Method::POST,
            "/v1/echo/bob:shout?mood=MOOD_LOUD",
            &[],
            Some("{}".into()),
        )
        .await;
    assert_error(&reply, 400, "INVALID_ARGUMENT");
    let reply = http
        .send(reqwest::Method::GET, "/v1/hold", &[], Some("{}".into()))
        .await;
    assert_error(&reply, 400, "INVALID_ARGUMENT");
    let reply = http
        .post("/v1/echo/bob:shout", &[("if-match", "\"1\"")], json!({}))
        .await;
    assert_error(&reply, 400, "INVALID_ARGUMENT");

    assert_eq!(
        probe.calls(),
        calls_before,
        "a refused request reached the upstream"
    );
}

/// Sends a body of `size` bytes with chunked transfer encoding (no Content-Length, so only the
/// streaming limit can catch it) over a raw connection; returns the status code.
async fn chunked_upload_status(gateway: &Gateway, size: usize) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(gateway.addr).await.unwrap();
    let head = format!(
        "POST /v1/echo/bob:shout HTTP/1.1\r\nhost: {}\r\ncontent-type: application/json\r\n\
         transfer-encoding: chunked\r\nconnection: close\r\n\r\n",
        gateway.addr
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let chunk = vec![b' '; 256];
    for _ in 0..size.div_ceil(chunk.len()) {
        let frame = format!("{:x}\r\n", chunk.len());
        // The gateway may answer and close before the whole body is sent.
        if stream.write_all(frame.as_bytes()).await.is_err()
            || stream.write_all(&chunk).await.is_err()
            || stream.write_all(b"\r\n").await.is_err()
        {
            break;
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer)).await;
    let text = String::from_utf8_lossy(&answer);
    text.split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"))
}
