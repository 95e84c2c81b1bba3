//! Order events <-> their protobuf messages (`causeway.orders.v1.*`), stored as proto3 JSON.
//! Decoding checks what the domain guarantees when it records an event, so a hand-edited or
//! foreign payload is reported as unreadable instead of producing an impossible order.

use causeway_proto::orders as proto;

use super::domain::{
    OrderCancelled, OrderConfirmed, OrderEvent, OrderLine, OrderPlaced, OrderRejected, OrderShipped,
};
use crate::kernel::{
    DecodeError, DomainEvent,
    codec::{from_proto_json, to_proto_json},
};

/// Full protobuf name of [`OrderPlaced`].
pub const ORDER_PLACED: &str = "causeway.orders.v1.OrderPlaced";
/// Full protobuf name of [`OrderConfirmed`].
pub const ORDER_CONFIRMED: &str = "causeway.orders.v1.OrderConfirmed";
/// Full protobuf name of [`OrderRejected`].
pub const ORDER_REJECTED: &str = "causeway.orders.v1.OrderRejected";
/// Full protobuf name of [`OrderCancelled`].
pub const ORDER_CANCELLED: &str = "causeway.orders.v1.OrderCancelled";
/// Full protobuf name of [`OrderShipped`].
pub const ORDER_SHIPPED: &str = "causeway.orders.v1.OrderShipped";

impl DomainEvent for OrderEvent {
    fn event_type(&self) -> &'static str {
        match self {
            Self::Placed(_) => ORDER_PLACED,
            Self::Confirmed(_) => ORDER_CONFIRMED,
            Self::Rejected(_) => ORDER_REJECTED,
            Self::Cancelled(_) => ORDER_CANCELLED,
            Self::Shipped(_) => ORDER_SHIPPED,
        }
    }

    fn encode(&self) -> Vec<u8> {
        match self {
            Self::Placed(e) => to_proto_json(&proto::OrderPlaced {
                order_id: e.order_id.clone(),
                customer_id: e.customer_id.clone(),
                currency: e.currency.clone(),
                lines: e.lines.iter().map(line_to_proto).collect(),
                total_minor: e.total_minor,
            }),
            Self::Confirmed(e) => to_proto_json(&proto::OrderConfirmed {
                order_id: e.order_id.clone(),
            }),
            Self::Rejected(e) => to_proto_json(&proto::OrderRejected {
                order_id: e.order_id.clone(),
                reason: e.reason.clone(),
            }),
            Self::Cancelled(e) => to_proto_json(&proto::OrderCancelled {
                order_id: e.order_id.clone(),
                reason: e.reason.clone(),
            }),
            Self::Shipped(e) => to_proto_json(&proto::OrderShipped {
                order_id: e.order_id.clone(),
            }),
        }
    }

    fn decode(event_type: &str, data: &[u8]) -> Result<Self, DecodeError> {
        let invalid = |reason: &str| DecodeError::invalid(event_type, reason);
        let require_id = |order_id: String| {
            if order_id.is_empty() {
                Err(invalid("order_id is empty"))
            } else {
                Ok(order_id)
            }
        };
        Ok(match event_type {
            ORDER_PLACED => {
                let e: proto::OrderPlaced = from_proto_json(event_type, data)?;
                if e.lines.is_empty() {
                    return Err(invalid("an order has at least one line"));
                }
                if e.total_minor < 0 {
                    return Err(invalid("total_minor is negative"));
                }
                let lines = e
                    .lines
                    .into_iter()
                    .enumerate()
                    .map(|(i, l)| {
                        line_from_proto(l).map_err(|why| invalid(&format!("lines[{i}]: {why}")))
                    })
                    .collect::<Result<_, _>>()?;
                Self::Placed(OrderPlaced {
                    order_id: require_id(e.order_id)?,
                    customer_id: e.customer_id,
                    currency: e.currency,
                    lines,
                    total_minor: e.total_minor,
                })
            }
            ORDER_CONFIRMED => {
                let e: proto::OrderConfirmed = from_proto_json(event_type, data)?;
                Self::Confirmed(OrderConfirmed {
                    order_id: require_id(e.order_id)?,
                })
            }
            ORDER_REJECTED => {
                let e: proto::OrderRejected = from_proto_json(event_type, data)?;
                Self::Rejected(OrderRejected {
                    order_id: require_id(e.order_id)?,
                    reason: e.reason,
                })
            }
            ORDER_CANCELLED => {
                let e: proto::OrderCancelled = from_proto_json(event_type, data)?;
                Self::Cancelled(OrderCancelled {
                    order_id: require_id(e.order_id)?,
                    reason: e.reason,
                })
            }
            ORDER_SHIPPED => {
                let e: proto::OrderShipped = from_proto_json(event_type, data)?;
                Self::Shipped(OrderShipped {
                    order_id: require_id(e.order_id)?,
                })
            }
            other => return Err(DecodeError::UnknownType(other.to_owned())),
        })
    }
}

fn line_to_proto(line: &OrderLine) -> proto::OrderLine {
    proto::OrderLine {
        sku: line.sku.clone(),
        quantity: line.quantity,
        unit_price_minor: line.unit_price_minor,
    }
}

fn line_from_proto(line: proto::OrderLine) -> Result<OrderLine, &'static str> {
    if line.sku.is_empty() {
        return Err("sku is empty");
    }
    if line.quantity == 0 {
        return Err("quantity must be greater than 0");
    }
    if line.unit_price_minor < 0 {
        return Err("unit_price_minor is negative");
    }
    Ok(OrderLine {
        sku: line.sku,
        quantity: line.quantity,
        unit_price_minor: line.unit_price_minor,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn placed() -> OrderEvent {
        OrderEvent::Placed(OrderPlaced {
            order_id: "o-1".into(),
            customer_id: "c-1".into(),
            currency: "EUR".into(),
            lines: vec![OrderLine {
                sku: "sku-1".into(),
                quantity: 2,
                unit_price_minor: 250,
            }],
            total_minor: 500,
        })
    }

    #[test]
    fn every_event_round_trips_through_proto3_json() {
        let id = || "o-1".to_owned();
        let events = [
            placed(),
            OrderEvent::Confirmed(OrderConfirmed { order_id: id() }),
            OrderEvent::Rejected(OrderRejected {
                order_id: id(),
                reason: "no stock".into(),
            }),
            OrderEvent::Cancelled(OrderCancelled {
                order_id: id(),
                reason: "changed mind".into(),
            }),
            OrderEvent::Shipped(OrderShipped { order_id: id() }),
        ];
        for event in events {
            assert_eq!(event.schema_version(), 1);
            let json = event.encode();
            let back = OrderEvent::decode(event.event_type(), &json)
                .unwrap_or_else(|e| panic!("{}: {e}", event.event_type()));
            assert_eq!(back, event);
        }
    }

    #[test]
    fn stored_json_uses_proto3_names() {
        let text = String::from_utf8(placed().encode()).unwrap();
        assert!(text.contains(r#""orderId":"o-1""#), "{text}");
        assert!(text.contains(r#""totalMinor":"500""#), "{text}");
    }

    #[test]
    fn payloads_the_domain_would_never_write_are_decode_errors() {
        let invalid = |json: &str| {
            let result = OrderEvent::decode(ORDER_PLACED, json.as_bytes());
            assert!(
                matches!(result, Err(DecodeError::Invalid { .. })),
                "{json}: {result:?}"
            );
        };
        let line = r#"{"sku":"a","quantity":1,"unitPriceMinor":"5"}"#;
        invalid(r#"{"orderId":"o","lines":[]}"#);
        invalid(r#"{"orderId":"o","lines":[{"sku":"a","quantity":1,"unitPriceMinor":"-5"}]}"#);
        invalid(r#"{"orderId":"o","lines":[{"sku":"a","quantity":0,"unitPriceMinor":"5"}]}"#);
        invalid(&format!(
            r#"{{"orderId":"o","lines":[{line}],"totalMinor":"-1"}}"#
        ));
        invalid(&format!(r#"{{"orderId":"","lines":[{line}]}}"#));
        let negative = OrderEvent::decode(
            ORDER_PLACED,
            br#"{"orderId":"o","lines":[{"sku":"a","quantity":-1}]}"#,
        );
        assert!(
            matches!(negative, Err(DecodeError::Malformed { .. })),
            "{negative:?}"
        );
        let shipped = OrderEvent::decode(ORDER_SHIPPED, br#"{"orderId":""}"#);
        assert!(matches!(shipped, Err(DecodeError::Invalid { .. })));
    }

    #[test]
    fn unknown_types_and_garbage_are_decode_errors() {
        let unknown = OrderEvent::decode("causeway.orders.v1.OrderTeleported", b"{}");
        assert!(matches!(unknown, Err(DecodeError::UnknownType(_))));
        let garbage = OrderEvent::decode(ORDER_CONFIRMED, b"not json");
        assert!(matches!(garbage, Err(DecodeError::Malformed { .. })));
    }
}
