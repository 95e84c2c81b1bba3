//! The `fulfilment_deadlines` read model: one document per fulfilment whose deadline can still
//! matter (started, and neither confirmed, rejected, withdrawn nor past its deadline), folded
//! from the `fulfilment-<orderId>` streams by the ordinary projection runner, so it survives
//! restarts with the same guarantees as every read model. The deadline worker
//! (`timeouts.rs`) asks it which deadlines are due.

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::domain::{Fulfilment, FulfilmentEvent};
use super::values::RefusedStep;
use crate::{
    kernel::{Aggregate, Upcasters},
    projection::{BatchView, Projection, ProjectionError},
    readstore::IndexSpec,
    store::RecordedEvent,
};

/// Projection name: its checkpoint key and health-service suffix.
pub const NAME: &str = "fulfilment_deadlines";
/// Logical collection of open deadlines, keyed by order id.
pub const COLLECTION: &str = "deadlines";

/// An open deadline (`deadlines` collection, id = order id), in camelCase JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeadlineDocument {
    /// The order.
    pub order_id: String,
    /// The deadline in milliseconds since the epoch, for range queries.
    pub due_at: u64,
}

/// Folds fulfilment events into [`DeadlineDocument`]s.
pub struct DeadlinesProjection {
    upcasters: Arc<Upcasters>,
}

impl DeadlinesProjection {
    /// A projection decoding with `upcasters`.
    pub fn new(upcasters: Arc<Upcasters>) -> Self {
        Self { upcasters }
    }
}

#[async_trait]
impl Projection for DeadlinesProjection {
    fn name(&self) -> &'static str {
        NAME
    }

    fn categories(&self) -> &'static [&'static str] {
        &[Fulfilment::CATEGORY]
    }

    /// The worker asks for the earliest deadlines.
    fn indexes(&self) -> Vec<IndexSpec> {
        vec![IndexSpec {
            collection: COLLECTION.to_owned(),
            fields: vec!["dueAt".to_owned()],
            unique: false,
        }]
    }

    async fn apply(
        &self,
        event: &RecordedEvent,
        view: &mut BatchView<'_>,
    ) -> Result<(), ProjectionError> {
        let decoded: FulfilmentEvent = self.upcasters.decode(event)?;
        let order_id = decoded.order_id().to_string();
        if event.stream != Fulfilment::stream_id(&order_id) {
            return Err(ProjectionError::inconsistent(
                event,
                format!("it names order {order_id}"),
            ));
        }
        match decoded {
            FulfilmentEvent::Started { deadline, .. } => view.put_as(
                COLLECTION,
                &order_id,
                DeadlineDocument {
                    order_id: order_id.clone(),
                    due_at: deadline.millis(),
                },
            ),
            FulfilmentEvent::Confirmed { .. }
            | FulfilmentEvent::Rejected { .. }
            | FulfilmentEvent::DeadlinePassed { .. }
            | FulfilmentEvent::WithdrawalNoticed { .. }
            | FulfilmentEvent::ShipmentNoticed { .. }
            | FulfilmentEvent::StepRefused {
                step: RefusedStep::Confirm | RefusedStep::Reject,
                ..
            } => view.delete(COLLECTION, &order_id),
            FulfilmentEvent::LineReserved { .. }
            | FulfilmentEvent::LineRefused { .. }
            | FulfilmentEvent::LineReleased { .. }
            | FulfilmentEvent::LineCommitted { .. }
            | FulfilmentEvent::StepRefused { .. } => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
