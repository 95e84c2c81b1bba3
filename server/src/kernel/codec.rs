//! Proto3 JSON for the stored event messages, so stored events read the same in KurrentDB's UI,
//! grpcurl and the gateway.
//!
//! The serde impls are generated from the contracts by pbjson-build (the proto crate's
//! `event-json` feature), so a payload goes straight from JSON text to the prost message: no
//! descriptor lookup and no dynamic message in between, which is most of what loading an
//! aggregate costs.

use serde::{Serialize, de::DeserializeOwned};

use super::DecodeError;

/// Proto3 JSON of `message`: lowerCamelCase names, 64-bit integers as strings, defaults omitted.
pub fn to_proto_json<M: Serialize>(message: &M) -> Vec<u8> {
    serde_json::to_vec(message).expect("generated message impls serialise to memory infallibly")
}

/// The message stored as `event_type`, read from proto3 JSON. Unknown fields are rejected so
/// that a payload the contracts do not describe is noticed instead of silently dropped.
pub fn from_proto_json<M: DeserializeOwned>(
    event_type: &str,
    json: &[u8],
) -> Result<M, DecodeError> {
    serde_json::from_slice(json).map_err(|e| DecodeError::Malformed {
        event_type: event_type.to_owned(),
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use causeway_proto::orders::{OrderLine, OrderPlaced};

    const PLACED: &str = "causeway.orders.v1.OrderPlaced";

    fn placed() -> OrderPlaced {
        OrderPlaced {
            order_id: "o-1".into(),
            customer_id: "c-1".into(),
            currency: "EUR".into(),
            lines: vec![OrderLine {
                sku: "sku-1".into(),
                quantity: 2,
                unit_price_minor: 250,
            }],
            total_minor: 500,
            awaits_fulfilment: true,
        }
    }

    #[test]
    fn round_trips_through_proto3_json_with_camel_case_names() {
        let json = to_proto_json(&placed());
        let text = String::from_utf8(json.clone()).unwrap();
        assert!(text.contains("\"customerId\":\"c-1\""), "{text}");
        assert!(
            text.contains("\"unitPriceMinor\":\"250\""),
            "int64 is a JSON string: {text}"
        );
        let back: OrderPlaced = from_proto_json(PLACED, &json).unwrap();
        assert_eq!(back, placed());
    }

    #[test]
    fn reads_what_any_proto3_json_writer_may_write() {
        // Field names as declared, 64-bit integers as numbers, explicit defaults, any order
        let json = br#"{"total_minor": 500, "lines": [{"sku": "sku-1", "quantity": 2,
            "unitPriceMinor": 250}], "currency": "EUR", "customer_id": "c-1",
            "orderId": "o-1", "shippedAt": null}"#;
        let err = from_proto_json::<OrderPlaced>(PLACED, json);
        assert!(err.is_err(), "shippedAt is not a field of OrderPlaced");
        let json = br#"{"total_minor": 500, "lines": [{"sku": "sku-1", "quantity": 2,
            "unitPriceMinor": 250}], "currency": "EUR", "customer_id": "c-1",
            "orderId": "o-1", "awaits_fulfilment": true}"#;
        assert_eq!(
            from_proto_json::<OrderPlaced>(PLACED, json).unwrap(),
            placed()
        );
        let empty: OrderPlaced = from_proto_json(PLACED, b"{}").unwrap();
        assert_eq!(empty, OrderPlaced::default());
    }

    #[test]
    fn rejects_unknown_fields_and_garbage_naming_the_type() {
        for bad in [
            &br#"{"nope":1}"#[..],
            b"\xff",
            b"[]",
            br#"{"totalMinor":"many"}"#,
        ] {
            match from_proto_json::<OrderPlaced>(PLACED, bad) {
                Err(DecodeError::Malformed { event_type, .. }) => assert_eq!(event_type, PLACED),
                other => panic!("{:?} decoded as {other:?}", String::from_utf8_lossy(bad)),
            }
        }
    }
}
