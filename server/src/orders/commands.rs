//! The order commands as the domain decides them: validated value types only, built at the
//! edge (`grpc.rs`) or by fulfilment, decided in `domain.rs`.

use super::values::{Currency, CustomerId, OrderId, OrderLine, Reason};

/// A placement as the caller asked for it. Without an order id, the id is derived from the
/// command id, so a retry names the same order; without a customer id, the application step
/// decides whose order it is (a customer's own).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrder {
    /// The id the caller chose, if any.
    pub order_id: Option<OrderId>,
    /// Who orders, if the request says.
    pub customer_id: Option<CustomerId>,
    /// The currency of every price.
    pub currency: Currency,
    /// What is ordered.
    pub lines: Vec<OrderLine>,
}

impl NewOrder {
    /// The placement command for `customer_id`, its order named by the caller or derived from
    /// `command_id`; `awaits_fulfilment` when this deployment runs fulfilment.
    pub fn placed_by(
        self,
        customer_id: CustomerId,
        command_id: &str,
        awaits_fulfilment: bool,
    ) -> PlaceOrder {
        PlaceOrder {
            order_id: self
                .order_id
                .unwrap_or_else(|| OrderId::for_command(command_id)),
            customer_id,
            currency: self.currency,
            lines: self.lines,
            awaits_fulfilment,
        }
    }
}

/// A customer asks for products.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaceOrder {
    /// The order to create.
    pub order_id: OrderId,
    /// Who orders.
    pub customer_id: CustomerId,
    /// The currency of every price.
    pub currency: Currency,
    /// What is ordered; at least one line.
    pub lines: Vec<OrderLine>,
    /// Fulfilment will settle it (the deployment runs fulfilment).
    pub awaits_fulfilment: bool,
}

/// Who confirms an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirmer {
    /// A person, through the API.
    Staff,
    /// Fulfilment, once every line's stock is reserved.
    Fulfilment,
}

/// The business accepts a placed order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfirmOrder {
    /// The order.
    pub order_id: OrderId,
    /// Who confirms it: staff may not confirm an order fulfilment settles.
    pub by: Confirmer,
}

/// The business refuses a placed order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectOrder {
    /// The order.
    pub order_id: OrderId,
    /// Why, for the customer.
    pub reason: Reason,
}

/// Someone withdraws an order that has not shipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CancelOrder {
    /// The order.
    pub order_id: OrderId,
    /// Why.
    pub reason: Reason,
    /// The customer asking, when a customer cancels for itself: it may cancel only its own
    /// orders, and anyone else's is as unknown to it as one never placed. `None` for staff.
    pub requested_by: Option<CustomerId>,
}

/// A confirmed order leaves for delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShipOrder {
    /// The order.
    pub order_id: OrderId,
}
