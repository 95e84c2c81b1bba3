//! The order lifecycle as pure decisions: each command is checked against the order's state and
//! answered with the events that record what happened, or with the rule it would break.
//!
//! ```text
//! (none) --place--> PLACED --confirm--> CONFIRMED --ship--> SHIPPED
//!                     |  \--reject--> REJECTED          |
//!                     \-----cancel--> CANCELLED <-cancel-/
//! ```
//!
//! The gRPC edge already refuses malformed requests with field paths; the rules on lines,
//! quantities and prices are checked here as well because the domain is the authority on its
//! invariants whoever calls it.

use std::fmt;

use crate::kernel::{Aggregate, CommandError};

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

/// One product on an order; prices are in the currency's minor unit so totals never round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderLine {
    /// The product ordered.
    pub sku: String,
    /// Units ordered, more than zero.
    pub quantity: u32,
    /// Price of one unit in minor units (cents), zero or more.
    pub unit_price_minor: i64,
}

/// An order as folded from its `order-<id>` stream; `status` is `None` until it is placed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Order {
    /// The order's id, the part of the stream name after `order-`.
    pub order_id: String,
    /// Who placed it.
    pub customer_id: String,
    /// ISO 4217 code every price is in.
    pub currency: String,
    /// What was ordered.
    pub lines: Vec<OrderLine>,
    /// Sum of quantity times unit price over all lines, in minor units.
    pub total_minor: i64,
    /// Lifecycle position; `None` means no such order exists.
    pub status: Option<OrderStatus>,
}

/// The order was accepted with these lines and this total.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderPlaced {
    /// The new order.
    pub order_id: String,
    /// Who placed it.
    pub customer_id: String,
    /// ISO 4217 code.
    pub currency: String,
    /// What was ordered.
    pub lines: Vec<OrderLine>,
    /// Total in minor units, computed when placed so readers never recompute it.
    pub total_minor: i64,
}

/// The business accepted the order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderConfirmed {
    /// The order.
    pub order_id: String,
}

/// The business refused the order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRejected {
    /// The order.
    pub order_id: String,
    /// Why, for the customer; may be empty.
    pub reason: String,
}

/// The order was withdrawn before shipping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderCancelled {
    /// The order.
    pub order_id: String,
    /// Why; may be empty.
    pub reason: String,
}

/// The order left for delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderShipped {
    /// The order.
    pub order_id: String,
}

/// Everything that can happen to an order; the facts its stream is made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderEvent {
    /// See [`OrderPlaced`].
    Placed(OrderPlaced),
    /// See [`OrderConfirmed`].
    Confirmed(OrderConfirmed),
    /// See [`OrderRejected`].
    Rejected(OrderRejected),
    /// See [`OrderCancelled`].
    Cancelled(OrderCancelled),
    /// See [`OrderShipped`].
    Shipped(OrderShipped),
}

impl Aggregate for Order {
    const CATEGORY: &'static str = "order";
    type Event = OrderEvent;

    fn apply(&mut self, event: &OrderEvent) {
        let status = match event {
            OrderEvent::Placed(placed) => {
                self.order_id.clone_from(&placed.order_id);
                self.customer_id.clone_from(&placed.customer_id);
                self.currency.clone_from(&placed.currency);
                self.lines.clone_from(&placed.lines);
                self.total_minor = placed.total_minor;
                OrderStatus::Placed
            }
            OrderEvent::Confirmed(_) => OrderStatus::Confirmed,
            OrderEvent::Rejected(_) => OrderStatus::Rejected,
            OrderEvent::Cancelled(_) => OrderStatus::Cancelled,
            OrderEvent::Shipped(_) => OrderStatus::Shipped,
        };
        self.status = Some(status);
    }
}

/// A customer asks for products; the order id is already chosen (by the client or derived from
/// the command id) so a retry names the same order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaceOrder {
    /// The order to create.
    pub order_id: String,
    /// Who orders.
    pub customer_id: String,
    /// ISO 4217 code of every price.
    pub currency: String,
    /// What is ordered; at least one line.
    pub lines: Vec<OrderLine>,
}

/// The business accepts a placed order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfirmOrder {
    /// The order.
    pub order_id: String,
}

/// The business refuses a placed order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectOrder {
    /// The order.
    pub order_id: String,
    /// Why, for the customer.
    pub reason: String,
}

/// Someone withdraws an order that has not shipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CancelOrder {
    /// The order.
    pub order_id: String,
    /// Why.
    pub reason: String,
}

/// A confirmed order leaves for delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShipOrder {
    /// The order.
    pub order_id: String,
}

/// Why the order domain refused a command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderError {
    /// The command names an order that was never placed.
    #[error("order {0} not found")]
    UnknownOrder(String),
    /// Placing is a one-time act per order id.
    #[error("order {0} already exists")]
    AlreadyPlaced(String),
    /// An order must be for something.
    #[error("an order needs at least one line")]
    NoLines,
    /// Every line must order at least one unit.
    #[error("line {line}: quantity must be greater than 0")]
    ZeroQuantity {
        /// Index of the offending line.
        line: usize,
    },
    /// Prices are never negative (zero is a free item).
    #[error("line {line}: unit price must not be negative")]
    NegativeUnitPrice {
        /// Index of the offending line.
        line: usize,
    },
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
}

impl From<OrderError> for CommandError {
    fn from(error: OrderError) -> Self {
        match error {
            OrderError::UnknownOrder(id) => CommandError::NotFound(format!("order {id}")),
            rule => CommandError::Rejected(rule.to_string()),
        }
    }
}

/// Records a new order after checking its lines and computing its total without overflow.
pub fn place_order(order: &Order, cmd: PlaceOrder) -> Result<Vec<OrderEvent>, OrderError> {
    if order.status.is_some() {
        return Err(OrderError::AlreadyPlaced(cmd.order_id));
    }
    if cmd.lines.is_empty() {
        return Err(OrderError::NoLines);
    }
    let mut total: i64 = 0;
    for (line, l) in cmd.lines.iter().enumerate() {
        if l.quantity == 0 {
            return Err(OrderError::ZeroQuantity { line });
        }
        if l.unit_price_minor < 0 {
            return Err(OrderError::NegativeUnitPrice { line });
        }
        total = l
            .unit_price_minor
            .checked_mul(i64::from(l.quantity))
            .and_then(|amount| total.checked_add(amount))
            .ok_or(OrderError::TotalOverflow)?;
    }
    Ok(vec![OrderEvent::Placed(OrderPlaced {
        order_id: cmd.order_id,
        customer_id: cmd.customer_id,
        currency: cmd.currency,
        lines: cmd.lines,
        total_minor: total,
    })])
}

/// Accepts a placed order.
pub fn confirm_order(order: &Order, cmd: ConfirmOrder) -> Result<Vec<OrderEvent>, OrderError> {
    require(order, &cmd.order_id, "confirm", &[OrderStatus::Placed])?;
    Ok(vec![OrderEvent::Confirmed(OrderConfirmed {
        order_id: cmd.order_id,
    })])
}

/// Refuses a placed order.
pub fn reject_order(order: &Order, cmd: RejectOrder) -> Result<Vec<OrderEvent>, OrderError> {
    require(order, &cmd.order_id, "reject", &[OrderStatus::Placed])?;
    Ok(vec![OrderEvent::Rejected(OrderRejected {
        order_id: cmd.order_id,
        reason: cmd.reason,
    })])
}

/// Withdraws an order that is placed or confirmed; shipped and cancelled orders stay as they are.
pub fn cancel_order(order: &Order, cmd: CancelOrder) -> Result<Vec<OrderEvent>, OrderError> {
    match order.status {
        Some(OrderStatus::Shipped) => return Err(OrderError::CancelAfterShipping),
        Some(OrderStatus::Cancelled) => return Err(OrderError::AlreadyCancelled),
        _ => {}
    }
    let allowed = [OrderStatus::Placed, OrderStatus::Confirmed];
    require(order, &cmd.order_id, "cancel", &allowed)?;
    Ok(vec![OrderEvent::Cancelled(OrderCancelled {
        order_id: cmd.order_id,
        reason: cmd.reason,
    })])
}

/// Sends a confirmed order on its way.
pub fn ship_order(order: &Order, cmd: ShipOrder) -> Result<Vec<OrderEvent>, OrderError> {
    require(order, &cmd.order_id, "ship", &[OrderStatus::Confirmed])?;
    Ok(vec![OrderEvent::Shipped(OrderShipped {
        order_id: cmd.order_id,
    })])
}

/// The order exists and is in one of `allowed`, or the error saying why `action` is refused.
fn require(
    order: &Order,
    order_id: &str,
    action: &'static str,
    allowed: &[OrderStatus],
) -> Result<(), OrderError> {
    match order.status {
        None => Err(OrderError::UnknownOrder(order_id.to_owned())),
        Some(status) if allowed.contains(&status) => Ok(()),
        Some(status) => Err(OrderError::WrongStatus { action, status }),
    }
}

#[cfg(test)]
mod tests;
