//! Product events <-> their protobuf messages (`causeway.inventory.v1.*`), stored as proto3
//! JSON. `ProductRegistered` is at schema version 2 (version 1 called `name` `title`; see
//! [`super::register_upcasters`]); every other event is at version 1. Decoding checks what the
//! domain guarantees when it records an event, so an impossible payload is reported, not folded.

use causeway_proto::inventory as proto;

use super::domain::{ProductEvent, ProductRegistered, StockReceived, StockReleased, StockReserved};
use crate::kernel::{
    DecodeError, DomainEvent,
    codec::{from_proto_json, to_proto_json},
};

/// Full protobuf name of [`ProductRegistered`].
pub const PRODUCT_REGISTERED: &str = "causeway.inventory.v1.ProductRegistered";
/// Current schema version of [`PRODUCT_REGISTERED`].
pub const PRODUCT_REGISTERED_VERSION: u32 = 2;
/// Full protobuf name of [`StockReceived`].
pub const STOCK_RECEIVED: &str = "causeway.inventory.v1.StockReceived";
/// Full protobuf name of [`StockReserved`].
pub const STOCK_RESERVED: &str = "causeway.inventory.v1.StockReserved";
/// Full protobuf name of [`StockReleased`].
pub const STOCK_RELEASED: &str = "causeway.inventory.v1.StockReleased";

impl DomainEvent for ProductEvent {
    fn event_type(&self) -> &'static str {
        match self {
            Self::Registered(_) => PRODUCT_REGISTERED,
            Self::StockReceived(_) => STOCK_RECEIVED,
            Self::StockReserved(_) => STOCK_RESERVED,
            Self::StockReleased(_) => STOCK_RELEASED,
        }
    }

    fn schema_version(&self) -> u32 {
        match self {
            Self::Registered(_) => PRODUCT_REGISTERED_VERSION,
            _ => 1,
        }
    }

    fn encode(&self) -> Vec<u8> {
        match self {
            Self::Registered(e) => to_proto_json(&proto::ProductRegistered {
                sku: e.sku.clone(),
                name: e.name.clone(),
            }),
            Self::StockReceived(e) => to_proto_json(&proto::StockReceived {
                sku: e.sku.clone(),
                quantity: e.quantity,
            }),
            Self::StockReserved(e) => to_proto_json(&proto::StockReserved {
                sku: e.sku.clone(),
                quantity: e.quantity,
                reservation_id: e.reservation_id.clone(),
            }),
            Self::StockReleased(e) => to_proto_json(&proto::StockReleased {
                sku: e.sku.clone(),
                quantity: e.quantity,
                reservation_id: e.reservation_id.clone(),
            }),
        }
    }

    fn decode(event_type: &str, data: &[u8]) -> Result<Self, DecodeError> {
        let check = |ok: bool, reason: &str| {
            if ok {
                Ok(())
            } else {
                Err(DecodeError::invalid(event_type, reason))
            }
        };
        Ok(match event_type {
            PRODUCT_REGISTERED => {
                let e: proto::ProductRegistered = from_proto_json(event_type, data)?;
                check(!e.sku.is_empty(), "sku is empty")?;
                Self::Registered(ProductRegistered {
                    sku: e.sku,
                    name: e.name,
                })
            }
            STOCK_RECEIVED => {
                let e: proto::StockReceived = from_proto_json(event_type, data)?;
                check(!e.sku.is_empty(), "sku is empty")?;
                check(e.quantity > 0, "quantity must be greater than 0")?;
                Self::StockReceived(StockReceived {
                    sku: e.sku,
                    quantity: e.quantity,
                })
            }
            STOCK_RESERVED => {
                let e: proto::StockReserved = from_proto_json(event_type, data)?;
                check(!e.sku.is_empty(), "sku is empty")?;
                check(e.quantity > 0, "quantity must be greater than 0")?;
                check(!e.reservation_id.is_empty(), "reservation_id is empty")?;
                Self::StockReserved(StockReserved {
                    sku: e.sku,
                    quantity: e.quantity,
                    reservation_id: e.reservation_id,
                })
            }
            STOCK_RELEASED => {
                let e: proto::StockReleased = from_proto_json(event_type, data)?;
                check(!e.sku.is_empty(), "sku is empty")?;
                check(e.quantity > 0, "quantity must be greater than 0")?;
                check(!e.reservation_id.is_empty(), "reservation_id is empty")?;
                Self::StockReleased(StockReleased {
                    sku: e.sku,
                    quantity: e.quantity,
                    reservation_id: e.reservation_id,
                })
            }
            other => return Err(DecodeError::UnknownType(other.to_owned())),
        })
    }
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;
    use crate::{inventory::register_upcasters, kernel::Upcasters, store::RecordedEvent};

    fn recorded(event_type: &str, schema_version: u32, data: &str) -> RecordedEvent {
        RecordedEvent {
            id: Uuid::nil(),
            stream: "product-s".into(),
            revision: 0,
            position: 1,
            event_type: event_type.into(),
            data: data.as_bytes().to_vec(),
            metadata: format!(r#"{{"eventType":"{event_type}","schemaVersion":{schema_version}}}"#)
                .into_bytes(),
            created_micros: 0,
        }
    }

    #[test]
    fn every_event_round_trips_through_proto3_json() {
        let sku = || "sku-1".to_owned();
        let events = [
            ProductEvent::Registered(ProductRegistered {
                sku: sku(),
                name: "Widget".into(),
            }),
            ProductEvent::StockReceived(StockReceived {
                sku: sku(),
                quantity: u64::MAX,
            }),
            ProductEvent::StockReserved(StockReserved {
                sku: sku(),
                quantity: 3,
                reservation_id: "r-1".into(),
            }),
            ProductEvent::StockReleased(StockReleased {
                sku: sku(),
                quantity: 2,
                reservation_id: "r-1".into(),
            }),
        ];
        for event in events {
            let json = event.encode();
            let back = ProductEvent::decode(event.event_type(), &json)
                .unwrap_or_else(|e| panic!("{}: {e}", event.event_type()));
            assert_eq!(back, event);
        }
    }

    #[test]
    fn product_registered_is_at_version_2_and_the_rest_at_1() {
        let registered = ProductEvent::Registered(ProductRegistered {
            sku: "s".into(),
            name: "n".into(),
        });
        assert_eq!(registered.schema_version(), 2);
        let received = ProductEvent::StockReceived(StockReceived {
            sku: "s".into(),
            quantity: 1,
        });
        assert_eq!(received.schema_version(), 1);
    }

    #[test]
    fn a_version_1_registration_is_upcast_from_title_to_name() {
        let upcasters = register_upcasters(Upcasters::default());
        let old = recorded(PRODUCT_REGISTERED, 1, r#"{"sku":"s","title":"Old"}"#);
        let event: ProductEvent = upcasters.decode(&old).unwrap();
        assert_eq!(
            event,
            ProductEvent::Registered(ProductRegistered {
                sku: "s".into(),
                name: "Old".into(),
            })
        );
        let current = recorded(PRODUCT_REGISTERED, 2, r#"{"sku":"s","name":"New"}"#);
        let event: ProductEvent = upcasters.decode(&current).unwrap();
        assert!(matches!(event, ProductEvent::Registered(r) if r.name == "New"));
        let unupcast = ProductEvent::decode(PRODUCT_REGISTERED, br#"{"sku":"s","title":"Old"}"#);
        assert!(matches!(unupcast, Err(DecodeError::Malformed { .. })));
    }

    #[test]
    fn payloads_the_domain_would_never_write_are_decode_errors() {
        let invalid = |event_type: &str, json: &str| {
            let result = ProductEvent::decode(event_type, json.as_bytes());
            assert!(
                matches!(result, Err(DecodeError::Invalid { .. })),
                "{json}: {result:?}"
            );
        };
        invalid(PRODUCT_REGISTERED, r#"{"name":"n"}"#);
        invalid(STOCK_RECEIVED, r#"{"sku":"s","quantity":"0"}"#);
        invalid(STOCK_RESERVED, r#"{"sku":"s","quantity":"1"}"#);
        invalid(STOCK_RELEASED, r#"{"sku":"s","reservationId":"r"}"#);
        let negative = ProductEvent::decode(STOCK_RECEIVED, br#"{"sku":"s","quantity":"-1"}"#);
        assert!(
            matches!(negative, Err(DecodeError::Malformed { .. })),
            "{negative:?}"
        );
    }

    #[test]
    fn unknown_types_and_garbage_are_decode_errors() {
        let unknown = ProductEvent::decode("causeway.inventory.v1.StockStolen", b"{}");
        assert!(matches!(unknown, Err(DecodeError::UnknownType(_))));
        let garbage = ProductEvent::decode(STOCK_RESERVED, b"[]");
        assert!(matches!(garbage, Err(DecodeError::Malformed { .. })));
    }
}
