//! Given order events, when folded into the embedded read store, then the documents are exactly
//! the expected JSON; replays change nothing and impossible or unreadable events are poison.

use serde_json::{Value, json};

use super::*;
use crate::orders::values::{Currency, CustomerId, Money, OrderId, Quantity, Reason, Sku};
use crate::projection::testing::{document, fold, read_store, recorded};

fn projection() -> OrdersProjection {
    OrdersProjection::new(Arc::new(crate::orders::register_upcasters(
        Upcasters::default(),
    )))
}

fn oid(id: &str) -> OrderId {
    OrderId::parse(id).unwrap()
}

fn placed(order_id: &str) -> OrderEvent {
    let line = |sku: &str, quantity: u64, price: i64| OrderLine {
        sku: Sku::parse(sku).unwrap(),
        quantity: Quantity::parse(quantity).unwrap(),
        unit_price: Money::parse(price).unwrap(),
    };
    OrderEvent::Placed {
        order_id: oid(order_id),
        customer_id: CustomerId::parse("c-1").unwrap(),
        currency: Currency::parse("EUR").unwrap(),
        lines: vec![line("sku-1", 2, 250), line("sku-2", 1, 1000)],
        total: Money::parse(1500).unwrap(),
        awaits_fulfilment: true,
    }
}

/// The document of an order whose last change (`revision`) is at `position`, without a reason.
fn expected(order_id: &str, status: &str, revision: u64, placed_at: u64, position: u64) -> Value {
    expected_with_reason(order_id, status, revision, placed_at, position, "")
}

fn expected_with_reason(
    order_id: &str,
    status: &str,
    revision: u64,
    placed_at: u64,
    position: u64,
    reason: &str,
) -> Value {
    json!({
        "orderId": order_id,
        "customerId": "c-1",
        "status": status,
        "lines": [
            {"sku": "sku-1", "quantity": 2, "unitPriceMinor": 250},
            {"sku": "sku-2", "quantity": 1, "unitPriceMinor": 1000},
        ],
        "totalMinor": 1500,
        "currency": "EUR",
        "revision": revision,
        "placedAt": placed_at,
        "reason": reason,
        "position": position,
        "awaitsFulfilment": true,
    })
}

/// Folds `events` (revision, position, event) of `order-<id>` and returns the document.
async fn folded(order_id: &str, events: &[(u64, u64, OrderEvent)]) -> Option<Value> {
    let (reads, _dir) = read_store();
    let stream = format!("order-{order_id}");
    let recorded: Vec<_> = events
        .iter()
        .map(|(revision, position, e)| recorded(&stream, *revision, *position, e))
        .collect();
    fold(&projection(), &*reads, &recorded).await.unwrap();
    document(&*reads, COLLECTION, order_id).await
}

#[tokio::test]
async fn a_placed_order_is_a_document_with_its_lines_total_and_placement_position() {
    let doc = folded("o-1", &[(0, 7, placed("o-1"))]).await;
    assert_eq!(doc, Some(expected("o-1", "ORDER_STATUS_PLACED", 0, 7, 7)));
}

#[tokio::test]
async fn each_later_event_sets_the_status_and_revision_and_keeps_the_placement() {
    let id = "o-1";
    let confirmed = OrderEvent::Confirmed { order_id: oid(id) };
    let cases = [
        (confirmed.clone(), "ORDER_STATUS_CONFIRMED", ""),
        (
            OrderEvent::Rejected {
                order_id: oid(id),
                reason: Reason::parse("out of stock").unwrap(),
            },
            "ORDER_STATUS_REJECTED",
            "out of stock",
        ),
        (
            OrderEvent::Cancelled {
                order_id: oid(id),
                reason: Reason::parse("changed my mind").unwrap(),
            },
            "ORDER_STATUS_CANCELLED",
            "changed my mind",
        ),
    ];
    for (event, status, reason) in cases {
        let doc = folded(id, &[(0, 3, placed(id)), (1, 9, event)]).await;
        let want = expected_with_reason(id, status, 1, 3, 9, reason);
        assert_eq!(doc, Some(want), "{status}");
    }
    let shipped = OrderEvent::Shipped { order_id: oid(id) };
    let doc = folded(
        id,
        &[(0, 3, placed(id)), (1, 4, confirmed), (2, 8, shipped)],
    )
    .await;
    assert_eq!(doc, Some(expected(id, "ORDER_STATUS_SHIPPED", 2, 3, 8)));
}

#[tokio::test]
async fn a_redelivered_event_changes_nothing() {
    let id = "o-1";
    let confirmed = OrderEvent::Confirmed { order_id: oid(id) };
    let shipped = OrderEvent::Shipped { order_id: oid(id) };
    let events = [
        (0, 1, placed(id)),
        (1, 2, confirmed.clone()),
        (2, 3, shipped),
        (1, 2, confirmed),
        (0, 1, placed(id)),
    ];
    let doc = folded(id, &events).await;
    assert_eq!(doc, Some(expected(id, "ORDER_STATUS_SHIPPED", 2, 1, 3)));
}

#[tokio::test]
async fn an_event_for_an_order_never_placed_is_inconsistent() {
    let (reads, _dir) = read_store();
    let confirmed = OrderEvent::Confirmed {
        order_id: oid("o-9"),
    };
    let event = recorded("order-o-9", 1, 5, &confirmed);
    let err = fold(&projection(), &*reads, &[event]).await.unwrap_err();
    assert!(
        matches!(&err, ProjectionError::Inconsistent(why) if why.contains("never placed")),
        "{err:?}"
    );
    assert_eq!(document(&*reads, COLLECTION, "o-9").await, None);
}

#[tokio::test]
async fn an_event_naming_another_order_than_its_stream_is_inconsistent() {
    let (reads, _dir) = read_store();
    let event = recorded("order-o-1", 0, 1, &placed("o-2"));
    let err = fold(&projection(), &*reads, &[event]).await.unwrap_err();
    assert!(matches!(err, ProjectionError::Inconsistent(_)), "{err:?}");
}

#[tokio::test]
async fn an_unreadable_payload_is_a_decode_error() {
    let (reads, _dir) = read_store();
    let mut garbage = recorded("order-o-1", 0, 1, &placed("o-1"));
    garbage.data = b"\x00not json{".to_vec();
    let err = fold(&projection(), &*reads, &[garbage]).await.unwrap_err();
    assert!(matches!(err, ProjectionError::Decode(_)), "{err:?}");

    let mut unknown = recorded("order-o-1", 0, 1, &placed("o-1"));
    unknown.event_type = "causeway.orders.v1.OrderTeleported".into();
    let err = fold(&projection(), &*reads, &[unknown]).await.unwrap_err();
    assert!(matches!(err, ProjectionError::Decode(_)), "{err:?}");
}

#[test]
fn the_projection_reads_order_streams_and_indexes_its_list_queries() {
    let p = projection();
    assert_eq!(p.name(), "orders");
    assert_eq!(p.categories(), &["order"]);
    let fields: Vec<Vec<String>> = p.indexes().into_iter().map(|i| i.fields).collect();
    assert_eq!(
        fields,
        vec![
            vec!["customerId".to_owned(), "placedAt".to_owned()],
            vec!["status".to_owned(), "placedAt".to_owned()],
            vec!["placedAt".to_owned()],
        ]
    );
}
