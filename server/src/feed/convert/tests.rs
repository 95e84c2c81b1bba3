use std::path::PathBuf;

use causeway_proto::{identity::UserRegistered, inventory::ProductRegistered};
use prost::Message;
use uuid::Uuid;

use super::*;

fn converter() -> Converter {
    Converter::new(
        Arc::new(crate::server::upcasters()),
        causeway_proto::FILE_DESCRIPTOR_SET,
    )
    .unwrap()
}

/// A recorded event made from a stored-event fixture (`tests/fixtures/events/<type>/v<N>.json`).
fn fixture(event_type: &str, version: u32) -> RecordedEvent {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/events")
        .join(event_type)
        .join(format!("v{version}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let stored: serde_json::Value = serde_json::from_str(&text).unwrap();
    RecordedEvent {
        id: Uuid::nil(),
        stream: "x-1".into(),
        revision: 3,
        position: 42,
        event_type: event_type.to_owned(),
        data: serde_json::to_vec(&stored["data"]).unwrap(),
        metadata: serde_json::to_vec(&stored["metadata"]).unwrap(),
        created_micros: 1_700_000_000_123_456,
    }
}

#[test]
fn every_stored_event_type_converts_to_its_typed_message() {
    let converter = converter();
    for event_type in STORED_EVENT_TYPES {
        let event = converter.event(&fixture(event_type, 1)).unwrap();
        let payload = event.payload.unwrap();
        assert_eq!(payload.type_url, format!("{TYPE_URL_PREFIX}{event_type}"));
        assert!(!payload.value.is_empty(), "{event_type}");
        let metadata = event.metadata.unwrap();
        assert_eq!(metadata.schema_version, 1);
        let stored: serde_json::Value =
            serde_json::from_slice(&fixture(event_type, 1).metadata).unwrap();
        assert_eq!(metadata.actor, stored["actor"].as_str().unwrap_or_default());
        assert_eq!(metadata.command_id, stored["commandId"].as_str().unwrap());
        assert!(
            metadata.time.is_some(),
            "{event_type}: the metadata time parses"
        );
        assert_eq!(event.position, 42);
        assert_eq!(event.revision, 3);
    }
}

#[test]
fn old_versions_arrive_upcast_to_the_newest_schema() {
    let event = converter()
        .event(&fixture("causeway.inventory.v1.ProductRegistered", 1))
        .unwrap();
    let product = ProductRegistered::decode(event.payload.unwrap().value.as_slice()).unwrap();
    assert_eq!(product.name, "Kettle", "v1's title became v2's name");
    assert_eq!(event.metadata.unwrap().schema_version, 1, "as stored");
}

#[test]
fn withheld_fields_never_leave_the_store() {
    let record = fixture("causeway.identity.v1.UserRegistered", 1);
    assert!(String::from_utf8_lossy(&record.data).contains("argon2id"));
    let event = converter().event(&record).unwrap();
    let user = UserRegistered::decode(event.payload.unwrap().value.as_slice()).unwrap();
    assert_eq!(user.password_hash, "");
    assert_eq!(user.email, "ada@example.com", "the rest is delivered");
}

#[test]
fn unreadable_events_are_corrupt_naming_where_they_are() {
    let converter = converter();
    let mut unknown = fixture("causeway.orders.v1.OrderShipped", 1);
    unknown.event_type = "causeway.orders.v1.OrderTeleported".into();
    let mut garbage = fixture("causeway.orders.v1.OrderShipped", 1);
    garbage.data = b"{\"orderId\": 7} trailing".to_vec();
    let mut no_metadata = fixture("causeway.orders.v1.OrderShipped", 1);
    no_metadata.metadata = b"[]".to_vec();
    for record in [unknown, garbage, no_metadata] {
        match converter.event(&record) {
            Err(FeedError::Corrupt(why)) => assert!(why.contains("position 42"), "{why}"),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn commit_times_round_trip_through_timestamps() {
    for micros in [0, 1, 1_700_000_000_123_456, -1, -1_500_000] {
        let timestamp = micros_timestamp(micros);
        assert!((0..1_000_000_000).contains(&timestamp.nanos));
        assert_eq!(timestamp_micros(&timestamp), Some(micros));
    }
    let bad = Timestamp {
        seconds: 1,
        nanos: -1,
    };
    assert_eq!(timestamp_micros(&bad), None);
    let far = Timestamp {
        seconds: i64::MAX,
        nanos: 0,
    };
    assert_eq!(timestamp_micros(&far), None);
}
