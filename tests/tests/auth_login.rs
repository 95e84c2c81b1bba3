//! Signing in with Causeway as the issuer, over gRPC and through the REST gateway: the right
//! password gets a token with the user's id, roles and the server's tenant; a wrong password,
//! an unknown email and a disabled account get one and the same refusal; five failures lock
//! the email out with `RESOURCE_EXHAUSTED` and `RetryInfo` (429); and a disabled user's token
//! stops working once the users read model has applied the change.

use std::time::{Duration, Instant};

use causeway_proto::{
    common::CommandOptions,
    identity::{
        DisableUserRequest, GrantRoleRequest, LoginRequest, LoginResponse, RegisterUserRequest,
        identity_commands_client::IdentityCommandsClient, sessions_client::SessionsClient,
    },
    orders::{
        ListOrdersRequest, OrderLine, PlaceOrderRequest,
        order_commands_client::OrderCommandsClient, order_queries_client::OrderQueriesClient,
    },
};
use causeway_server::{config::Config, identity::login::MAX_FAILURES, kernel::EventMetadata};
use causeway_tests::{
    TestServer, command_id,
    gateway::TestGateway,
    tokens::{OwnKeys, authorized, claims_of},
};
use serde_json::json;
use tonic::{Code, transport::Channel};
use tonic_types::StatusExt;

const TENANT: &str = "acme";
/// The one refusal of a login that does not hold.
const REFUSAL: &str = "wrong email or password, or the account is disabled";

fn options() -> Option<CommandOptions> {
    Some(CommandOptions {
        command_id: command_id(),
        ..CommandOptions::default()
    })
}

/// A secured server issuing tokens for tenant [`TENANT`], and an identity admin's token.
async fn server() -> (TestServer, String) {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let mut config = Config::with_data_dir(data_dir.path());
    config.tenant = Some(TENANT.into());
    let server = TestServer::start_with(config, data_dir).await;
    let admin = OwnKeys::of_server(&server)
        .await
        .token("ops", &["identity.admin"]);
    (server, admin)
}

/// Registers `email` with `password` and grants it `customer`: the user id.
async fn customer(channel: &Channel, admin: &str, email: &str, password: &str) -> String {
    let mut identity = IdentityCommandsClient::new(channel.clone());
    let request = RegisterUserRequest {
        options: options(),
        email: email.into(),
        display_name: "Someone".into(),
        password: password.into(),
    };
    let user_id = identity
        .register_user(authorized(request, Some(admin)))
        .await
        .expect("registered")
        .into_inner()
        .user_id;
    let grant = GrantRoleRequest {
        options: options(),
        user_id: user_id.clone(),
        role: "customer".into(),
    };
    identity
        .grant_role(authorized(grant, Some(admin)))
        .await
        .expect("granted");
    user_id
}

async fn login(
    channel: &Channel,
    email: &str,
    password: &str,
) -> Result<LoginResponse, tonic::Status> {
    let request = LoginRequest {
        email: email.into(),
        password: password.into(),
    };
    // Login is public: no token.
    Ok(SessionsClient::new(channel.clone())
        .login(request)
        .await?
        .into_inner())
}

fn order() -> PlaceOrderRequest {
    PlaceOrderRequest {
        options: options(),
        currency: "EUR".into(),
        lines: vec![OrderLine {
            sku: "kettle".into(),
            quantity: 1,
            unit_price_minor: 2999,
        }],
        ..PlaceOrderRequest::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_right_password_gets_a_token_that_speaks_for_the_user() {
    let (server, admin) = server().await;
    let channel = server.channel().await;
    let ada = customer(&channel, &admin, "ada@example.com", "correct horse").await;

    let session = login(&channel, "ada@example.com", "correct horse")
        .await
        .expect("signed in");
    assert_eq!(session.token_type, "Bearer");
    assert_eq!(session.expires_in, 15 * 60, "the default lifetime");
    let claims = claims_of(&session.access_token);
    assert_eq!(claims["sub"], json!(ada));
    assert_eq!(claims["roles"], json!(["customer"]));
    assert_eq!(claims["tenant"], json!(TENANT));
    assert_eq!(claims["iss"], json!("causeway"));
    assert_eq!(
        claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
        15 * 60
    );

    // The token works, as the user: the order is hers and the events say who and for whom.
    let placed = OrderCommandsClient::new(channel.clone())
        .place_order(authorized(order(), Some(&session.access_token)))
        .await
        .expect("a customer orders")
        .into_inner();
    let events = server
        .event_store()
        .read_stream(&format!("order-{}", placed.order_id), 0)
        .await
        .expect("read");
    let metadata = EventMetadata::from_json(&events[0].metadata).expect("metadata");
    assert_eq!(metadata.actor.as_deref(), Some(ada.as_str()));
    assert_eq!(metadata.tenant.as_deref(), Some(TENANT));

    // Wrong password and unknown email: the same refusal.
    for (email, password) in [
        ("ada@example.com", "wrong horse"),
        ("nobody@example.com", "correct horse"),
    ] {
        let refused = login(&channel, email, password).await.expect_err("refused");
        assert_eq!(refused.code(), Code::Unauthenticated, "{refused:?}");
        assert_eq!(refused.message(), REFUSAL);
        assert!(!refused.message().contains(password));
    }
    let invalid = login(&channel, "not an email", "x")
        .await
        .expect_err("invalid");
    assert_eq!(invalid.code(), Code::InvalidArgument);
}

#[tokio::test(flavor = "multi_thread")]
async fn five_failures_lock_the_email_out_with_retry_info() {
    let (server, admin) = server().await;
    let channel = server.channel().await;
    customer(&channel, &admin, "grace@example.com", "right password").await;
    customer(&channel, &admin, "linus@example.com", "his password").await;

    for attempt in 1..=MAX_FAILURES {
        let refused = login(&channel, "grace@example.com", "a wrong guess")
            .await
            .expect_err("wrong");
        assert_eq!(refused.code(), Code::Unauthenticated, "attempt {attempt}");
    }
    // Now even the right password is refused without being checked, saying when to retry.
    let throttled = login(&channel, "grace@example.com", "right password")
        .await
        .expect_err("locked out");
    assert_eq!(throttled.code(), Code::ResourceExhausted, "{throttled:?}");
    let retry = throttled
        .get_details_retry_info()
        .and_then(|info| info.retry_delay)
        .expect("RetryInfo with a delay");
    assert!(
        retry > Duration::ZERO && retry <= Duration::from_secs(15 * 60),
        "{retry:?}"
    );
    // Per email: another user is not locked out.
    login(&channel, "linus@example.com", "his password")
        .await
        .expect("another email signs in");
}

#[tokio::test(flavor = "multi_thread")]
async fn guesses_sent_at_once_are_throttled_as_if_sent_one_by_one() {
    let (server, admin) = server().await;
    let channel = server.channel().await;
    customer(&channel, &admin, "grace@example.com", "right password").await;
    let guesses: Vec<_> = (0..4 * MAX_FAILURES)
        .map(|n| {
            let channel = channel.clone();
            tokio::spawn(async move {
                let guess = format!("guess number {n}");
                login(&channel, "grace@example.com", &guess).await
            })
        })
        .collect();
    let mut checked = 0;
    for guess in guesses {
        let refused = guess
            .await
            .expect("the task ran")
            .expect_err("a wrong guess");
        match refused.code() {
            Code::Unauthenticated => checked += 1,
            Code::ResourceExhausted => {}
            other => panic!("unexpected {other:?}: {refused:?}"),
        }
    }
    assert!(checked <= MAX_FAILURES, "{checked} guesses were checked");
}

/// Waits until `token` is refused, asking with a query every few milliseconds (bounded).
async fn until_refused(channel: &Channel, token: &str, within: Duration) -> tonic::Status {
    let deadline = Instant::now() + within;
    let mut orders = OrderQueriesClient::new(channel.clone());
    loop {
        match orders
            .list_orders(authorized(ListOrdersRequest::default(), Some(token)))
            .await
        {
            Err(status) if status.code() == Code::Unauthenticated => return status,
            other => {
                assert!(
                    Instant::now() < deadline,
                    "still accepted after {within:?}: {other:?}"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_disabled_user_cannot_sign_in_and_its_token_stops_working() {
    let (server, admin) = server().await;
    let channel = server.channel().await;
    let hal = customer(
        &channel,
        &admin,
        "hal@example.com",
        "open the pod bay doors",
    )
    .await;
    let session = login(&channel, "hal@example.com", "open the pod bay doors")
        .await
        .expect("signed in");
    OrderCommandsClient::new(channel.clone())
        .place_order(authorized(order(), Some(&session.access_token)))
        .await
        .expect("the token works");

    let disable = DisableUserRequest {
        options: options(),
        user_id: hal,
        reason: "left the company".into(),
    };
    IdentityCommandsClient::new(channel.clone())
        .disable_user(authorized(disable, Some(&admin)))
        .await
        .expect("disabled");
    // The next login is refused at once: it reads the user's own stream.
    let refused = login(&channel, "hal@example.com", "open the pod bay doors")
        .await
        .expect_err("disabled");
    assert_eq!(refused.code(), Code::Unauthenticated);
    assert_eq!(refused.message(), REFUSAL);
    // The unexpired token, once the users read model shows the change (its lag plus the 2 s
    // refresh; the bound given here is generous for a loaded machine).
    let status = until_refused(&channel, &session.access_token, Duration::from_secs(30)).await;
    assert!(status.message().contains("disabled"), "{status:?}");
    let rejected = OrderCommandsClient::new(channel.clone())
        .place_order(authorized(order(), Some(&session.access_token)))
        .await
        .expect_err("refused");
    assert_eq!(rejected.code(), Code::Unauthenticated);
}

#[tokio::test(flavor = "multi_thread")]
async fn login_over_rest() {
    let (server, admin) = server().await;
    let channel = server.channel().await;
    customer(&channel, &admin, "ada@example.com", "correct horse").await;
    let hal = customer(&channel, &admin, "hal@example.com", "pod bay doors").await;
    IdentityCommandsClient::new(channel.clone())
        .disable_user(authorized(
            DisableUserRequest {
                options: options(),
                user_id: hal,
                reason: String::new(),
            },
            Some(&admin),
        ))
        .await
        .expect("disabled");
    let gateway = TestGateway::start(&server).await;
    let http = reqwest::Client::new();
    let login = |email: &'static str, password: &'static str| {
        http.post(gateway.at("/v1/sessions:login"))
            .header("content-type", "application/json")
            .body(json!({"email": email, "password": password}).to_string())
            .send()
    };
    let response = login("ada@example.com", "correct horse")
        .await
        .expect("answers");
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert_eq!(body["tokenType"], "Bearer", "{body}");
    let token = body["accessToken"].as_str().expect("a token");
    assert_eq!(claims_of(token)["roles"], json!(["customer"]));
    let listed = http
        .get(gateway.at("/v1/orders"))
        .header("authorization", format!("Bearer {token}"))
        .send()
        .await
        .expect("answers");
    assert_eq!(listed.status(), 200, "the token works through the gateway");

    for (email, password) in [
        ("ada@example.com", "wrong horse"),
        ("hal@example.com", "pod bay doors"),
    ] {
        let response = login(email, password).await.expect("answers");
        assert_eq!(response.status(), 401, "{email}");
        let body: serde_json::Value =
            serde_json::from_str(&response.text().await.unwrap()).unwrap();
        assert_eq!(body["error"]["message"], REFUSAL, "{body}");
    }
    for _ in 1..MAX_FAILURES {
        let response = login("ada@example.com", "wrong horse")
            .await
            .expect("answers");
        assert_eq!(response.status(), 401);
    }
    let response = login("ada@example.com", "correct horse")
        .await
        .expect("answers");
    assert_eq!(
        response.status(),
        429,
        "locked out after {MAX_FAILURES} failures"
    );
    gateway.stop().await;
}
