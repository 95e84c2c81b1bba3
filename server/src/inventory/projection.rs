//! The `products` read model: one JSON document per product with its stock figures, folded from
//! the `product-<sku>` streams, shaped for `InventoryQueries` (get by sku, list by availability).
//!
//! `StockReleased` and `ReservationCommitted` record the exact units (the domain resolves
//! "everything the reservation holds" to a number before recording), so `reserved` is a plain
//! running sum and the document needs no per-reservation holdings. Arithmetic saturates exactly as the aggregate's fold does, so the
//! read model and the write model agree on every stream the domain can produce.
//!
//! Numbers are JSON numbers: stock counts and revisions stay far below 2^53 in practice, which
//! every read-store backend (SQLite JSON, MongoDB, JavaScript tooling) holds exactly.

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::domain::{Product, ProductEvent};
use crate::{
    kernel::{Aggregate, Upcasters},
    projection::{BatchView, Evolve, Projection, ProjectionError, evolve::apply_to},
    readstore::IndexSpec,
    store::RecordedEvent,
};

/// Projection name: its checkpoint key and health-service suffix. Never rename it once deployed,
/// or the projection silently rebuilds from position 0 under the new name.
pub const NAME: &str = "products";
/// Logical collection of product documents, keyed by sku.
pub const COLLECTION: &str = "products";

/// One product as queries see it (`products` collection, id = sku), in camelCase JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductDocument {
    /// The stock keeping unit, also the document id.
    pub sku: String,
    /// Human-readable name.
    pub name: String,
    /// Units the warehouse holds, reserved or not.
    pub on_hand: u64,
    /// Units promised under reservations and not yet released.
    pub reserved: u64,
    /// `on_hand - reserved`, stored so `ListProducts` can filter on it with an index.
    pub available: u64,
    /// Stream revision of the last applied event: the `expected_revision` a client passes back,
    /// and the guard that makes re-applying an event a no-op.
    pub revision: u64,
}

/// Folds product events into [`ProductDocument`]s; the query side of the inventory context.
pub struct ProductsProjection {
    upcasters: Arc<Upcasters>,
}

impl ProductsProjection {
    /// A projection decoding with `upcasters`, so streams written under older event schemas
    /// (e.g. `ProductRegistered` v1) fold exactly like new ones.
    pub fn new(upcasters: Arc<Upcasters>) -> Self {
        Self { upcasters }
    }
}

#[async_trait]
impl Projection for ProductsProjection {
    fn name(&self) -> &'static str {
        NAME
    }

    fn categories(&self) -> &'static [&'static str] {
        &[Product::CATEGORY]
    }

    /// `ListProducts` filters on `available` (restocking views: "fewer than N available").
    fn indexes(&self) -> Vec<IndexSpec> {
        vec![IndexSpec {
            collection: COLLECTION.to_owned(),
            fields: vec!["available".to_owned()],
            unique: false,
        }]
    }

    async fn apply(
        &self,
        event: &RecordedEvent,
        view: &mut BatchView<'_>,
    ) -> Result<(), ProjectionError> {
        let decoded: ProductEvent = self.upcasters.decode(event)?;
        let sku = decoded.sku().to_string();
        if event.stream != Product::stream_id(&sku) {
            return Err(ProjectionError::inconsistent(
                event,
                format!("it names product {sku}"),
            ));
        }
        apply_to::<ProductDocument>(view, COLLECTION, &sku, decoded, event).await
    }
}

impl Evolve for ProductDocument {
    type Event = ProductEvent;

    fn evolve(
        current: Option<Self>,
        event: ProductEvent,
        recorded: &RecordedEvent,
    ) -> Result<Self, String> {
        let mut doc = match (event, current) {
            (ProductEvent::Registered { sku, name }, None) => ProductDocument {
                sku: sku.to_string(),
                name: name.to_string(),
                on_hand: 0,
                reserved: 0,
                available: 0,
                revision: recorded.revision,
            },
            (ProductEvent::Registered { .. }, Some(_)) => {
                return Err("the product was already registered".into());
            }
            (_, None) => return Err("the product was never registered".into()),
            (ProductEvent::StockReceived { quantity, .. }, Some(mut doc)) => {
                doc.on_hand = doc.on_hand.saturating_add(quantity.get());
                doc
            }
            (ProductEvent::StockReserved { quantity, .. }, Some(mut doc)) => {
                doc.reserved = doc.reserved.saturating_add(quantity.get());
                doc
            }
            (ProductEvent::StockReleased { quantity, .. }, Some(mut doc)) => {
                doc.reserved = doc.reserved.saturating_sub(quantity.get());
                doc
            }
            (ProductEvent::ReservationCommitted { quantity, .. }, Some(mut doc)) => {
                doc.on_hand = doc.on_hand.saturating_sub(quantity.get());
                doc.reserved = doc.reserved.saturating_sub(quantity.get());
                doc
            }
        };
        doc.available = doc.on_hand.saturating_sub(doc.reserved);
        doc.revision = recorded.revision;
        Ok(doc)
    }

    fn revision(&self) -> u64 {
        self.revision
    }
}

#[cfg(test)]
mod tests;
