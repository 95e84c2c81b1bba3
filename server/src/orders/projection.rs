//! The `orders` read model: one JSON document per order, folded from the `order-<id>` streams,
//! shaped for `OrderQueries` (get by id, list by customer and/or status in placement order).
//!
//! The document is the stored contract between this projection and `queries.rs`, so both use
//! [`OrderDocument`]. Numbers are JSON numbers: positions, revisions and minor-unit amounts stay
//! far below 2^53 in practice, which every read-store backend (SQLite JSON, MongoDB, JavaScript
//! tooling) holds exactly.

use std::sync::Arc;

use async_trait::async_trait;
use causeway_proto::orders::OrderStatus;
use serde::{Deserialize, Serialize};

use super::domain::{Order, OrderEvent, OrderLine};
use crate::{
    kernel::{Aggregate, Upcasters},
    projection::{BatchView, Evolve, Projection, ProjectionError, evolve::apply_to},
    readstore::IndexSpec,
    store::RecordedEvent,
};

/// Projection name: its checkpoint key and health-service suffix. Never rename it once deployed,
/// or the projection silently rebuilds from position 0 under the new name.
pub const NAME: &str = "orders";
/// Logical collection of order documents, keyed by order id.
pub const COLLECTION: &str = "orders";

/// One order as queries see it (`orders` collection, id = order id), in camelCase JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderDocument {
    /// The order's id, also the document id.
    pub order_id: String,
    /// Who placed it; filtered on by `ListOrders`.
    pub customer_id: String,
    /// The proto enum name (`ORDER_STATUS_PLACED`, ...), so the stored value reads the same as
    /// the API's JSON and survives enum renumbering.
    pub status: String,
    /// What was ordered.
    pub lines: Vec<OrderLineDocument>,
    /// Total in minor units, as recorded when placed.
    pub total_minor: i64,
    /// ISO 4217 code.
    pub currency: String,
    /// Stream revision of the last applied event: the `expected_revision` a client passes back,
    /// and the guard that makes re-applying an event a no-op.
    pub revision: u64,
    /// Global position of `OrderPlaced`: a stable, store-wide placement order for listing.
    pub placed_at: u64,
    /// Why it was rejected or cancelled; empty otherwise. (Absent in documents written before
    /// it existed: empty.)
    #[serde(default)]
    pub reason: String,
    /// Global position of the last applied event: the consistency token of the order's latest
    /// change. (Absent in older documents: 0.)
    #[serde(default)]
    pub position: u64,
    /// Fulfilment settles the order, so `awaitOutcome` waits for it. (Absent in older
    /// documents: false.)
    #[serde(default)]
    pub awaits_fulfilment: bool,
}

/// One line of an [`OrderDocument`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderLineDocument {
    /// The product ordered.
    pub sku: String,
    /// Units ordered.
    pub quantity: u32,
    /// Price of one unit in minor units.
    pub unit_price_minor: i64,
}

impl OrderDocument {
    /// The document a freshly placed order starts as; `None` for any other event.
    fn placed(placed: OrderEvent, event: &RecordedEvent) -> Option<Self> {
        let OrderEvent::Placed {
            order_id,
            customer_id,
            currency,
            lines,
            total,
            awaits_fulfilment,
        } = placed
        else {
            return None;
        };
        Some(Self {
            order_id: order_id.to_string(),
            customer_id: customer_id.to_string(),
            status: OrderStatus::Placed.as_str_name().to_owned(),
            lines: lines.iter().map(OrderLineDocument::from).collect(),
            total_minor: total.minor(),
            currency: currency.to_string(),
            revision: event.revision,
            placed_at: event.position,
            reason: String::new(),
            position: event.position,
            awaits_fulfilment,
        })
    }
}

impl From<&OrderLine> for OrderLineDocument {
    fn from(line: &OrderLine) -> Self {
        Self {
            sku: line.sku.to_string(),
            // Stored lines come from a proto uint32, so the quantity always fits.
            quantity: u32::try_from(line.quantity.get()).unwrap_or(u32::MAX),
            unit_price_minor: line.unit_price.minor(),
        }
    }
}

/// Folds order events into [`OrderDocument`]s; the query side of the orders context.
pub struct OrdersProjection {
    upcasters: Arc<Upcasters>,
}

impl OrdersProjection {
    /// A projection decoding with `upcasters`, so streams written under older event schemas
    /// fold exactly like new ones.
    pub fn new(upcasters: Arc<Upcasters>) -> Self {
        Self { upcasters }
    }
}

#[async_trait]
impl Projection for OrdersProjection {
    fn name(&self) -> &'static str {
        NAME
    }

    fn categories(&self) -> &'static [&'static str] {
        &[Order::CATEGORY]
    }

    /// One index per `ListOrders` shape: by customer, by status, or all, each in placement order.
    fn indexes(&self) -> Vec<IndexSpec> {
        [
            &["customerId", "placedAt"][..],
            &["status", "placedAt"],
            &["placedAt"],
        ]
        .into_iter()
        .map(|fields| IndexSpec {
            collection: COLLECTION.to_owned(),
            fields: fields.iter().map(|f| (*f).to_owned()).collect(),
            unique: false,
        })
        .collect()
    }

    async fn apply(
        &self,
        event: &RecordedEvent,
        view: &mut BatchView<'_>,
    ) -> Result<(), ProjectionError> {
        let decoded: OrderEvent = self.upcasters.decode(event)?;
        let order_id = decoded.order_id().to_string();
        if event.stream != Order::stream_id(&order_id) {
            return Err(ProjectionError::inconsistent(
                event,
                format!("it names order {order_id}"),
            ));
        }
        apply_to::<OrderDocument>(view, COLLECTION, &order_id, decoded, event).await
    }
}

impl Evolve for OrderDocument {
    type Event = OrderEvent;

    fn evolve(
        current: Option<Self>,
        event: OrderEvent,
        recorded: &RecordedEvent,
    ) -> Result<Self, String> {
        match (event, current) {
            (placed @ OrderEvent::Placed { .. }, None) => {
                OrderDocument::placed(placed, recorded).ok_or_else(|| "not a placement".into())
            }
            (OrderEvent::Placed { .. }, Some(_)) => Err("the order was already placed".into()),
            (_, None) => Err("the order was never placed".into()),
            (other, Some(mut doc)) => {
                doc.status = proto_status(other.status_after()).as_str_name().to_owned();
                if let OrderEvent::Rejected { reason, .. } | OrderEvent::Cancelled { reason, .. } =
                    &other
                {
                    doc.reason = reason.to_string();
                }
                doc.revision = recorded.revision;
                doc.position = recorded.position;
                Ok(doc)
            }
        }
    }

    fn revision(&self) -> u64 {
        self.revision
    }
}

/// The contract's name for a domain status.
pub fn proto_status(status: super::domain::OrderStatus) -> OrderStatus {
    use super::domain::OrderStatus as Domain;
    match status {
        Domain::Placed => OrderStatus::Placed,
        Domain::Confirmed => OrderStatus::Confirmed,
        Domain::Rejected => OrderStatus::Rejected,
        Domain::Cancelled => OrderStatus::Cancelled,
        Domain::Shipped => OrderStatus::Shipped,
    }
}

#[cfg(test)]
mod tests;
