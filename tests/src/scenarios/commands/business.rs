//! The path every command takes when nothing is wrong.

use causeway_client::{
    identity::{GrantRoleRequest, RegisterUserRequest},
    orders::CancelOrderRequest,
};

use super::fixtures::{clients, options, place, register_product};
use crate::{EventBackend, TestServer, scenarios::unique};

/// Products, an order, a cancellation and a user: acks carry stream ids, revisions and growing
/// positions.
pub async fn a_day_of_business_over_grpc(backend: &EventBackend) {
    let server = TestServer::start_on(backend).await;
    let mut c = clients(&server).await;

    let sku = unique("sku");
    let ack = register_product(&mut c, &sku, 10).await;
    assert_eq!(ack.stream_id, format!("product-{sku}"));
    assert_eq!(ack.revision, 1);
    assert!(!ack.deduplicated);

    let placed = c
        .orders
        .place_order(place(options()))
        .await
        .expect("place order")
        .into_inner();
    let placed_ack = placed.ack.expect("ack");
    assert!(!placed.order_id.is_empty());
    assert_eq!(placed_ack.stream_id, format!("order-{}", placed.order_id));
    assert_eq!(placed_ack.revision, 0);
    assert!(placed_ack.position > ack.position, "positions grow");

    let cancelled = c
        .orders
        .cancel_order(CancelOrderRequest {
            options: options(),
            order_id: placed.order_id.clone(),
            reason: "changed my mind".into(),
        })
        .await
        .expect("cancel")
        .into_inner()
        .ack
        .expect("ack");
    assert_eq!(cancelled.revision, 1);
    assert!(cancelled.position > placed_ack.position);

    let user = c
        .identity
        .register_user(RegisterUserRequest {
            options: options(),
            email: format!("{}@Example.com", unique("Ada")),
            display_name: "Ada".into(),
            password: "correct horse battery".into(),
        })
        .await
        .expect("register user")
        .into_inner();
    assert_eq!(
        user.ack.expect("ack").stream_id,
        format!("user-{}", user.user_id)
    );
    c.identity
        .grant_role(GrantRoleRequest {
            options: options(),
            user_id: user.user_id,
            role: "admin".into(),
        })
        .await
        .expect("grant role");
}
