//! What the call machinery needs to know about the generated messages: where a command's
//! options, a response's ack and a query's consistency live. Plus the two helpers callers need
//! to steer a command: their own command id, or an expected revision.

use causeway_proto::{
    common::{CommandAck, CommandOptions, Consistency},
    identity, inventory, orders,
};

/// Options that pin a command to `revision` of its stream (like HTTP `If-Match`): if someone
/// else changed the stream since you read it, the command fails with
/// [`crate::Error::Conflict`] at once, and is never retried. The SDK still picks the command id.
///
/// ```
/// use causeway_client::{at_revision, orders::ConfirmOrderRequest};
///
/// let request = ConfirmOrderRequest {
///     options: at_revision(0),
///     order_id: "order-from-a-read".into(),
/// };
/// assert_eq!(request.options.unwrap().expected_revision, Some(0));
/// ```
pub fn at_revision(revision: u64) -> Option<CommandOptions> {
    Some(CommandOptions {
        expected_revision: Some(revision),
        ..CommandOptions::default()
    })
}

/// Options with a command id of the caller's choosing, for commands that must stay idempotent
/// across process restarts (e.g. derived from an inbound message id). Sending the same id again
/// returns the original acknowledgement with `deduplicated` set.
///
/// ```
/// use causeway_client::{with_command_id, inventory::ReceiveStockRequest};
///
/// let request = ReceiveStockRequest {
///     options: with_command_id("delivery-7781"),
///     sku: "kettle".into(),
///     quantity: 10,
/// };
/// assert_eq!(request.options.unwrap().command_id, "delivery-7781");
/// ```
pub fn with_command_id(command_id: impl Into<String>) -> Option<CommandOptions> {
    Some(CommandOptions {
        command_id: command_id.into(),
        ..CommandOptions::default()
    })
}

/// A command request: carries `options` with the idempotency key.
pub(crate) trait Command: Clone + Send + Sync + 'static {
    fn options_mut(&mut self) -> &mut Option<CommandOptions>;
}

/// A command response: carries the server's `ack`.
pub(crate) trait Acknowledged {
    fn ack(&self) -> Option<&CommandAck>;
}

/// A query request: carries `consistency` for read-your-writes.
pub(crate) trait Query: Clone + Send + Sync + 'static {
    fn consistency_mut(&mut self) -> &mut Option<Consistency>;
}

macro_rules! commands {
    ($($request:ty => $response:ty),* $(,)?) => {$(
        impl Command for $request {
            fn options_mut(&mut self) -> &mut Option<CommandOptions> {
                &mut self.options
            }
        }
        impl Acknowledged for $response {
            fn ack(&self) -> Option<&CommandAck> {
                self.ack.as_ref()
            }
        }
    )*};
}

macro_rules! queries {
    ($($request:ty),* $(,)?) => {$(
        impl Query for $request {
            fn consistency_mut(&mut self) -> &mut Option<Consistency> {
                &mut self.consistency
            }
        }
    )*};
}

commands! {
    orders::PlaceOrderRequest => orders::PlaceOrderResponse,
    orders::ConfirmOrderRequest => orders::ConfirmOrderResponse,
    orders::RejectOrderRequest => orders::RejectOrderResponse,
    orders::CancelOrderRequest => orders::CancelOrderResponse,
    orders::ShipOrderRequest => orders::ShipOrderResponse,
    inventory::RegisterProductRequest => inventory::RegisterProductResponse,
    inventory::ReceiveStockRequest => inventory::ReceiveStockResponse,
    inventory::ReserveStockRequest => inventory::ReserveStockResponse,
    inventory::ReleaseStockRequest => inventory::ReleaseStockResponse,
    identity::RegisterUserRequest => identity::RegisterUserResponse,
    identity::GrantRoleRequest => identity::GrantRoleResponse,
    identity::RevokeRoleRequest => identity::RevokeRoleResponse,
    identity::DisableUserRequest => identity::DisableUserResponse,
}

queries! {
    orders::GetOrderRequest,
    orders::ListOrdersRequest,
    inventory::GetProductRequest,
    inventory::ListProductsRequest,
    identity::GetUserRequest,
    identity::FindUserByEmailRequest,
}
