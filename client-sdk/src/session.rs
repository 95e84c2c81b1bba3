//! Read-your-writes. Read models lag the event store by a few milliseconds; a session remembers
//! the highest position it was acknowledged and sends it as `consistency.min_position` on its
//! queries, so the server answers only once the read model has caught up with the session's own
//! writes (within the call's deadline). Other callers' writes are not waited for.

use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

use crate::{Client, call::Caller, identity::Identity, inventory::Inventory, orders::Orders};

/// A unit of work that reads its own writes. Clones share the same position, so tasks of one
/// unit of work can each hold one.
///
/// ```no_run
/// # async fn demo(client: causeway_client::Client) -> Result<(), causeway_client::Error> {
/// use causeway_client::orders::{GetOrderRequest, OrderLine, PlaceOrderRequest};
///
/// let session = client.session();
/// let placed = session
///     .orders()
///     .place_order(PlaceOrderRequest {
///         customer_id: "ada".into(),
///         currency: "EUR".into(),
///         lines: vec![OrderLine { sku: "kettle".into(), quantity: 1, unit_price_minor: 2999 }],
///         ..Default::default()
///     })
///     .await?;
/// // Waits, if needed, until the orders read model holds the order just placed.
/// let order = session
///     .orders()
///     .get_order(GetOrderRequest { order_id: placed.order_id, ..Default::default() })
///     .await?;
/// assert_eq!(order.revision, placed.ack.revision);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Session {
    client: Client,
    seen: Arc<AtomicU64>,
}

impl Session {
    pub(crate) fn new(client: Client) -> Self {
        Self {
            client,
            seen: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Order commands and queries within this session.
    pub fn orders(&self) -> Orders {
        Orders::new(self.caller())
    }

    /// Inventory commands and queries within this session.
    pub fn inventory(&self) -> Inventory {
        Inventory::new(self.caller())
    }

    /// Identity commands and queries within this session.
    pub fn identity(&self) -> Identity {
        Identity::new(self.caller())
    }

    /// The highest position acknowledged to this session (0 before its first command): the
    /// consistency token to hand to another service that must see these writes too.
    pub fn position(&self) -> u64 {
        self.seen.load(Ordering::Acquire)
    }

    /// Makes this session also wait for `position`, e.g. a token another service passed along
    /// with a request, or an ack received outside the session. Lower positions change nothing.
    pub fn observe(&self, position: u64) {
        self.seen.fetch_max(position, Ordering::AcqRel);
    }

    fn caller(&self) -> Caller {
        Caller::new(self.client.clone(), Some(self.seen.clone()))
    }
}
