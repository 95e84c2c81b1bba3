//! A stored event as a reader meets it: any payload under any event type and schema version,
//! with any metadata, decoded and upcast by the server's own registry. Nothing may panic; an
//! event that decodes must encode to a payload that decodes to the same event.
//!
//! Input: one byte picks the event type, one byte the schema version in the metadata, the
//! rest is the stored payload (proto3 JSON, or anything).
#![no_main]

use causeway_server::{
    identity::domain::{EmailEvent, UserEvent},
    inventory::domain::ProductEvent,
    kernel::{DomainEvent, EventMetadata, Upcasters},
    orders::domain::OrderEvent,
    server::upcasters,
    store::RecordedEvent,
};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

const TYPES: [&str; 14] = [
    "causeway.orders.v1.OrderPlaced",
    "causeway.orders.v1.OrderConfirmed",
    "causeway.orders.v1.OrderRejected",
    "causeway.orders.v1.OrderCancelled",
    "causeway.orders.v1.OrderShipped",
    "causeway.inventory.v1.ProductRegistered",
    "causeway.inventory.v1.StockReceived",
    "causeway.inventory.v1.StockReserved",
    "causeway.inventory.v1.StockReleased",
    "causeway.identity.v1.UserRegistered",
    "causeway.identity.v1.RoleGranted",
    "causeway.identity.v1.RoleRevoked",
    "causeway.identity.v1.UserDisabled",
    "causeway.identity.v1.EmailReserved",
];

fn registry() -> &'static Upcasters {
    static REGISTRY: OnceLock<Upcasters> = OnceLock::new();
    REGISTRY.get_or_init(upcasters)
}

/// Decodes `record` as `E`; when it decodes, its own encoding must decode to the same event.
fn round_trip<E: DomainEvent + PartialEq + std::fmt::Debug>(record: &RecordedEvent) {
    if let Ok(event) = registry().decode::<E>(record) {
        let again = E::decode(event.event_type(), &event.encode())
            .expect("what the server writes, it reads back");
        assert_eq!(again, event);
    }
}

fuzz_target!(|input: &[u8]| {
    let [kind, version, payload @ ..] = input else {
        return;
    };
    let event_type = TYPES[usize::from(*kind) % TYPES.len()];
    let metadata =
        format!(r#"{{"eventType":"{event_type}","schemaVersion":{version},"commandId":"c-1"}}"#);
    let record = RecordedEvent {
        id: Default::default(),
        stream: "fuzz-1".into(),
        revision: 0,
        position: 1,
        event_type: event_type.into(),
        data: payload.to_vec(),
        metadata: metadata.into_bytes(),
        created_micros: 0,
    };
    let _ = EventMetadata::from_json(payload);
    let _ = EventMetadata::schema_version_of(payload);
    round_trip::<OrderEvent>(&record);
    round_trip::<ProductEvent>(&record);
    round_trip::<UserEvent>(&record);
    round_trip::<EmailEvent>(&record);
});
