//! Fulfilment events <-> their protobuf messages (`causeway.fulfilment.v1.*`), stored as proto3
//! JSON. Decoding checks what the decisions guarantee when they record an event (ids present,
//! quantities positive, times readable), so an impossible payload is reported, not folded.

use causeway_proto::fulfilment as proto;

use super::domain::{FulfilmentEvent, PlannedLine};
use super::values::{
    InvalidValue, OrderId, Quantity, Reason, RefusedStep, ReservationId, Sku, Timestamp,
};
use crate::kernel::{
    DecodeError, DomainEvent,
    codec::{from_proto_json, to_proto_json},
};

/// Full protobuf name of [`FulfilmentEvent::Started`].
pub const FULFILMENT_STARTED: &str = "causeway.fulfilment.v1.FulfilmentStarted";
/// Full protobuf name of [`FulfilmentEvent::LineReserved`].
pub const LINE_RESERVED: &str = "causeway.fulfilment.v1.LineReserved";
/// Full protobuf name of [`FulfilmentEvent::LineRefused`].
pub const LINE_REFUSED: &str = "causeway.fulfilment.v1.LineRefused";
/// Full protobuf name of [`FulfilmentEvent::LineReleased`].
pub const LINE_RELEASED: &str = "causeway.fulfilment.v1.LineReleased";
/// Full protobuf name of [`FulfilmentEvent::LineCommitted`].
pub const LINE_COMMITTED: &str = "causeway.fulfilment.v1.LineCommitted";
/// Full protobuf name of [`FulfilmentEvent::Confirmed`].
pub const FULFILMENT_CONFIRMED: &str = "causeway.fulfilment.v1.FulfilmentConfirmed";
/// Full protobuf name of [`FulfilmentEvent::Rejected`].
pub const FULFILMENT_REJECTED: &str = "causeway.fulfilment.v1.FulfilmentRejected";
/// Full protobuf name of [`FulfilmentEvent::DeadlinePassed`].
pub const DEADLINE_PASSED: &str = "causeway.fulfilment.v1.DeadlinePassed";
/// Full protobuf name of [`FulfilmentEvent::WithdrawalNoticed`].
pub const WITHDRAWAL_NOTICED: &str = "causeway.fulfilment.v1.WithdrawalNoticed";
/// Full protobuf name of [`FulfilmentEvent::ShipmentNoticed`].
pub const SHIPMENT_NOTICED: &str = "causeway.fulfilment.v1.ShipmentNoticed";
/// Full protobuf name of [`FulfilmentEvent::StepRefused`].
pub const STEP_REFUSED: &str = "causeway.fulfilment.v1.StepRefused";

impl DomainEvent for FulfilmentEvent {
    fn event_type(&self) -> &'static str {
        match self {
            Self::Started { .. } => FULFILMENT_STARTED,
            Self::LineReserved { .. } => LINE_RESERVED,
            Self::LineRefused { .. } => LINE_REFUSED,
            Self::LineReleased { .. } => LINE_RELEASED,
            Self::LineCommitted { .. } => LINE_COMMITTED,
            Self::Confirmed { .. } => FULFILMENT_CONFIRMED,
            Self::Rejected { .. } => FULFILMENT_REJECTED,
            Self::DeadlinePassed { .. } => DEADLINE_PASSED,
            Self::WithdrawalNoticed { .. } => WITHDRAWAL_NOTICED,
            Self::ShipmentNoticed { .. } => SHIPMENT_NOTICED,
            Self::StepRefused { .. } => STEP_REFUSED,
        }
    }

    fn encode(&self) -> Vec<u8> {
        let id = |order_id: &OrderId| order_id.to_string();
        match self {
            Self::Started {
                order_id,
                lines,
                deadline,
            } => to_proto_json(&proto::FulfilmentStarted {
                order_id: id(order_id),
                lines: lines.iter().map(plan_to_proto).collect(),
                deadline: deadline.to_string(),
            }),
            Self::LineReserved {
                order_id,
                line,
                plan,
            } => to_proto_json(&proto::LineReserved {
                order_id: id(order_id),
                line: *line,
                sku: plan.sku.to_string(),
                quantity: plan.quantity.get(),
                reservation_id: plan.reservation_id.to_string(),
            }),
            Self::LineRefused {
                order_id,
                line,
                sku,
                reason,
            } => to_proto_json(&proto::LineRefused {
                order_id: id(order_id),
                line: *line,
                sku: sku.to_string(),
                reason: reason.to_string(),
            }),
            Self::LineReleased {
                order_id,
                line,
                sku,
                quantity,
                reservation_id,
            } => to_proto_json(&proto::LineReleased {
                order_id: id(order_id),
                line: *line,
                sku: sku.to_string(),
                quantity: *quantity,
                reservation_id: reservation_id.to_string(),
            }),
            Self::LineCommitted {
                order_id,
                line,
                plan,
            } => to_proto_json(&proto::LineCommitted {
                order_id: id(order_id),
                line: *line,
                sku: plan.sku.to_string(),
                quantity: plan.quantity.get(),
                reservation_id: plan.reservation_id.to_string(),
            }),
            Self::Confirmed { order_id } => to_proto_json(&proto::FulfilmentConfirmed {
                order_id: id(order_id),
            }),
            Self::Rejected { order_id, reason } => to_proto_json(&proto::FulfilmentRejected {
                order_id: id(order_id),
                reason: reason.to_string(),
            }),
            Self::DeadlinePassed { order_id, deadline } => to_proto_json(&proto::DeadlinePassed {
                order_id: id(order_id),
                deadline: deadline.to_string(),
            }),
            Self::WithdrawalNoticed {
                order_id,
                rejected,
                reason,
            } => to_proto_json(&proto::WithdrawalNoticed {
                order_id: id(order_id),
                rejected: *rejected,
                reason: reason.to_string(),
            }),
            Self::ShipmentNoticed { order_id } => to_proto_json(&proto::ShipmentNoticed {
                order_id: id(order_id),
            }),
            Self::StepRefused {
                order_id,
                step,
                reason,
            } => to_proto_json(&proto::StepRefused {
                order_id: id(order_id),
                step: step.to_string(),
                reason: reason.to_string(),
            }),
        }
    }

    fn decode(event_type: &str, data: &[u8]) -> Result<Self, DecodeError> {
        let read = Reader(event_type);
        Ok(match event_type {
            FULFILMENT_STARTED => {
                let e: proto::FulfilmentStarted = from_proto_json(event_type, data)?;
                if e.lines.is_empty() {
                    return Err(DecodeError::invalid(event_type, "a fulfilment has lines"));
                }
                Self::Started {
                    order_id: read.order(&e.order_id)?,
                    lines: e
                        .lines
                        .iter()
                        .map(|l| read.plan(&l.sku, l.quantity, &l.reservation_id))
                        .collect::<Result<_, _>>()?,
                    deadline: read.time(&e.deadline)?,
                }
            }
            LINE_RESERVED => {
                let e: proto::LineReserved = from_proto_json(event_type, data)?;
                Self::LineReserved {
                    order_id: read.order(&e.order_id)?,
                    line: e.line,
                    plan: read.plan(&e.sku, e.quantity, &e.reservation_id)?,
                }
            }
            LINE_REFUSED => {
                let e: proto::LineRefused = from_proto_json(event_type, data)?;
                Self::LineRefused {
                    order_id: read.order(&e.order_id)?,
                    line: e.line,
                    sku: read.sku(&e.sku)?,
                    reason: Reason::recorded(&e.reason),
                }
            }
            LINE_RELEASED => {
                let e: proto::LineReleased = from_proto_json(event_type, data)?;
                Self::LineReleased {
                    order_id: read.order(&e.order_id)?,
                    line: e.line,
                    sku: read.sku(&e.sku)?,
                    quantity: e.quantity,
                    reservation_id: read.reservation(&e.reservation_id)?,
                }
            }
            LINE_COMMITTED => {
                let e: proto::LineCommitted = from_proto_json(event_type, data)?;
                Self::LineCommitted {
                    order_id: read.order(&e.order_id)?,
                    line: e.line,
                    plan: read.plan(&e.sku, e.quantity, &e.reservation_id)?,
                }
            }
            FULFILMENT_CONFIRMED => {
                let e: proto::FulfilmentConfirmed = from_proto_json(event_type, data)?;
                Self::Confirmed {
                    order_id: read.order(&e.order_id)?,
                }
            }
            FULFILMENT_REJECTED => {
                let e: proto::FulfilmentRejected = from_proto_json(event_type, data)?;
                Self::Rejected {
                    order_id: read.order(&e.order_id)?,
                    reason: Reason::recorded(&e.reason),
                }
            }
            DEADLINE_PASSED => {
                let e: proto::DeadlinePassed = from_proto_json(event_type, data)?;
                Self::DeadlinePassed {
                    order_id: read.order(&e.order_id)?,
                    deadline: read.time(&e.deadline)?,
                }
            }
            WITHDRAWAL_NOTICED => {
                let e: proto::WithdrawalNoticed = from_proto_json(event_type, data)?;
                Self::WithdrawalNoticed {
                    order_id: read.order(&e.order_id)?,
                    rejected: e.rejected,
                    reason: Reason::recorded(&e.reason),
                }
            }
            SHIPMENT_NOTICED => {
                let e: proto::ShipmentNoticed = from_proto_json(event_type, data)?;
                Self::ShipmentNoticed {
                    order_id: read.order(&e.order_id)?,
                }
            }
            STEP_REFUSED => {
                let e: proto::StepRefused = from_proto_json(event_type, data)?;
                Self::StepRefused {
                    order_id: read.order(&e.order_id)?,
                    step: RefusedStep::parse(&e.step).map_err(|e| read.invalid("step", e))?,
                    reason: Reason::recorded(&e.reason),
                }
            }
            other => return Err(DecodeError::UnknownType(other.to_owned())),
        })
    }
}

fn plan_to_proto(plan: &PlannedLine) -> proto::PlannedLine {
    proto::PlannedLine {
        sku: plan.sku.to_string(),
        quantity: plan.quantity.get(),
        reservation_id: plan.reservation_id.to_string(),
    }
}

/// Reads the fields of one stored event, naming the event type in every complaint.
struct Reader<'a>(&'a str);

impl Reader<'_> {
    fn invalid(&self, field: &str, e: InvalidValue) -> DecodeError {
        DecodeError::invalid(self.0, format!("{field} {e}"))
    }

    fn order(&self, raw: &str) -> Result<OrderId, DecodeError> {
        OrderId::recorded(raw).map_err(|e| self.invalid("orderId", e))
    }

    fn sku(&self, raw: &str) -> Result<Sku, DecodeError> {
        Sku::recorded(raw).map_err(|e| self.invalid("sku", e))
    }

    fn reservation(&self, raw: &str) -> Result<ReservationId, DecodeError> {
        ReservationId::recorded(raw).map_err(|e| self.invalid("reservationId", e))
    }

    fn time(&self, raw: &str) -> Result<Timestamp, DecodeError> {
        Timestamp::parse(raw).map_err(|e| self.invalid("deadline", e))
    }

    fn plan(
        &self,
        sku: &str,
        quantity: u64,
        reservation_id: &str,
    ) -> Result<PlannedLine, DecodeError> {
        Ok(PlannedLine {
            sku: self.sku(sku)?,
            quantity: Quantity::recorded(quantity).map_err(|e| self.invalid("quantity", e))?,
            reservation_id: self.reservation(reservation_id)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id() -> OrderId {
        OrderId::parse("o-1").unwrap()
    }

    fn plan() -> PlannedLine {
        PlannedLine {
            sku: Sku::parse("kettle").unwrap(),
            quantity: Quantity::parse(3).unwrap(),
            reservation_id: ReservationId::parse("order-o-1-0").unwrap(),
        }
    }

    #[test]
    fn every_event_round_trips_through_proto3_json() {
        let reason = || Reason::parse("not enough kettle: 3 requested, 1 available").unwrap();
        let at = Timestamp::from_millis(1_767_225_630_000);
        let events = [
            FulfilmentEvent::Started {
                order_id: id(),
                lines: vec![plan()],
                deadline: at,
            },
            FulfilmentEvent::LineReserved {
                order_id: id(),
                line: 0,
                plan: plan(),
            },
            FulfilmentEvent::LineRefused {
                order_id: id(),
                line: 1,
                sku: plan().sku,
                reason: reason(),
            },
            FulfilmentEvent::LineReleased {
                order_id: id(),
                line: 0,
                sku: plan().sku,
                quantity: 3,
                reservation_id: plan().reservation_id,
            },
            FulfilmentEvent::LineCommitted {
                order_id: id(),
                line: 0,
                plan: plan(),
            },
            FulfilmentEvent::Confirmed { order_id: id() },
            FulfilmentEvent::Rejected {
                order_id: id(),
                reason: reason(),
            },
            FulfilmentEvent::DeadlinePassed {
                order_id: id(),
                deadline: at,
            },
            FulfilmentEvent::WithdrawalNoticed {
                order_id: id(),
                rejected: true,
                reason: reason(),
            },
            FulfilmentEvent::ShipmentNoticed { order_id: id() },
            FulfilmentEvent::StepRefused {
                order_id: id(),
                step: RefusedStep::Commit(2),
                reason: reason(),
            },
        ];
        for event in events {
            assert_eq!(event.schema_version(), 1);
            let back = FulfilmentEvent::decode(event.event_type(), &event.encode())
                .unwrap_or_else(|e| panic!("{}: {e}", event.event_type()));
            assert_eq!(back, event);
        }
    }

    #[test]
    fn payloads_the_decisions_would_never_write_are_decode_errors() {
        let invalid = |event_type: &str, json: &str| {
            let result = FulfilmentEvent::decode(event_type, json.as_bytes());
            assert!(
                matches!(result, Err(DecodeError::Invalid { .. })),
                "{json}: {result:?}"
            );
        };
        invalid(FULFILMENT_STARTED, r#"{"orderId":"o","deadline":"x"}"#);
        invalid(
            FULFILMENT_STARTED,
            r#"{"orderId":"o","lines":[{"sku":"k","quantity":"1","reservationId":"r"}],"deadline":"soon"}"#,
        );
        invalid(
            LINE_RESERVED,
            r#"{"orderId":"o","sku":"k","quantity":"0","reservationId":"r"}"#,
        );
        invalid(FULFILMENT_CONFIRMED, r#"{"orderId":""}"#);
        invalid(STEP_REFUSED, r#"{"orderId":"o","step":"reserve/1"}"#);
        let unknown = FulfilmentEvent::decode("causeway.fulfilment.v1.Teleported", b"{}");
        assert!(matches!(unknown, Err(DecodeError::UnknownType(_))));
        let garbage = FulfilmentEvent::decode(LINE_REFUSED, b"[]");
        assert!(matches!(garbage, Err(DecodeError::Malformed { .. })));
    }
}
