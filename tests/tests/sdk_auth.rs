//! The SDK against a server that authenticates: a user signs in through the login helper and
//! orders as a customer, a token is renewed before it expires, and refusals are typed
//! (`PermissionDenied` for a missing role, `Unauthenticated` for a wrong password), none of
//! them retried. The SDK's examples run against it too, signed in or with a token. The first
//! admin's token is minted from the server's own keys, as `causeway-server token` does.

#[path = "../../client-sdk/examples/sign_in.rs"]
#[allow(dead_code)]
mod sign_in;

#[path = "../../client-sdk/examples/place_order.rs"]
#[allow(dead_code)]
mod place_order;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use causeway_client::{
    Client, Error, TokenProvider,
    identity::{GrantRoleRequest, RegisterUserRequest},
    inventory::RegisterProductRequest,
    orders::{GetOrderRequest, OrderLine, OrderStatus, PlaceOrderRequest},
};
use causeway_server::{
    auth::{keys::KeyRing, tokens::TokenIssuer},
    config::Config,
};
use causeway_tests::TestServer;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

const EMAIL: &str = "ada@example.com";
const PASSWORD: &str = "correct horse battery";

/// An admin token minted with `server`'s signing keys, once it answers (it creates them before
/// it serves; a TCP connection alone proves nothing, the port was bound before it started).
async fn admin_token(server: &TestServer) -> String {
    let mut health = HealthClient::new(server.channel().await);
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    tokio::time::timeout(Duration::from_secs(30), async {
        while health.check(HealthCheckRequest::default()).await.is_err() {
            tick.tick().await;
        }
    })
    .await
    .expect("the server answers within 30 s");
    let ring = KeyRing::new(server.data_dir().join("keys"));
    TokenIssuer::new(ring, "causeway", "causeway")
        .mint("ops", vec!["admin".into()], None, Duration::from_secs(3600))
        .expect("mint")
        .token
}

/// Registers Ada as a customer (as the admin) and returns her user id.
async fn register_customer(server: &TestServer) -> String {
    let admin = Client::builder(server.url())
        .bearer_token(admin_token(server).await)
        .build()
        .expect("client");
    let user_id = admin
        .identity()
        .register_user(RegisterUserRequest {
            email: EMAIL.into(),
            display_name: "Ada".into(),
            password: PASSWORD.into(),
            ..Default::default()
        })
        .await
        .expect("register")
        .user_id;
    admin
        .identity()
        .grant_role(GrantRoleRequest {
            user_id: user_id.clone(),
            role: "customer".into(),
            ..Default::default()
        })
        .await
        .expect("grant");
    user_id
}

fn kettle() -> PlaceOrderRequest {
    PlaceOrderRequest {
        currency: "EUR".into(),
        lines: vec![OrderLine {
            sku: "kettle".into(),
            quantity: 1,
            unit_price_minor: 2999,
        }],
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_customer_signs_in_with_the_helper_and_orders_as_itself() {
    let server = TestServer::start_secured().await;
    let ada = register_customer(&server).await;

    let client = Client::builder(server.url())
        .login(EMAIL, PASSWORD)
        .build()
        .expect("client");
    let session = client.session();
    // No customer id: the server fills in the token's subject.
    let placed = session.orders().place_order(kettle()).await.expect("order");
    let order = session
        .orders()
        .get_order(GetOrderRequest {
            order_id: placed.order_id,
            ..Default::default()
        })
        .await
        .expect("read back");
    assert_eq!(order.customer_id, ada);

    // A customer may not stock products: typed, and the same answer on every try.
    let denied = client
        .inventory()
        .register_product(RegisterProductRequest {
            sku: "kettle".into(),
            name: "Kettle".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(
        matches!(denied, Error::PermissionDenied { .. }),
        "{denied:?}"
    );
    assert_eq!(denied.code(), tonic::Code::PermissionDenied);

    let wrong = Client::builder(server.url())
        .login(EMAIL, "wrong horse battery")
        .build()
        .expect("client");
    let refused = wrong.orders().place_order(kettle()).await.unwrap_err();
    assert!(
        matches!(refused, Error::Unauthenticated { .. }),
        "{refused:?}"
    );
    assert!(!refused.to_string().contains("wrong horse"), "{refused}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_is_renewed_before_it_expires() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = Config::with_data_dir(dir.path());
    config.token_ttl = Duration::from_secs(4);
    let server = TestServer::start_with(config, dir).await;
    register_customer(&server).await;
    let client = Client::builder(server.url()).build().expect("client");
    let provider = TokenProvider::login(&client, EMAIL, PASSWORD);

    // The first token's `exp` is the login's second, rounded down, plus four: no earlier than
    // this.
    let asked = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let first_expires = asked.as_secs() + 4;
    let first = provider.access_token().await.expect("signed in");
    assert_eq!(provider.access_token().await.unwrap(), first, "kept");

    let mut tick = tokio::time::interval(Duration::from_millis(50));
    let second = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            tick.tick().await;
            let token = provider.access_token().await.expect("a token");
            if token != first {
                return token;
            }
        }
    })
    .await
    .expect("a second token within the deadline");
    let renewed = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    assert!(
        renewed < Duration::from_secs(first_expires),
        "renewed at {renewed:?}, after the first token expired at {first_expires} s"
    );
    assert!(
        renewed - asked >= Duration::from_secs(1),
        "renewed too early: {:?} after the first",
        renewed - asked
    );

    // The new token works.
    let customer = Client::builder(server.url())
        .token_provider(provider)
        .build()
        .expect("client");
    customer
        .orders()
        .place_order(kettle())
        .await
        .expect("ordered with the renewed token");
    assert_ne!(second.secret(), first.secret());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_examples_run_against_a_server_that_authenticates() {
    // Without fulfilment: the example's kettle is not stocked, and fulfilment would reject the
    // order at its own pace, racing the example's read-back of a placed order.
    let server = TestServer::start_secured_without_fulfilment().await;
    let ada = register_customer(&server).await;

    let mine = sign_in::run(&server.url(), EMAIL, PASSWORD)
        .await
        .expect("the sign-in example runs");
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].customer_id, ada);

    let refused = place_order::run(&server.url()).await.unwrap_err();
    let refused = refused.downcast_ref::<Error>().expect("an SDK error");
    assert!(
        matches!(refused, Error::Unauthenticated { .. }),
        "{refused:?}"
    );
    let order = place_order::run_as(&server.url(), Some(admin_token(&server).await))
        .await
        .expect("with a token");
    assert_eq!(order.status(), OrderStatus::Placed);
}
