//! One gateway in front of a deployment split by role: real `causeway-server` processes of role
//! `command`, `query` and `projection` over one data directory (the embedded stores are shared
//! across processes), and a gateway that sends each service to the process of its role with
//! `--upstream-for`. Every route reaches a process that serves it, a write is read back through
//! another process, and `/healthz` names the upstream that was stopped.

use std::time::Duration;

use causeway_gateway::config::{Config, ServiceUpstream};
use causeway_server::{config::Role, grpc::roles::SERVICES};
use causeway_tests::{gateway::TestGateway, mongo::process::ServerProcess};
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

/// How long the processes and the gateway may take to report every upstream SERVING.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// The `--upstream-for` entries that send every service of `role` to `process`.
fn routed(role: Role, process: &ServerProcess) -> Vec<ServiceUpstream> {
    SERVICES
        .iter()
        .filter(|(_, r)| *r == role)
        .map(|(service, _)| ServiceUpstream {
            service: (*service).to_owned(),
            uri: process.url().parse().expect("a process url"),
        })
        .collect()
}

async fn healthz(http: &Client, gateway: &TestGateway) -> (StatusCode, Value) {
    let answer = http
        .get(gateway.at("/healthz"))
        .send()
        .await
        .expect("the gateway answers");
    let status = answer.status();
    (status, answer.json().await.expect("a JSON body"))
}

/// Waits (bounded) until `/healthz` answers `want`.
async fn wait_for_health(http: &Client, gateway: &TestGateway, want: StatusCode) -> Value {
    let deadline = tokio::time::Instant::now() + READY_TIMEOUT;
    loop {
        let (status, body) = healthz(http, gateway).await;
        if status == want {
            return body;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "/healthz never answered {want}: {status} {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A path of `template` (`/v1/orders/{order_id}:cancel`) with every variable filled in.
fn concrete(template: &str) -> String {
    let mut path = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        path.push_str(&rest[..open]);
        let close = rest[open..].find('}').map_or(rest.len(), |c| open + c + 1);
        path.push_str("split-1");
        rest = &rest[close..];
    }
    path.push_str(rest);
    path
}

/// Calls every route of the gateway's own OpenAPI document once and returns those answered by
/// a process that does not serve them (`UNIMPLEMENTED`) or by no process (`UNAVAILABLE`).
async fn misrouted(http: &Client, gateway: &TestGateway) -> Vec<String> {
    let doc: Value = http
        .get(gateway.at("/openapi.json"))
        .send()
        .await
        .expect("openapi")
        .json()
        .await
        .expect("JSON");
    let mut wrong = Vec::new();
    let mut calls = 0;
    for (template, operations) in doc["paths"].as_object().expect("paths") {
        for method in operations.as_object().expect("operations").keys() {
            let method: Method = method.to_uppercase().parse().expect("a method");
            let mut request = http
                .request(method.clone(), gateway.at(&concrete(template)))
                .header("idempotency-key", format!("split-{calls}"));
            if method != Method::GET && method != Method::DELETE {
                request = request.json(&json!({}));
            }
            calls += 1;
            let answer = request
                .timeout(Duration::from_secs(5))
                .send()
                .await
                .expect("an answer");
            let status = answer.status();
            if status == StatusCode::NOT_IMPLEMENTED || status == StatusCode::SERVICE_UNAVAILABLE {
                let body = answer.text().await.unwrap_or_default();
                wrong.push(format!("{method} {template}: {status} {body}"));
            }
        }
    }
    assert!(calls > 20, "only {calls} routes in /openapi.json");
    wrong
}

#[tokio::test(flavor = "multi_thread")]
async fn one_gateway_fronts_command_query_and_projection_processes_and_names_a_stopped_one() {
    let data = tempfile::tempdir().expect("temp dir");
    let command = ServerProcess::start_with("command", data.path(), &[], None);
    let query = ServerProcess::start_with("query", data.path(), &[], None);
    let projection = ServerProcess::start_with("projection", data.path(), &[], None);
    for process in [&command, &query, &projection] {
        process.channel().await;
    }
    let mut config = Config::with_upstream(command.url().parse().expect("url"));
    config.upstream_for = [
        routed(Role::Query, &query),
        routed(Role::Projection, &projection),
    ]
    .concat();
    let gateway = TestGateway::start_with(config).await;
    let http = Client::new();

    let body = wait_for_health(&http, &gateway, StatusCode::OK).await;
    assert_eq!(
        body["upstreams"]["default"]["target"],
        format!("{}/", command.url())
    );
    assert_eq!(
        body["upstreams"]["causeway.orders.v1.OrderQueries"]["target"],
        format!("{}/", query.url())
    );
    assert_eq!(
        body["upstreams"]["causeway.admin.v1.ProjectionAdmin"]["status"],
        "SERVING"
    );

    let wrong = misrouted(&http, &gateway).await;
    assert!(wrong.is_empty(), "routes not served: {wrong:#?}");

    // A write through the command process, read back through the query process once the
    // projection process has applied it.
    let registered = http
        .post(gateway.at("/v1/products"))
        .header("idempotency-key", "split-product")
        .json(&json!({"sku": "kettle", "name": "Kettle"}))
        .send()
        .await
        .expect("register");
    assert_eq!(registered.status(), StatusCode::OK);
    let position = registered
        .headers()
        .get("x-position")
        .expect("X-Position")
        .to_str()
        .expect("text")
        .to_owned();
    let product: Value = http
        .get(gateway.at("/v1/products/kettle"))
        .header("x-min-position", position)
        .send()
        .await
        .expect("read")
        .json()
        .await
        .expect("JSON");
    assert_eq!(product["product"]["name"], "Kettle", "{product}");

    query.kill();
    let body = wait_for_health(&http, &gateway, StatusCode::SERVICE_UNAVAILABLE).await;
    let message = body["message"].as_str().expect("a message");
    assert!(
        message.contains("causeway.orders.v1.OrderQueries"),
        "{message}"
    );
    assert!(!message.contains("default"), "{message}");
    assert_eq!(
        body["upstreams"]["causeway.orders.v1.OrderQueries"]["status"],
        "UNREACHABLE"
    );
    assert_eq!(body["upstreams"]["default"]["status"], "SERVING");
    gateway.stop().await;
}
