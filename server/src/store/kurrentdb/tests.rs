//! What can be checked without a server: conversions, connection-string handling, and failing
//! fast when nothing listens. The adapter's behaviour against KurrentDB's protocol is pinned by
//! the conformance suite and fault tests over the protocol double (`tests/`).

use std::time::{Duration, Instant};

use uuid::Uuid;

use super::{KurrentDbEventStore, convert};
use crate::store::{EventStore, ExpectedRevision, NewEvent, StoreError};

fn event(data: &[u8]) -> NewEvent {
    NewEvent {
        id: Uuid::new_v4(),
        event_type: "causeway.test.v1.Happened".into(),
        data: data.to_vec(),
        metadata: br#"{"commandId":"c"}"#.to_vec(),
    }
}

#[test]
fn json_payloads_are_stored_as_json_byte_for_byte() {
    let data = format!(
        "{:?}",
        convert::event_data(event(br#"{"b":1,"a":[1.50,"x"]}"#))
    );
    assert!(data.contains("application/json"), "{data}");
    assert!(data.contains(r#"{\"b\":1,\"a\":[1.50,\"x\"]}"#), "{data}");
}

#[test]
fn payloads_whose_bytes_json_would_change_are_stored_as_binary() {
    // Not JSON at all, and JSON with surrounding whitespace (which a JSON payload would lose).
    for bytes in [&b"\x00 not json"[..], b" {\"padded\": true} \n"] {
        let data = format!("{:?}", convert::event_data(event(bytes)));
        assert!(data.contains("application/octet-stream"), "{data}");
    }
}

#[test]
fn a_malformed_connection_string_is_invalid_and_not_repeated() {
    for url in [
        "http://admin:hunter2@db:2113",
        "kurrentdb://admin:hunter2@db:2113?tls=maybe",
        "not a url hunter2",
    ] {
        match KurrentDbEventStore::connect(url) {
            Err(StoreError::Invalid(message)) => {
                assert!(!message.contains("hunter2"), "{message}");
            }
            Err(other) => panic!("{url}: expected Invalid, got {other:?}"),
            Ok(_) => panic!("{url}: accepted"),
        }
    }
}

#[test]
fn connecting_contacts_nobody() {
    // Port 1 on loopback: nothing listens, and `connect` must not care.
    let store = KurrentDbEventStore::connect("kurrentdb://127.0.0.1:1?tls=false");
    assert!(store.is_ok());
}

#[tokio::test]
async fn operations_fail_fast_while_the_server_is_down_and_keep_trying() {
    let store =
        KurrentDbEventStore::connect("kurrentdb://127.0.0.1:1?tls=false&discoveryInterval=0")
            .expect("valid connection string");
    // Each call builds a client again after the last one died on its first connect.
    for _ in 0..3 {
        let started = Instant::now();
        let head = store.head_position().await;
        assert!(matches!(head, Err(StoreError::Unavailable(_))), "{head:?}");
        let appended = store
            .append("order-1", ExpectedRevision::Any, vec![event(b"{}")])
            .await;
        assert!(
            matches!(appended, Err(StoreError::Unavailable(_))),
            "{appended:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(10), "fails fast");
    }
}

#[test]
fn subscriptions_start_after_the_given_position() {
    assert_eq!(convert::start_after(None), kurrentdb::StreamPosition::Start);
    assert_eq!(
        convert::start_after(Some(42)),
        kurrentdb::StreamPosition::Position(convert::all_position(42))
    );
}
