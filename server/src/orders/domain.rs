//! The order lifecycle as pure decisions: each command is checked against the order's state and
//! answered with the events that record what happened, or with the rule it would break.
//!
//! ```text
//! (none) --place--> PLACED --confirm--> CONFIRMED --ship--> SHIPPED
//!                     |  \--reject--> REJECTED          |
//!                     \-----cancel--> CANCELLED <-cancel-/
//! ```
//!
//! Commands arrive as value types (`values.rs`), so a quantity is never zero and a price never
//! negative by construction; what is left to decide here is what depends on the order's state
//! and on the lines together (at least one, a total that fits). An order placed while the
//! deployment runs fulfilment records that it awaits it; such an order is confirmed by
//! fulfilment alone (`crate::fulfilment`), so staff confirming it by hand are refused.

use std::fmt;

pub use super::commands::{
    CancelOrder, ConfirmOrder, Confirmer, NewOrder, PlaceOrder, RejectOrder, ShipOrder,
};
pub use super::values::{Currency, CustomerId, Money, OrderId, OrderLine, Quantity, Reason, Sku};
use crate::kernel::{Aggregate, CommandError, decisions};

/// Where an order is in its lifecycle; decides which commands it accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderStatus {
    /// Accepted from the customer, awaiting confirmation.
    Placed,
    /// Accepted by the business; may ship.
    Confirmed,
    /// Refused by the business; final.
    Rejected,
    /// Withdrawn before shipping; final.
    Cancelled,
    /// Handed to delivery; final.
    Shipped,
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Placed => "placed",
            Self::Confirmed => "confirmed",
            Self::Rejected => "rejected",
            Self::Cancelled => "cancelled",
            Self::Shipped => "shipped",
        })
    }
}

/// An order as folded from its `order-<id>` stream. Private: decisions read it, nothing else
/// changes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Order {
    customer_id: CustomerId,
    lines: Vec<OrderLine>,
    total: Money,
    status: Option<OrderStatus>,
    awaits_fulfilment: bool,
}

impl Order {
    /// Where the order is; `None` means no such order exists.
    pub fn status(&self) -> Option<OrderStatus> {
        self.status
    }
    /// Who placed it.
    pub fn customer_id(&self) -> &CustomerId {
        &self.customer_id
    }
    /// What was ordered.
    pub fn lines(&self) -> &[OrderLine] {
        &self.lines
    }
    /// Sum of quantity times unit price over all lines.
    pub fn total(&self) -> Money {
        self.total
    }
    /// Whether fulfilment confirms or rejects it (staff may not confirm it by hand).
    pub fn awaits_fulfilment(&self) -> bool {
        self.awaits_fulfilment
    }
}

/// Everything that can happen to an order; the facts its stream is made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderEvent {
    /// The order was accepted with these lines and this total.
    Placed {
        /// The new order.
        order_id: OrderId,
        /// Who placed it.
        customer_id: CustomerId,
        /// The currency of every price.
        currency: Currency,
        /// What was ordered; never empty.
        lines: Vec<OrderLine>,
        /// Computed when placed, so readers never recompute it.
        total: Money,
        /// Fulfilment settles it: reserves its stock, then confirms or rejects it.
        awaits_fulfilment: bool,
    },
    /// The business accepted the order.
    Confirmed {
        /// The order.
        order_id: OrderId,
    },
    /// The business refused the order.
    Rejected {
        /// The order.
        order_id: OrderId,
        /// Why, for the customer; may be empty.
        reason: Reason,
    },
    /// The order was withdrawn before shipping.
    Cancelled {
        /// The order.
        order_id: OrderId,
        /// Why; may be empty.
        reason: Reason,
    },
    /// The order left for delivery.
    Shipped {
        /// The order.
        order_id: OrderId,
    },
}

impl OrderEvent {
    /// The order the event is about.
    pub fn order_id(&self) -> &OrderId {
        match self {
            Self::Placed { order_id, .. }
            | Self::Confirmed { order_id }
            | Self::Rejected { order_id, .. }
            | Self::Cancelled { order_id, .. }
            | Self::Shipped { order_id } => order_id,
        }
    }

    /// The status an order has once this event happened to it.
    pub fn status_after(&self) -> OrderStatus {
        match self {
            Self::Placed { .. } => OrderStatus::Placed,
            Self::Confirmed { .. } => OrderStatus::Confirmed,
            Self::Rejected { .. } => OrderStatus::Rejected,
            Self::Cancelled { .. } => OrderStatus::Cancelled,
            Self::Shipped { .. } => OrderStatus::Shipped,
        }
    }
}

impl Aggregate for Order {
    const CATEGORY: &'static str = "order";
    type Event = OrderEvent;

    /// The lines and the customer id live on the heap; each line holds a sku.
    fn footprint(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.customer_id.as_str().len()
            + self.lines.len() * (std::mem::size_of::<OrderLine>() + 48)
    }

    fn apply(&mut self, event: &OrderEvent) {
        if let OrderEvent::Placed {
            customer_id,
            lines,
            total,
            awaits_fulfilment,
            ..
        } = event
        {
            self.customer_id.clone_from(customer_id);
            self.lines.clone_from(lines);
            self.total = *total;
            self.awaits_fulfilment = *awaits_fulfilment;
        }
        self.status = Some(event.status_after());
    }
}

/// Why the order domain refused a command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderError {
    /// The command names an order that was never placed.
    #[error("order {0} not found")]
    UnknownOrder(OrderId),
    /// Placing is a one-time act per order id.
    #[error("order {0} already exists")]
    AlreadyPlaced(OrderId),
    /// An order must be for something.
    #[error("an order needs at least one line")]
    NoLines,
    /// The total does not fit in 64-bit minor units.
    #[error("the order total is too large to represent")]
    TotalOverflow,
    /// The command is not allowed from the order's current status.
    #[error("cannot {action} an order that is {status}")]
    WrongStatus {
        /// What was attempted, e.g. `ship`.
        action: &'static str,
        /// Where the order is.
        status: OrderStatus,
    },
    /// Goods that left cannot be called back by cancelling.
    #[error("a shipped order cannot be cancelled")]
    CancelAfterShipping,
    /// Cancelling is a one-time act.
    #[error("the order is already cancelled")]
    AlreadyCancelled,
    /// Fulfilment confirms this order itself once its stock is reserved.
    #[error(
        "order {0} awaits fulfilment: it is confirmed once every line's stock is reserved, or \
         rejected with the reason (GetFulfilment shows how far it got)"
    )]
    FulfilmentPending(OrderId),
}

impl From<OrderError> for CommandError {
    fn from(error: OrderError) -> Self {
        match error {
            OrderError::UnknownOrder(id) => CommandError::NotFound(format!("order {id}")),
            rule => CommandError::Rejected(rule.to_string()),
        }
    }
}

decisions!(Order, OrderError;
    PlaceOrder => place_order, order_id;
    ConfirmOrder => confirm_order, order_id;
    RejectOrder => reject_order, order_id;
    CancelOrder => cancel_order, order_id;
    ShipOrder => ship_order, order_id;
);

/// Records a new order after computing its total without overflow.
pub fn place_order(order: &Order, cmd: &PlaceOrder) -> Result<Vec<OrderEvent>, OrderError> {
    if order.status.is_some() {
        return Err(OrderError::AlreadyPlaced(cmd.order_id.clone()));
    }
    if cmd.lines.is_empty() {
        return Err(OrderError::NoLines);
    }
    let total = cmd
        .lines
        .iter()
        .try_fold(Money::default(), |total, line| {
            line.unit_price
                .times(line.quantity)
                .and_then(|amount| total.plus(amount))
        })
        .ok_or(OrderError::TotalOverflow)?;
    Ok(vec![OrderEvent::Placed {
        order_id: cmd.order_id.clone(),
        customer_id: cmd.customer_id.clone(),
        currency: cmd.currency.clone(),
        lines: cmd.lines.clone(),
        total,
        awaits_fulfilment: cmd.awaits_fulfilment,
    }])
}

/// Accepts a placed order; one that fulfilment settles only from fulfilment.
pub fn confirm_order(order: &Order, cmd: &ConfirmOrder) -> Result<Vec<OrderEvent>, OrderError> {
    require(order, &cmd.order_id, "confirm", &[OrderStatus::Placed])?;
    if order.awaits_fulfilment && cmd.by == Confirmer::Staff {
        return Err(OrderError::FulfilmentPending(cmd.order_id.clone()));
    }
    Ok(vec![OrderEvent::Confirmed {
        order_id: cmd.order_id.clone(),
    }])
}

/// Refuses a placed order.
pub fn reject_order(order: &Order, cmd: &RejectOrder) -> Result<Vec<OrderEvent>, OrderError> {
    require(order, &cmd.order_id, "reject", &[OrderStatus::Placed])?;
    Ok(vec![OrderEvent::Rejected {
        order_id: cmd.order_id.clone(),
        reason: cmd.reason.clone(),
    }])
}

/// Withdraws an order that is placed or confirmed; shipped and cancelled orders stay as they are.
pub fn cancel_order(order: &Order, cmd: &CancelOrder) -> Result<Vec<OrderEvent>, OrderError> {
    if cmd
        .requested_by
        .as_ref()
        .is_some_and(|customer| order.status.is_some() && *customer != order.customer_id)
    {
        return Err(OrderError::UnknownOrder(cmd.order_id.clone()));
    }
    match order.status {
        Some(OrderStatus::Shipped) => return Err(OrderError::CancelAfterShipping),
        Some(OrderStatus::Cancelled) => return Err(OrderError::AlreadyCancelled),
        _ => {}
    }
    let allowed = [OrderStatus::Placed, OrderStatus::Confirmed];
    require(order, &cmd.order_id, "cancel", &allowed)?;
    Ok(vec![OrderEvent::Cancelled {
        order_id: cmd.order_id.clone(),
        reason: cmd.reason.clone(),
    }])
}

/// Sends a confirmed order on its way.
pub fn ship_order(order: &Order, cmd: &ShipOrder) -> Result<Vec<OrderEvent>, OrderError> {
    require(order, &cmd.order_id, "ship", &[OrderStatus::Confirmed])?;
    Ok(vec![OrderEvent::Shipped {
        order_id: cmd.order_id.clone(),
    }])
}

/// The order exists and is in one of `allowed`, or the error saying why `action` is refused.
fn require(
    order: &Order,
    order_id: &OrderId,
    action: &'static str,
    allowed: &[OrderStatus],
) -> Result<(), OrderError> {
    match order.status {
        None => Err(OrderError::UnknownOrder(order_id.clone())),
        Some(status) if allowed.contains(&status) => Ok(()),
        Some(status) => Err(OrderError::WrongStatus { action, status }),
    }
}

#[cfg(test)]
mod tests;
