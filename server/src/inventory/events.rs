//! Product events <-> their protobuf messages (`causeway.inventory.v1.*`), stored as proto3
//! JSON. `ProductRegistered` is at schema version 2 (version 1 called `name` `title`; see
//! [`super::register_upcasters`]); every other event is at version 1. Decoding checks what the
//! domain guarantees when it records an event, so an impossible payload is reported, not folded.

use causeway_proto::inventory as proto;

use super::domain::ProductEvent;
use super::values::{InvalidValue, ProductName, Quantity, ReservationId, Sku};
use crate::kernel::{
    DecodeError, DomainEvent,
    codec::{from_proto_json, to_proto_json},
};

/// Full protobuf name of [`ProductEvent::Registered`].
pub const PRODUCT_REGISTERED: &str = "causeway.inventory.v1.ProductRegistered";
/// Current schema version of [`PRODUCT_REGISTERED`].
pub const PRODUCT_REGISTERED_VERSION: u32 = 2;
/// Full protobuf name of [`ProductEvent::StockReceived`].
pub const STOCK_RECEIVED: &str = "causeway.inventory.v1.StockReceived";
/// Full protobuf name of [`ProductEvent::StockReserved`].
pub const STOCK_RESERVED: &str = "causeway.inventory.v1.StockReserved";
/// Full protobuf name of [`ProductEvent::StockReleased`].
pub const STOCK_RELEASED: &str = "causeway.inventory.v1.StockReleased";
/// Full protobuf name of [`ProductEvent::ReservationCommitted`].
pub const RESERVATION_COMMITTED: &str = "causeway.inventory.v1.ReservationCommitted";

impl DomainEvent for ProductEvent {
    fn event_type(&self) -> &'static str {
        match self {
            Self::Registered { .. } => PRODUCT_REGISTERED,
            Self::StockReceived { .. } => STOCK_RECEIVED,
            Self::StockReserved { .. } => STOCK_RESERVED,
            Self::StockReleased { .. } => STOCK_RELEASED,
            Self::ReservationCommitted { .. } => RESERVATION_COMMITTED,
        }
    }

    fn schema_version(&self) -> u32 {
        match self {
            Self::Registered { .. } => PRODUCT_REGISTERED_VERSION,
            _ => 1,
        }
    }

    fn encode(&self) -> Vec<u8> {
        match self {
            Self::Registered { sku, name } => to_proto_json(&proto::ProductRegistered {
                sku: sku.to_string(),
                name: name.to_string(),
            }),
            Self::StockReceived { sku, quantity } => to_proto_json(&proto::StockReceived {
                sku: sku.to_string(),
                quantity: quantity.get(),
            }),
            Self::StockReserved {
                sku,
                quantity,
                reservation_id,
            } => to_proto_json(&proto::StockReserved {
                sku: sku.to_string(),
                quantity: quantity.get(),
                reservation_id: reservation_id.to_string(),
            }),
            Self::StockReleased {
                sku,
                quantity,
                reservation_id,
            } => to_proto_json(&proto::StockReleased {
                sku: sku.to_string(),
                quantity: quantity.get(),
                reservation_id: reservation_id.to_string(),
            }),
            Self::ReservationCommitted {
                sku,
                quantity,
                reservation_id,
            } => to_proto_json(&proto::ReservationCommitted {
                sku: sku.to_string(),
                quantity: quantity.get(),
                reservation_id: reservation_id.to_string(),
            }),
        }
    }

    fn decode(event_type: &str, data: &[u8]) -> Result<Self, DecodeError> {
        let field = |name: &'static str| {
            move |e: InvalidValue| DecodeError::invalid(event_type, format!("{name} {e}"))
        };
        let sku = |raw: &str| Sku::recorded(raw).map_err(field("sku"));
        let quantity = |raw: u64| Quantity::recorded(raw).map_err(field("quantity"));
        let reservation = |raw: &str| ReservationId::recorded(raw).map_err(field("reservationId"));
        Ok(match event_type {
            PRODUCT_REGISTERED => {
                let e: proto::ProductRegistered = from_proto_json(event_type, data)?;
                Self::Registered {
                    sku: sku(&e.sku)?,
                    name: ProductName::recorded(&e.name),
                }
            }
            STOCK_RECEIVED => {
                let e: proto::StockReceived = from_proto_json(event_type, data)?;
                Self::StockReceived {
                    sku: sku(&e.sku)?,
                    quantity: quantity(e.quantity)?,
                }
            }
            STOCK_RESERVED => {
                let e: proto::StockReserved = from_proto_json(event_type, data)?;
                Self::StockReserved {
                    sku: sku(&e.sku)?,
                    quantity: quantity(e.quantity)?,
                    reservation_id: reservation(&e.reservation_id)?,
                }
            }
            STOCK_RELEASED => {
                let e: proto::StockReleased = from_proto_json(event_type, data)?;
                Self::StockReleased {
                    sku: sku(&e.sku)?,
                    quantity: quantity(e.quantity)?,
                    reservation_id: reservation(&e.reservation_id)?,
                }
            }
            RESERVATION_COMMITTED => {
                let e: proto::ReservationCommitted = from_proto_json(event_type, data)?;
                Self::ReservationCommitted {
                    sku: sku(&e.sku)?,
                    quantity: quantity(e.quantity)?,
                    reservation_id: reservation(&e.reservation_id)?,
                }
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

    fn registered(sku: &str, name: &str) -> ProductEvent {
        ProductEvent::Registered {
            sku: Sku::parse(sku).unwrap(),
            name: ProductName::recorded(name),
        }
    }

    fn units(n: u64) -> Quantity {
        Quantity::recorded(n).unwrap()
    }

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
        let sku = || Sku::parse("sku-1").unwrap();
        let rid = || ReservationId::parse("r-1").unwrap();
        let events = [
            registered("sku-1", "Widget"),
            ProductEvent::StockReceived {
                sku: sku(),
                quantity: units(u64::MAX),
            },
            ProductEvent::StockReserved {
                sku: sku(),
                quantity: units(3),
                reservation_id: rid(),
            },
            ProductEvent::StockReleased {
                sku: sku(),
                quantity: units(2),
                reservation_id: rid(),
            },
            ProductEvent::ReservationCommitted {
                sku: sku(),
                quantity: units(1),
                reservation_id: rid(),
            },
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
        assert_eq!(registered("s", "n").schema_version(), 2);
        let received = ProductEvent::StockReceived {
            sku: Sku::parse("s").unwrap(),
            quantity: units(1),
        };
        assert_eq!(received.schema_version(), 1);
    }

    #[test]
    fn a_version_1_registration_is_upcast_from_title_to_name() {
        let upcasters = register_upcasters(Upcasters::default());
        let old = recorded(PRODUCT_REGISTERED, 1, r#"{"sku":"s","title":"Old"}"#);
        let event: ProductEvent = upcasters.decode(&old).unwrap();
        assert_eq!(event, registered("s", "Old"));
        let current = recorded(PRODUCT_REGISTERED, 2, r#"{"sku":"s","name":"New"}"#);
        let event: ProductEvent = upcasters.decode(&current).unwrap();
        assert_eq!(event, registered("s", "New"));
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
        invalid(RESERVATION_COMMITTED, r#"{"sku":"s","quantity":"1"}"#);
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
