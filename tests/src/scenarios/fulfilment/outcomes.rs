//! What fulfilment does with an order, end to end over gRPC, one scenario per path: confirmed
//! with its stock reserved; rejected for lack of stock (what it had reserved released) or for
//! an unknown product; cancelled before and after confirmation (everything released); shipped
//! (the units leave stock); and not settled by its deadline (released and rejected).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use causeway_client::{
    common::CommandOptions,
    fulfilment::{FulfilmentStatus, LineStatus},
    orders::{ConfirmOrderRequest, OrderStatus},
};
use tonic::Code;

use super::fixtures::{
    Clients, NO_HURRY, command_server, fulfilling_after, fulfilling_server, line, stock_of,
};
use crate::{EventBackend, command_id, scenarios::unique};

/// An order whose stock is there is confirmed, every line reserved, and a caller waiting for
/// the outcome learns it in one call.
pub async fn an_order_in_stock_is_confirmed_with_its_stock_reserved(backend: &EventBackend) {
    let server = fulfilling_server(backend, NO_HURRY).await;
    let mut c = Clients::of(&server).await;
    let (kettle, mug) = (unique("kettle"), unique("mug"));
    c.stock(&kettle, 5).await;
    c.stock(&mug, 2).await;
    let order_id = c.place("ada", vec![line(&kettle, 3), line(&mug, 2)]).await;
    let order = c.outcome(&order_id).await;
    assert_eq!(order.status(), OrderStatus::Confirmed, "{order:?}");
    assert_eq!(order.reason, "");
    // Every reservation was stored before the confirmation.
    assert_eq!(
        stock_of(&c.product_at(&kettle, order.position).await),
        (5, 3, 2)
    );
    assert_eq!(
        stock_of(&c.product_at(&mug, order.position).await),
        (2, 2, 0)
    );
    let fulfilment = c
        .fulfilment_in(&order_id, FulfilmentStatus::Confirmed)
        .await;
    let lines: Vec<LineStatus> = fulfilment.lines.iter().map(|l| l.status()).collect();
    assert_eq!(lines, [LineStatus::Reserved, LineStatus::Reserved]);
    assert_eq!(
        fulfilment.lines[0].reservation_id,
        format!("order-{order_id}-0")
    );
    let steps: Vec<&str> = fulfilment
        .steps
        .iter()
        .map(|s| s.event_type.as_str())
        .collect();
    assert_eq!(
        steps,
        [
            "causeway.fulfilment.v1.FulfilmentStarted",
            "causeway.fulfilment.v1.LineReserved",
            "causeway.fulfilment.v1.LineReserved",
            "causeway.fulfilment.v1.FulfilmentConfirmed",
        ]
    );
    // Operators see it beside the projections: its position, lag and health.
    let runner = c
        .projection_when("fulfilment", |p| p.position >= order.position)
        .await;
    assert!(runner.healthy, "{runner:?}");
    let deadlines = c
        .projection_when("fulfilment_deadlines", |p| {
            p.position >= fulfilment.position
        })
        .await;
    assert!(deadlines.healthy, "{deadlines:?}");
}

/// A line beyond what is available rejects the order with a reason a person reads, and what
/// was reserved for the lines before it is released.
pub async fn an_order_beyond_stock_is_rejected_and_its_partial_reservation_released(
    backend: &EventBackend,
) {
    let server = fulfilling_server(backend, NO_HURRY).await;
    let mut c = Clients::of(&server).await;
    let (mug, kettle) = (unique("mug"), unique("kettle"));
    c.stock(&mug, 4).await;
    c.stock(&kettle, 1).await;
    let order_id = c.place("ada", vec![line(&mug, 2), line(&kettle, 3)]).await;
    let order = c.outcome(&order_id).await;
    assert_eq!(order.status(), OrderStatus::Rejected, "{order:?}");
    assert_eq!(
        order.reason,
        format!("not enough {kettle}: 3 requested, 1 available")
    );
    // The release of the mug reservation was stored before the rejection.
    assert_eq!(
        stock_of(&c.product_at(&mug, order.position).await),
        (4, 0, 4)
    );
    assert_eq!(
        stock_of(&c.product_at(&kettle, order.position).await),
        (1, 0, 1)
    );
    let fulfilment = c.fulfilment_in(&order_id, FulfilmentStatus::Rejected).await;
    let lines: Vec<LineStatus> = fulfilment.lines.iter().map(|l| l.status()).collect();
    assert_eq!(lines, [LineStatus::Released, LineStatus::Refused]);
    assert_eq!(fulfilment.lines[1].reason, order.reason);
}

/// An order for a product nobody registered is rejected, naming it.
pub async fn an_order_for_an_unknown_product_is_rejected(backend: &EventBackend) {
    let server = fulfilling_server(backend, NO_HURRY).await;
    let mut c = Clients::of(&server).await;
    let (kettle, ghost) = (unique("kettle"), unique("ghost"));
    c.stock(&kettle, 5).await;
    let order_id = c
        .place("ada", vec![line(&kettle, 1), line(&ghost, 1)])
        .await;
    let order = c.outcome(&order_id).await;
    assert_eq!(order.status(), OrderStatus::Rejected, "{order:?}");
    assert_eq!(order.reason, format!("unknown product {ghost}"));
    assert_eq!(
        stock_of(&c.product_at(&kettle, order.position).await),
        (5, 0, 5)
    );
}

/// An order cancelled before fulfilment confirmed it (here: while the fulfilling process was
/// down) ends with nothing reserved, whatever fulfilment had reserved meanwhile released.
pub async fn an_order_cancelled_before_confirmation_keeps_nothing_reserved(backend: &EventBackend) {
    let kettle = unique("kettle");
    let commands = command_server(backend).await;
    let mut c = Clients::of(&commands).await;
    c.stock(&kettle, 5).await;
    let order_id = c.place("ada", vec![line(&kettle, 2)]).await;
    // Staff cannot confirm it by hand meanwhile.
    let refused = c
        .orders
        .confirm_order(ConfirmOrderRequest {
            options: Some(CommandOptions {
                command_id: command_id(),
                ..CommandOptions::default()
            }),
            order_id: order_id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert!(
        refused
            .message()
            .starts_with(&format!("order {order_id} awaits fulfilment: ")),
        "{refused:?}"
    );
    c.cancel(&order_id, "changed my mind").await;
    let dir = commands.stop().await;

    let server = fulfilling_after(backend, dir, NO_HURRY).await;
    let mut c = Clients::of(&server).await;
    let fulfilment = c.fulfilment_in(&order_id, FulfilmentStatus::Released).await;
    let order = c.outcome(&order_id).await;
    assert_eq!(order.status(), OrderStatus::Cancelled);
    assert_eq!(order.reason, "changed my mind");
    let product = c.product_at(&kettle, fulfilment.position).await;
    assert_eq!(stock_of(&product), (5, 0, 5));
}

/// Cancelling a confirmed order releases its reservations.
pub async fn an_order_cancelled_after_confirmation_releases_its_stock(backend: &EventBackend) {
    let server = fulfilling_server(backend, NO_HURRY).await;
    let mut c = Clients::of(&server).await;
    let kettle = unique("kettle");
    c.stock(&kettle, 5).await;
    let order_id = c.place("ada", vec![line(&kettle, 2)]).await;
    let order = c.outcome(&order_id).await;
    assert_eq!(order.status(), OrderStatus::Confirmed);
    assert_eq!(
        stock_of(&c.product_at(&kettle, order.position).await),
        (5, 2, 3)
    );
    c.cancel(&order_id, "changed my mind").await;
    let fulfilment = c.fulfilment_in(&order_id, FulfilmentStatus::Released).await;
    let product = c.product_at(&kettle, fulfilment.position).await;
    assert_eq!(stock_of(&product), (5, 0, 5));
}

/// Shipping a confirmed order takes its units out of stock: on hand and reserved both drop.
pub async fn a_shipped_order_takes_its_units_out_of_stock(backend: &EventBackend) {
    let server = fulfilling_server(backend, NO_HURRY).await;
    let mut c = Clients::of(&server).await;
    let (kettle, mug) = (unique("kettle"), unique("mug"));
    c.stock(&kettle, 5).await;
    c.stock(&mug, 3).await;
    let order_id = c.place("ada", vec![line(&kettle, 2), line(&mug, 1)]).await;
    assert_eq!(c.outcome(&order_id).await.status(), OrderStatus::Confirmed);
    c.ship(&order_id).await;
    let fulfilment = c.fulfilment_in(&order_id, FulfilmentStatus::Shipped).await;
    let lines: Vec<LineStatus> = fulfilment.lines.iter().map(|l| l.status()).collect();
    assert_eq!(lines, [LineStatus::Committed, LineStatus::Committed]);
    assert_eq!(
        stock_of(&c.product_at(&kettle, fulfilment.position).await),
        (3, 0, 3)
    );
    assert_eq!(
        stock_of(&c.product_at(&mug, fulfilment.position).await),
        (2, 0, 2)
    );
}

/// An order not settled by its deadline (here: the fulfilling process came up only after it
/// had passed) is rejected with the reason, and nothing stays reserved for it.
pub async fn an_order_not_settled_by_its_deadline_is_rejected(backend: &EventBackend) {
    let timeout = Duration::from_millis(300);
    let kettle = unique("kettle");
    let commands = command_server(backend).await;
    let mut c = Clients::of(&commands).await;
    c.stock(&kettle, 5).await;
    let order_id = c.place("ada", vec![line(&kettle, 2)]).await;
    let placed_by = SystemTime::now();
    let dir = commands.stop().await;
    // The deadline counts from when the store recorded the placement, which was before
    // `placed_by`: once the clock is past `placed_by + timeout`, the deadline has passed.
    let past = placed_by + timeout;
    let left = past.duration_since(SystemTime::now()).unwrap_or_default();
    tokio::time::sleep(left + Duration::from_millis(1)).await;
    assert!(SystemTime::now() > past);

    let server = fulfilling_after(backend, dir, timeout).await;
    let mut c = Clients::of(&server).await;
    let order = c.outcome(&order_id).await;
    assert_eq!(order.status(), OrderStatus::Rejected, "{order:?}");
    assert!(
        order
            .reason
            .starts_with("stock was not reserved for every line by the deadline, "),
        "{order:?}"
    );
    let fulfilment = c.fulfilment_in(&order_id, FulfilmentStatus::Rejected).await;
    let deadline = humantime::parse_rfc3339(&fulfilment.deadline).expect("an RFC 3339 deadline");
    assert!(deadline.duration_since(UNIX_EPOCH).is_ok() && deadline < past);
    assert_eq!(
        stock_of(&c.product_at(&kettle, order.position).await),
        (5, 0, 5)
    );
}
