//! Given fulfilment events, when folded into the embedded read store, then exactly the
//! fulfilments whose deadline can still matter have a document.

use serde_json::json;

use super::*;
use crate::fulfilment::domain::PlannedLine;
use crate::fulfilment::values::{OrderId, Quantity, Reason, ReservationId, Sku, Timestamp};
use crate::projection::testing::{document, fold, read_store, recorded};

fn projection() -> DeadlinesProjection {
    DeadlinesProjection::new(Arc::new(Upcasters::default()))
}

fn id() -> OrderId {
    OrderId::parse("o-1").unwrap()
}

fn started() -> FulfilmentEvent {
    FulfilmentEvent::Started {
        order_id: id(),
        lines: vec![PlannedLine {
            sku: Sku::parse("kettle").unwrap(),
            quantity: Quantity::parse(1).unwrap(),
            reservation_id: ReservationId::parse("order-o-1-0").unwrap(),
        }],
        deadline: Timestamp::from_millis(5_000),
    }
}

/// The deadline document of `o-1` after `events` (revision i, position 10 + i).
async fn after(events: &[FulfilmentEvent]) -> Option<serde_json::Value> {
    let (reads, _dir) = read_store();
    let recorded: Vec<_> = (0u64..)
        .zip(events)
        .map(|(i, e)| recorded("fulfilment-o-1", i, 10 + i, e))
        .collect();
    fold(&projection(), &*reads, &recorded).await.unwrap();
    document(&*reads, COLLECTION, "o-1").await
}

#[tokio::test]
async fn a_started_fulfilment_has_an_open_deadline_until_it_is_settled() {
    let open = Some(json!({"orderId": "o-1", "dueAt": 5_000}));
    assert_eq!(after(&[started()]).await, open);
    let reserved = FulfilmentEvent::LineReserved {
        order_id: id(),
        line: 0,
        plan: PlannedLine {
            sku: Sku::parse("kettle").unwrap(),
            quantity: Quantity::parse(1).unwrap(),
            reservation_id: ReservationId::parse("order-o-1-0").unwrap(),
        },
    };
    assert_eq!(after(&[started(), reserved.clone()]).await, open);
    let commit_refused = FulfilmentEvent::StepRefused {
        order_id: id(),
        step: RefusedStep::Commit(0),
        reason: Reason::default(),
    };
    assert_eq!(after(&[started(), commit_refused]).await, open);
    let settled = [
        FulfilmentEvent::Confirmed { order_id: id() },
        FulfilmentEvent::Rejected {
            order_id: id(),
            reason: Reason::default(),
        },
        FulfilmentEvent::DeadlinePassed {
            order_id: id(),
            deadline: Timestamp::from_millis(5_000),
        },
        FulfilmentEvent::WithdrawalNoticed {
            order_id: id(),
            rejected: false,
            reason: Reason::default(),
        },
        FulfilmentEvent::StepRefused {
            order_id: id(),
            step: RefusedStep::Confirm,
            reason: Reason::default(),
        },
    ];
    for event in settled {
        let events = [started(), reserved.clone(), event.clone()];
        assert_eq!(after(&events).await, None, "{event:?}");
    }
}

#[tokio::test]
async fn an_event_naming_another_order_than_its_stream_is_inconsistent() {
    let (reads, _dir) = read_store();
    let event = recorded("fulfilment-o-2", 0, 1, &started());
    let err = fold(&projection(), &*reads, &[event]).await.unwrap_err();
    assert!(matches!(err, ProjectionError::Inconsistent(_)), "{err:?}");
}
