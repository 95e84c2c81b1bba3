//! Fulfilment end to end on the embedded stores: each path an order takes, and 200 orders
//! racing for 100 units. The scenarios live in `causeway_tests::scenarios::fulfilment`, shared
//! with the KurrentDB and MongoDB runs.

use std::time::Duration;

use causeway_tests::{EventBackend, scenarios::fulfilment};

macro_rules! embedded {
    ($($scenario:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread")]
            async fn $scenario() {
                fulfilment::$scenario(&EventBackend::Embedded).await;
            }
        )*
    };
}

embedded!(
    an_order_in_stock_is_confirmed_with_its_stock_reserved,
    an_order_beyond_stock_is_rejected_and_its_partial_reservation_released,
    an_order_for_an_unknown_product_is_rejected,
    an_order_cancelled_before_confirmation_keeps_nothing_reserved,
    an_order_cancelled_after_confirmation_releases_its_stock,
    a_shipped_order_takes_its_units_out_of_stock,
    an_order_not_settled_by_its_deadline_is_rejected,
    two_hundred_orders_race_for_a_hundred_units,
);

/// `GetFulfilment` is for staff: a customer is refused, orders staff are let through.
#[tokio::test(flavor = "multi_thread")]
async fn only_orders_staff_and_admins_read_a_fulfilment() {
    use causeway_client::fulfilment::{
        GetFulfilmentRequest, fulfilment_queries_client::FulfilmentQueriesClient,
    };
    use causeway_server::{
        auth::{keys::KeyRing, tokens::TokenIssuer},
        config::Config,
    };
    use causeway_tests::TestServer;
    use tonic::Code;

    let server = TestServer::start_secured().await;
    let mut client = FulfilmentQueriesClient::new(server.channel().await);
    let config = Config::with_data_dir(server.data_dir());
    let issuer = TokenIssuer::new(KeyRing::new(config.keys_dir()), "causeway", "causeway");
    let ask = |role: &str| {
        let token = issuer
            .mint(
                "someone",
                vec![role.to_owned()],
                None,
                Duration::from_secs(300),
            )
            .expect("a token")
            .token;
        let mut request = tonic::Request::new(GetFulfilmentRequest {
            order_id: "no-such-order".into(),
            ..Default::default()
        });
        request.metadata_mut().insert(
            "authorization",
            format!("Bearer {token}").parse().expect("a header value"),
        );
        request
    };
    let customer = client.get_fulfilment(ask("customer")).await.unwrap_err();
    assert_eq!(customer.code(), Code::PermissionDenied, "{customer:?}");
    for role in ["orders.staff", "admin"] {
        let staff = client.get_fulfilment(ask(role)).await.unwrap_err();
        assert_eq!(staff.code(), Code::NotFound, "{role}: {staff:?}");
        assert_eq!(
            staff.message(),
            "fulfilment of order no-such-order not found"
        );
    }
}
