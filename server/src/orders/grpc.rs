//! The `OrderCommands` gRPC service: the edge hop only. Each request becomes a validated
//! command (value types, every violation under its proto3 JSON path) and runs through the
//! generic command path of [`crate::grpc`]; business decisions stay in `domain.rs`.

use causeway_proto::orders::{
    CancelOrderRequest, CancelOrderResponse, ConfirmOrderRequest, ConfirmOrderResponse,
    PlaceOrderRequest, PlaceOrderResponse, RejectOrderRequest, RejectOrderResponse,
    ShipOrderRequest, ShipOrderResponse,
    order_commands_server::{OrderCommands, OrderCommandsServer},
};
use tonic::{Request, Response, Status};

use super::domain::{CancelOrder, ConfirmOrder, Confirmer, NewOrder, RejectOrder, ShipOrder};
use super::ownership::Requester;
use super::values::{
    Currency, CustomerId, MAX_LINES, Money, OrderId, OrderLine, Quantity, Reason, Sku,
};
use crate::grpc::{Invalid, Parsed, Violations, acknowledge, parse};
use crate::kernel::CommandHandler;

/// Serves `causeway.orders.v1.OrderCommands` by running domain decisions through the kernel.
#[derive(Clone)]
pub struct OrderCommandsService {
    commands: CommandHandler,
    /// Whether new orders await fulfilment (the deployment runs it).
    fulfilment: bool,
}

/// The gRPC server for order commands, ready to add to a tonic router; new orders await
/// fulfilment, as in a default deployment.
pub fn service(commands: CommandHandler) -> OrderCommandsServer<OrderCommandsService> {
    service_with(commands, true)
}

/// [`service`] for a deployment that runs fulfilment (`fulfilment`), or not: then staff confirm
/// new orders by hand.
pub fn service_with(
    commands: CommandHandler,
    fulfilment: bool,
) -> OrderCommandsServer<OrderCommandsService> {
    OrderCommandsServer::new(OrderCommandsService {
        commands,
        fulfilment,
    })
}

#[tonic::async_trait]
impl OrderCommands for OrderCommandsService {
    async fn place_order(
        &self,
        request: Request<PlaceOrderRequest>,
    ) -> Result<Response<PlaceOrderResponse>, Status> {
        let Parsed {
            context,
            command: order,
            caller,
        } = parse::<_, NewOrder>(request)?;
        let customer = Requester::of(&caller)?.customer_for(order.customer_id.clone())?;
        let command = order.placed_by(customer, &context.command_id, self.fulfilment);
        let ack = self.commands.handle(&context, &command).await?;
        Ok(Response::new(PlaceOrderResponse {
            order_id: command.order_id.to_string(),
            ack: Some(ack.into()),
        }))
    }

    async fn confirm_order(
        &self,
        request: Request<ConfirmOrderRequest>,
    ) -> Result<Response<ConfirmOrderResponse>, Status> {
        acknowledge::<_, ConfirmOrder, _>(&self.commands, request).await
    }

    async fn reject_order(
        &self,
        request: Request<RejectOrderRequest>,
    ) -> Result<Response<RejectOrderResponse>, Status> {
        acknowledge::<_, RejectOrder, _>(&self.commands, request).await
    }

    async fn cancel_order(
        &self,
        request: Request<CancelOrderRequest>,
    ) -> Result<Response<CancelOrderResponse>, Status> {
        let Parsed {
            context,
            mut command,
            caller,
        } = parse::<_, CancelOrder>(request)?;
        command.requested_by = Requester::of(&caller)?.only().cloned();
        let ack = self.commands.handle(&context, &command).await?;
        Ok(Response::new(CancelOrderResponse {
            ack: Some(ack.into()),
        }))
    }

    async fn ship_order(
        &self,
        request: Request<ShipOrderRequest>,
    ) -> Result<Response<ShipOrderResponse>, Status> {
        acknowledge::<_, ShipOrder, _>(&self.commands, request).await
    }
}

/// An order's lines: 1 to [`MAX_LINES`], each with a sku, a quantity and a price.
fn lines(
    v: &mut Violations,
    lines: &[causeway_proto::orders::OrderLine],
) -> Option<Vec<OrderLine>> {
    if lines.is_empty() {
        v.add("lines", "required: an order needs at least one line");
        return None;
    }
    if lines.len() > MAX_LINES {
        v.add("lines", format!("at most {MAX_LINES} lines"));
        return None;
    }
    lines
        .iter()
        .enumerate()
        .map(|(i, line)| {
            let sku = v.check(format!("lines[{i}].sku"), Sku::parse(&line.sku));
            let quantity = v.check(
                format!("lines[{i}].quantity"),
                Quantity::parse(u64::from(line.quantity)),
            );
            let unit_price = v.check(
                format!("lines[{i}].unitPriceMinor"),
                Money::parse(line.unit_price_minor),
            );
            Some(OrderLine {
                sku: sku?,
                quantity: quantity?,
                unit_price: unit_price?,
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .collect()
}

/// An empty `orderId` is accepted (the order is named from the command id), and so is an empty
/// `customerId` (the caller's own, for a customer; staff must name one).
impl TryFrom<PlaceOrderRequest> for NewOrder {
    type Error = Invalid;

    fn try_from(req: PlaceOrderRequest) -> Result<Self, Invalid> {
        let mut v = Violations::default();
        let order_id = v.optional("orderId", &req.order_id, OrderId::parse);
        let customer_id = v.optional("customerId", &req.customer_id, CustomerId::parse);
        let currency = v.check("currency", Currency::parse(&req.currency));
        let lines = lines(&mut v, &req.lines);
        v.finish(|| {
            Some(NewOrder {
                order_id,
                customer_id,
                currency: currency?,
                lines: lines?,
            })
        })
    }
}

/// The order id of a request that names nothing else.
fn order_id(raw: &str) -> Result<OrderId, Invalid> {
    let mut v = Violations::default();
    let order_id = v.check("orderId", OrderId::parse(raw));
    v.finish(|| order_id)
}

/// The order id and the reason of a reject or cancel request.
fn order_id_and_reason(raw_id: &str, raw_reason: &str) -> Result<(OrderId, Reason), Invalid> {
    let mut v = Violations::default();
    let order_id = v.check("orderId", OrderId::parse(raw_id));
    let reason = v.check("reason", Reason::parse(raw_reason));
    v.finish(|| order_id.zip(reason))
}

/// A confirmation over the API is always staff's; only fulfilment confirms as itself.
impl TryFrom<ConfirmOrderRequest> for ConfirmOrder {
    type Error = Invalid;

    fn try_from(req: ConfirmOrderRequest) -> Result<Self, Invalid> {
        let order_id = order_id(&req.order_id)?;
        Ok(Self {
            order_id,
            by: Confirmer::Staff,
        })
    }
}

impl TryFrom<ShipOrderRequest> for ShipOrder {
    type Error = Invalid;

    fn try_from(req: ShipOrderRequest) -> Result<Self, Invalid> {
        let order_id = order_id(&req.order_id)?;
        Ok(Self { order_id })
    }
}

impl TryFrom<RejectOrderRequest> for RejectOrder {
    type Error = Invalid;

    fn try_from(req: RejectOrderRequest) -> Result<Self, Invalid> {
        let (order_id, reason) = order_id_and_reason(&req.order_id, &req.reason)?;
        Ok(Self { order_id, reason })
    }
}

/// A cancel request as staff would make it; the handler narrows it for a customer.
impl TryFrom<CancelOrderRequest> for CancelOrder {
    type Error = Invalid;

    fn try_from(req: CancelOrderRequest) -> Result<Self, Invalid> {
        let (order_id, reason) = order_id_and_reason(&req.order_id, &req.reason)?;
        Ok(Self {
            order_id,
            reason,
            requested_by: None,
        })
    }
}

#[cfg(test)]
mod tests;
