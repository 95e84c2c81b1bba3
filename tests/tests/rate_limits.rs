//! Calls per principal: one caller over its budget is refused with `RESOURCE_EXHAUSTED` and a
//! `google.rpc.RetryInfo` (429 with `Retry-After` through the gateway) while another caller of
//! the same class, measured in the same test, never is; anonymous calls (public RPCs such as
//! Login) have a bucket of their own; health checks are never limited; refusals are counted in
//! `causeway_throttled_calls_total` by class.

use std::time::Duration;

use causeway_client::{
    identity::{LoginRequest, sessions_client::SessionsClient},
    orders::{ListOrdersRequest, order_queries_client::OrderQueriesClient},
};
use causeway_server::{auth::limits::RateLimits, config::Config};
use causeway_tests::{
    TestServer,
    gateway::TestGateway,
    tokens::{OwnKeys, authorized},
};
use tonic::{Code, Status, transport::Channel};
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
use tonic_types::StatusExt;

/// Five calls an hour per customer, three per anonymous caller, none refused otherwise: what
/// a test can spend without a bucket refilling while it runs.
async fn limited_server() -> TestServer {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let mut config = Config::with_data_dir(data_dir.path());
    config.rate_limits = RateLimits {
        rate_limit_customer: "5/h".parse().expect("a rate"),
        rate_limit_anonymous: "3/h".parse().expect("a rate"),
        ..RateLimits::OFF
    };
    let server = TestServer::start_with_metrics(config, data_dir).await;
    // Health checks are never limited: wait on them as long as it takes.
    let mut health = HealthClient::new(server.channel().await);
    tokio::time::timeout(Duration::from_secs(30), async {
        while health.check(HealthCheckRequest::default()).await.is_err() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the server answers within 30 s");
    server
}

fn customer_token(server: &TestServer, subject: &str) -> String {
    OwnKeys::of(server.data_dir()).token(subject, &["customer"])
}

/// One page of `token`'s orders.
async fn list_orders(channel: &Channel, token: &str) -> Result<(), Status> {
    OrderQueriesClient::new(channel.clone())
        .list_orders(authorized(ListOrdersRequest::default(), Some(token)))
        .await
        .map(drop)
}

/// The delay a refusal asks for.
fn retry_delay(status: &Status) -> Duration {
    status
        .get_details_retry_info()
        .and_then(|info| info.retry_delay)
        .expect("a RetryInfo with a delay")
}

async fn metrics(server: &TestServer) -> String {
    let url = format!("http://{}/metrics", server.metrics_addr().expect("metrics"));
    reqwest::get(url)
        .await
        .expect("GET /metrics")
        .text()
        .await
        .expect("the exposition")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_principal_over_its_budget_is_throttled_while_another_keeps_calling() {
    let server = limited_server().await;
    let channel = server.channel().await;
    let (ada, bob) = (
        customer_token(&server, "ada"),
        customer_token(&server, "bob"),
    );

    // Ada spends her five calls, then is refused; Bob calls between hers (five in all, with
    // the one after the logins below: his whole budget).
    let mut bob_refusals = Vec::new();
    let mut ada_refused = None;
    for call in 1..=6 {
        match list_orders(&channel, &ada).await {
            Ok(()) => assert!(call <= 5, "Ada's call {call} was over her budget"),
            Err(status) => {
                assert_eq!(call, 6, "Ada was refused early: {status:?}");
                ada_refused = Some(status);
            }
        }
        if call <= 4
            && let Err(status) = list_orders(&channel, &bob).await
        {
            bob_refusals.push(status);
        }
    }
    let refused = ada_refused.expect("Ada's sixth call is refused");
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    // A call comes back every 12 minutes.
    let delay = retry_delay(&refused);
    assert!(
        delay > Duration::ZERO && delay <= Duration::from_secs(12 * 60),
        "{delay:?}"
    );

    // Anonymous calls to public RPCs such as Login share the anonymous bucket, not Ada's or
    // Bob's: three wrong logins are answered, the fourth is refused before it is checked.
    let mut sessions = SessionsClient::new(channel.clone());
    let login = |n: u32| LoginRequest {
        email: format!("nobody{n}@example.com"),
        password: "not the password".into(),
    };
    for n in 1..=3 {
        let answered = sessions.login(login(n)).await.unwrap_err();
        assert_eq!(
            answered.code(),
            Code::Unauthenticated,
            "login {n}: {answered:?}"
        );
    }
    let anonymous = sessions.login(login(4)).await.unwrap_err();
    assert_eq!(anonymous.code(), Code::ResourceExhausted, "{anonymous:?}");
    retry_delay(&anonymous);

    if let Err(status) = list_orders(&channel, &bob).await {
        bob_refusals.push(status);
    }
    assert!(bob_refusals.is_empty(), "Bob was refused: {bob_refusals:?}");

    // Health checks are never limited, however often they come.
    let mut health = HealthClient::new(channel.clone());
    for _ in 0..10 {
        health
            .check(HealthCheckRequest::default())
            .await
            .expect("health is not limited");
    }

    let exposition = metrics(&server).await;
    for expected in [
        "causeway_throttled_calls_total{class=\"customer\",limit=\"rate\"} 1",
        "causeway_throttled_calls_total{class=\"anonymous\",limit=\"rate\"} 1",
    ] {
        assert!(
            exposition.contains(expected),
            "{expected} missing:\n{exposition}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn over_rest_a_throttled_call_is_429_with_retry_after() {
    let server = limited_server().await;
    let running = TestGateway::start(&server).await;
    let gateway = running.url.clone();
    let (cy, dee) = (
        customer_token(&server, "cy"),
        customer_token(&server, "dee"),
    );
    let http = reqwest::Client::new();
    let list = |token: &str| {
        http.get(format!("{gateway}/v1/orders"))
            .bearer_auth(token)
            .send()
    };
    for call in 1..=5 {
        let answer = list(&cy).await.expect("GET");
        assert_eq!(
            answer.status(),
            200,
            "call {call}: {:?}",
            answer.text().await
        );
        let other = list(&dee).await.expect("GET");
        assert_eq!(other.status(), 200, "Dee's call {call}");
    }
    let throttled = list(&cy).await.expect("GET");
    assert_eq!(throttled.status(), 429);
    let seconds: u64 = throttled.headers()["retry-after"]
        .to_str()
        .expect("ASCII")
        .parse()
        .expect("whole seconds");
    assert!((1..=12 * 60).contains(&seconds), "Retry-After: {seconds}");
    let body: serde_json::Value =
        serde_json::from_str(&throttled.text().await.expect("body")).expect("JSON");
    assert_eq!(body["error"]["status"], "RESOURCE_EXHAUSTED", "{body}");
    running.stop().await;
}
