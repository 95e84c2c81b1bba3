//! Given product events, when folded into the embedded read store, then the documents are
//! exactly the expected JSON; replays change nothing and impossible or unreadable events are
//! poison.

use serde_json::{Value, json};

use super::*;
use crate::inventory::events::PRODUCT_REGISTERED;
use crate::inventory::values::{ProductName, Quantity, ReservationId, Sku};
use crate::projection::testing::{document, fold, read_store, recorded};

fn projection() -> ProductsProjection {
    ProductsProjection::new(Arc::new(crate::inventory::register_upcasters(
        Upcasters::default(),
    )))
}

fn sku1() -> Sku {
    Sku::parse("sku-1").unwrap()
}

fn registered(sku: &str) -> ProductEvent {
    ProductEvent::Registered {
        sku: Sku::parse(sku).unwrap(),
        name: ProductName::parse("Blue mug").unwrap(),
    }
}

fn received(quantity: u64) -> ProductEvent {
    ProductEvent::StockReceived {
        sku: sku1(),
        quantity: Quantity::recorded(quantity).unwrap(),
    }
}

fn reserved(quantity: u64, reservation_id: &str) -> ProductEvent {
    ProductEvent::StockReserved {
        sku: sku1(),
        quantity: Quantity::recorded(quantity).unwrap(),
        reservation_id: ReservationId::parse(reservation_id).unwrap(),
    }
}

fn released(quantity: u64, reservation_id: &str) -> ProductEvent {
    ProductEvent::StockReleased {
        sku: sku1(),
        quantity: Quantity::recorded(quantity).unwrap(),
        reservation_id: ReservationId::parse(reservation_id).unwrap(),
    }
}

fn committed(quantity: u64, reservation_id: &str) -> ProductEvent {
    ProductEvent::ReservationCommitted {
        sku: sku1(),
        quantity: Quantity::recorded(quantity).unwrap(),
        reservation_id: ReservationId::parse(reservation_id).unwrap(),
    }
}

fn expected(on_hand: u64, reserved: u64, available: u64, revision: u64) -> Value {
    json!({
        "sku": "sku-1",
        "name": "Blue mug",
        "onHand": on_hand,
        "reserved": reserved,
        "available": available,
        "revision": revision,
    })
}

/// Folds `events` of `product-sku-1` in order (revision i, position 10 + i).
async fn folded(events: &[ProductEvent]) -> Option<Value> {
    let recorded: Vec<_> = events
        .iter()
        .enumerate()
        .map(|(i, e)| recorded("product-sku-1", i as u64, 10 + i as u64, e))
        .collect();
    fold_recorded(&recorded).await
}

async fn fold_recorded(events: &[RecordedEvent]) -> Option<Value> {
    let (reads, _dir) = read_store();
    fold(&projection(), &*reads, events).await.unwrap();
    document(&*reads, COLLECTION, "sku-1").await
}

#[tokio::test]
async fn a_registered_product_has_no_stock() {
    let doc = folded(&[registered("sku-1")]).await;
    assert_eq!(doc, Some(expected(0, 0, 0, 0)));
}

#[tokio::test]
async fn received_reserved_released_and_committed_stock_move_the_figures() {
    let mut events = vec![registered("sku-1"), received(10)];
    assert_eq!(folded(&events).await, Some(expected(10, 0, 10, 1)));
    events.push(reserved(4, "r-1"));
    assert_eq!(folded(&events).await, Some(expected(10, 4, 6, 2)));
    events.push(reserved(3, "r-2"));
    assert_eq!(folded(&events).await, Some(expected(10, 7, 3, 3)));
    events.push(released(1, "r-1"));
    assert_eq!(folded(&events).await, Some(expected(10, 6, 4, 4)));
    events.push(released(3, "r-2"));
    assert_eq!(folded(&events).await, Some(expected(10, 3, 7, 5)));
    events.push(received(5));
    assert_eq!(folded(&events).await, Some(expected(15, 3, 12, 6)));
    events.push(committed(3, "r-1"));
    assert_eq!(folded(&events).await, Some(expected(12, 0, 12, 7)));
}

#[tokio::test]
async fn a_version_1_registration_is_upcast_before_folding() {
    let mut old = recorded("product-sku-1", 0, 1, &registered("sku-1"));
    old.data = br#"{"sku":"sku-1","title":"Blue mug"}"#.to_vec();
    let mut metadata: Value = serde_json::from_slice(&old.metadata).unwrap();
    metadata["schemaVersion"] = json!(1);
    old.metadata = serde_json::to_vec(&metadata).unwrap();
    assert_eq!(old.event_type, PRODUCT_REGISTERED);
    assert_eq!(fold_recorded(&[old]).await, Some(expected(0, 0, 0, 0)));
}

#[tokio::test]
async fn a_redelivered_event_changes_nothing() {
    let events = [
        recorded("product-sku-1", 0, 1, &registered("sku-1")),
        recorded("product-sku-1", 1, 2, &received(10)),
        recorded("product-sku-1", 2, 3, &reserved(4, "r-1")),
        recorded("product-sku-1", 1, 2, &received(10)),
        recorded("product-sku-1", 2, 3, &reserved(4, "r-1")),
        recorded("product-sku-1", 0, 1, &registered("sku-1")),
    ];
    assert_eq!(fold_recorded(&events).await, Some(expected(10, 4, 6, 2)));
}

#[tokio::test]
async fn stock_for_a_product_never_registered_is_inconsistent() {
    let (reads, _dir) = read_store();
    let event = recorded("product-sku-1", 0, 1, &received(3));
    let err = fold(&projection(), &*reads, &[event]).await.unwrap_err();
    assert!(
        matches!(&err, ProjectionError::Inconsistent(why) if why.contains("never registered")),
        "{err:?}"
    );
    assert_eq!(document(&*reads, COLLECTION, "sku-1").await, None);
}

#[tokio::test]
async fn an_event_naming_another_product_than_its_stream_is_inconsistent() {
    let (reads, _dir) = read_store();
    let event = recorded("product-sku-2", 0, 1, &registered("sku-1"));
    let err = fold(&projection(), &*reads, &[event]).await.unwrap_err();
    assert!(matches!(err, ProjectionError::Inconsistent(_)), "{err:?}");
}

#[tokio::test]
async fn an_unreadable_payload_is_a_decode_error() {
    let (reads, _dir) = read_store();
    let mut garbage = recorded("product-sku-1", 0, 1, &registered("sku-1"));
    garbage.data = b"{\"sku\": 12".to_vec();
    let err = fold(&projection(), &*reads, &[garbage]).await.unwrap_err();
    assert!(matches!(err, ProjectionError::Decode(_)), "{err:?}");
}

#[test]
fn the_projection_reads_product_streams_and_indexes_availability() {
    let p = projection();
    assert_eq!(p.name(), "products");
    assert_eq!(p.categories(), &["product"]);
    let indexes = p.indexes();
    assert_eq!(indexes.len(), 1);
    assert_eq!(indexes[0].collection, "products");
    assert_eq!(indexes[0].fields, ["available"]);
    assert!(!indexes[0].unique);
}
