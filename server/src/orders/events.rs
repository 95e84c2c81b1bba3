//! Order events <-> their protobuf messages (`causeway.orders.v1.*`), stored as proto3 JSON.
//! Decoding checks what the domain guarantees when it records an event, so a hand-edited or
//! foreign payload is reported as unreadable instead of producing an impossible order.

use causeway_proto::orders as proto;

use super::domain::OrderEvent;
use super::values::{
    Currency, CustomerId, InvalidValue, Money, OrderId, OrderLine, Quantity, Reason, Sku,
};
use crate::kernel::{
    DecodeError, DomainEvent,
    codec::{from_proto_json, to_proto_json},
};

/// Full protobuf name of [`OrderEvent::Placed`].
pub const ORDER_PLACED: &str = "causeway.orders.v1.OrderPlaced";
/// Full protobuf name of [`OrderEvent::Confirmed`].
pub const ORDER_CONFIRMED: &str = "causeway.orders.v1.OrderConfirmed";
/// Full protobuf name of [`OrderEvent::Rejected`].
pub const ORDER_REJECTED: &str = "causeway.orders.v1.OrderRejected";
/// Full protobuf name of [`OrderEvent::Cancelled`].
pub const ORDER_CANCELLED: &str = "causeway.orders.v1.OrderCancelled";
/// Full protobuf name of [`OrderEvent::Shipped`].
pub const ORDER_SHIPPED: &str = "causeway.orders.v1.OrderShipped";

impl DomainEvent for OrderEvent {
    fn event_type(&self) -> &'static str {
        match self {
            Self::Placed { .. } => ORDER_PLACED,
            Self::Confirmed { .. } => ORDER_CONFIRMED,
            Self::Rejected { .. } => ORDER_REJECTED,
            Self::Cancelled { .. } => ORDER_CANCELLED,
            Self::Shipped { .. } => ORDER_SHIPPED,
        }
    }

    fn encode(&self) -> Vec<u8> {
        match self {
            Self::Placed {
                order_id,
                customer_id,
                currency,
                lines,
                total,
                awaits_fulfilment,
            } => to_proto_json(&proto::OrderPlaced {
                order_id: order_id.to_string(),
                customer_id: customer_id.to_string(),
                currency: currency.to_string(),
                lines: lines.iter().map(line_to_proto).collect(),
                total_minor: total.minor(),
                awaits_fulfilment: *awaits_fulfilment,
            }),
            Self::Confirmed { order_id } => to_proto_json(&proto::OrderConfirmed {
                order_id: order_id.to_string(),
            }),
            Self::Rejected { order_id, reason } => to_proto_json(&proto::OrderRejected {
                order_id: order_id.to_string(),
                reason: reason.to_string(),
            }),
            Self::Cancelled { order_id, reason } => to_proto_json(&proto::OrderCancelled {
                order_id: order_id.to_string(),
                reason: reason.to_string(),
            }),
            Self::Shipped { order_id } => to_proto_json(&proto::OrderShipped {
                order_id: order_id.to_string(),
            }),
        }
    }

    fn decode(event_type: &str, data: &[u8]) -> Result<Self, DecodeError> {
        let field =
            |name: &str, e: InvalidValue| DecodeError::invalid(event_type, format!("{name}: {e}"));
        let order_id = |raw: &str| OrderId::recorded(raw).map_err(|e| field("orderId", e));
        Ok(match event_type {
            ORDER_PLACED => {
                let e: proto::OrderPlaced = from_proto_json(event_type, data)?;
                if e.lines.is_empty() {
                    return Err(DecodeError::invalid(
                        event_type,
                        "an order has at least one line",
                    ));
                }
                let lines = e
                    .lines
                    .iter()
                    .enumerate()
                    .map(|(i, l)| line_from_proto(l).map_err(|e| field(&format!("lines[{i}]"), e)))
                    .collect::<Result<_, _>>()?;
                Self::Placed {
                    order_id: order_id(&e.order_id)?,
                    customer_id: CustomerId::recorded(&e.customer_id),
                    currency: Currency::recorded(&e.currency),
                    lines,
                    total: Money::parse(e.total_minor).map_err(|e| field("totalMinor", e))?,
                    awaits_fulfilment: e.awaits_fulfilment,
                }
            }
            ORDER_CONFIRMED => {
                let e: proto::OrderConfirmed = from_proto_json(event_type, data)?;
                Self::Confirmed {
                    order_id: order_id(&e.order_id)?,
                }
            }
            ORDER_REJECTED => {
                let e: proto::OrderRejected = from_proto_json(event_type, data)?;
                Self::Rejected {
                    order_id: order_id(&e.order_id)?,
                    reason: Reason::recorded(&e.reason),
                }
            }
            ORDER_CANCELLED => {
                let e: proto::OrderCancelled = from_proto_json(event_type, data)?;
                Self::Cancelled {
                    order_id: order_id(&e.order_id)?,
                    reason: Reason::recorded(&e.reason),
                }
            }
            ORDER_SHIPPED => {
                let e: proto::OrderShipped = from_proto_json(event_type, data)?;
                Self::Shipped {
                    order_id: order_id(&e.order_id)?,
                }
            }
            other => return Err(DecodeError::UnknownType(other.to_owned())),
        })
    }
}

fn line_to_proto(line: &OrderLine) -> proto::OrderLine {
    proto::OrderLine {
        sku: line.sku.to_string(),
        // Callers cannot order more than MAX_QUANTITY (< u32::MAX) units on a line.
        quantity: u32::try_from(line.quantity.get()).unwrap_or(u32::MAX),
        unit_price_minor: line.unit_price.minor(),
    }
}

/// A stored line, checked for the invariants the domain relies on.
fn line_from_proto(line: &proto::OrderLine) -> Result<OrderLine, InvalidValue> {
    let sku = Sku::recorded(&line.sku).map_err(|e| InvalidValue(format!("sku {e}")))?;
    let quantity = Quantity::recorded(u64::from(line.quantity))
        .map_err(|e| InvalidValue(format!("quantity {e}")))?;
    let unit_price = Money::parse(line.unit_price_minor)
        .map_err(|e| InvalidValue(format!("unitPriceMinor {e}")))?;
    Ok(OrderLine {
        sku,
        quantity,
        unit_price,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id() -> OrderId {
        OrderId::parse("o-1").unwrap()
    }

    fn placed() -> OrderEvent {
        OrderEvent::Placed {
            order_id: id(),
            customer_id: CustomerId::parse("c-1").unwrap(),
            currency: Currency::parse("EUR").unwrap(),
            lines: vec![OrderLine {
                sku: Sku::parse("sku-1").unwrap(),
                quantity: Quantity::parse(2).unwrap(),
                unit_price: Money::parse(250).unwrap(),
            }],
            total: Money::parse(500).unwrap(),
            awaits_fulfilment: true,
        }
    }

    #[test]
    fn every_event_round_trips_through_proto3_json() {
        let events = [
            placed(),
            OrderEvent::Confirmed { order_id: id() },
            OrderEvent::Rejected {
                order_id: id(),
                reason: Reason::recorded("no stock"),
            },
            OrderEvent::Cancelled {
                order_id: id(),
                reason: Reason::recorded("changed mind"),
            },
            OrderEvent::Shipped { order_id: id() },
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
        assert!(text.contains(r#""awaitsFulfilment":true"#), "{text}");
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
