//! Commands the platform refuses, each with the code a caller can act on: INVALID_ARGUMENT
//! naming the fields, NOT_FOUND, FAILED_PRECONDITION for a broken business rule.

use causeway_client::{
    identity::{GrantRoleRequest, RegisterUserRequest},
    inventory::{ReceiveStockRequest, ReleaseStockRequest, ReserveStockRequest},
    orders::CancelOrderRequest,
};
use tonic::Code;

use super::fixtures::{
    clients, confirm, line, options, place, place_order, register_product, ship, violated_fields,
};
use crate::{EventBackend, TestServer, scenarios::unique};

/// Malformed requests are INVALID_ARGUMENT naming each field, never echoing a password.
pub async fn bad_requests_name_the_offending_field(backend: &EventBackend) {
    let server = TestServer::start_on(backend).await;
    let mut c = clients(&server).await;

    let mut no_lines = place(options());
    no_lines.lines.clear();
    let status = c.orders.place_order(no_lines).await.unwrap_err();
    assert!(
        violated_fields(&status).contains(&"lines".to_string()),
        "{status:?}"
    );

    let mut zero = place(options());
    zero.lines = vec![line("sku-1", 0, 100)];
    let status = c.orders.place_order(zero).await.unwrap_err();
    assert!(
        violated_fields(&status)
            .iter()
            .any(|f| f == "lines[0].quantity"),
        "{status:?}"
    );

    let status = c.orders.place_order(place(None)).await.unwrap_err();
    assert_eq!(violated_fields(&status), vec!["options".to_string()]);

    let status = c
        .identity
        .register_user(RegisterUserRequest {
            options: options(),
            email: "not-an-email".into(),
            display_name: "X".into(),
            password: "short".into(),
        })
        .await
        .unwrap_err();
    let fields = violated_fields(&status);
    assert!(fields.contains(&"email".to_string()), "{fields:?}");
    assert!(fields.contains(&"password".to_string()), "{fields:?}");
    assert!(
        !status.message().contains("short"),
        "the password never echoes back"
    );

    let status = c
        .inventory
        .receive_stock(ReceiveStockRequest {
            options: options(),
            sku: String::new(),
            quantity: 5,
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&status), vec!["sku".to_string()]);
}

/// Commands on entities that do not exist are NOT_FOUND.
pub async fn unknown_ids_are_not_found(backend: &EventBackend) {
    let server = TestServer::start_on(backend).await;
    let mut c = clients(&server).await;
    let status = c
        .orders
        .confirm_order(confirm(&unique("no-such-order"), options()))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    let status = c
        .inventory
        .receive_stock(ReceiveStockRequest {
            options: options(),
            sku: unique("no-such-sku"),
            quantity: 1,
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    let status = c
        .identity
        .grant_role(GrantRoleRequest {
            options: options(),
            user_id: uuid::Uuid::now_v7().to_string(),
            role: "admin".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
}

/// Each business rule, broken, is FAILED_PRECONDITION.
pub async fn broken_rules_are_failed_precondition(backend: &EventBackend) {
    let server = TestServer::start_on(backend).await;
    let mut c = clients(&server).await;
    let sku = unique("sku");
    register_product(&mut c, &sku, 3).await;

    let reserve = |quantity: u64, reservation_id: &str| ReserveStockRequest {
        options: options(),
        sku: sku.clone(),
        quantity,
        reservation_id: reservation_id.into(),
    };
    let status = c
        .inventory
        .reserve_stock(reserve(4, "r-1"))
        .await
        .unwrap_err();
    assert_eq!(
        status.code(),
        Code::FailedPrecondition,
        "beyond available: {status:?}"
    );
    c.inventory
        .reserve_stock(reserve(3, "r-1"))
        .await
        .expect("reserve all");
    let release = || ReleaseStockRequest {
        options: options(),
        sku: sku.clone(),
        quantity: 0,
        reservation_id: "r-1".into(),
    };
    c.inventory.release_stock(release()).await.expect("release");
    let status = c.inventory.release_stock(release()).await.unwrap_err();
    assert_eq!(
        status.code(),
        Code::FailedPrecondition,
        "released once: {status:?}"
    );

    let order_id = place_order(&mut c).await;
    let status = c.orders.ship_order(ship(&order_id)).await.unwrap_err();
    assert_eq!(
        status.code(),
        Code::FailedPrecondition,
        "ship before confirm: {status:?}"
    );
    c.orders
        .confirm_order(confirm(&order_id, options()))
        .await
        .expect("confirm");
    c.orders.ship_order(ship(&order_id)).await.expect("ship");
    let status = c
        .orders
        .cancel_order(CancelOrderRequest {
            options: options(),
            order_id,
            reason: "too late".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        status.code(),
        Code::FailedPrecondition,
        "shipped: {status:?}"
    );

    let grace = unique("grace");
    let register = |email: &str| RegisterUserRequest {
        options: options(),
        email: email.into(),
        display_name: "Grace".into(),
        password: "a long enough password".into(),
    };
    c.identity
        .register_user(register(&format!("{grace}@example.com")))
        .await
        .expect("first");
    let status = c
        .identity
        .register_user(register(&format!("{}@example.com", grace.to_uppercase())))
        .await
        .unwrap_err();
    assert_eq!(
        status.code(),
        Code::FailedPrecondition,
        "email unique: {status:?}"
    );
}
