//! The `OrderCommands` gRPC service: request -> validated domain command -> kernel -> ack.
//! Every field is checked once, here, and all violations are reported together with their proto
//! paths; business decisions stay in `domain.rs`.

use causeway_proto::orders::{
    CancelOrderRequest, CancelOrderResponse, ConfirmOrderRequest, ConfirmOrderResponse,
    PlaceOrderRequest, PlaceOrderResponse, RejectOrderRequest, RejectOrderResponse,
    ShipOrderRequest, ShipOrderResponse,
    order_commands_server::{OrderCommands, OrderCommandsServer},
};
use tonic::{Request, Response, Status};

use super::domain::{
    self, CancelOrder, ConfirmOrder, Order, OrderLine, PlaceOrder, RejectOrder, ShipOrder,
};
use crate::command_options::command_context;
use crate::kernel::{CommandError, CommandHandler, ids};
use crate::validation::{Violations, validated};

/// Most lines one order may have; larger orders are a bulk import, not a checkout.
const MAX_LINES: usize = 100;
/// Longest reason for rejecting or cancelling; a sentence or two for the customer.
const MAX_REASON_CHARS: usize = 500;

/// Serves `causeway.orders.v1.OrderCommands` by running domain decisions through the kernel.
#[derive(Clone)]
pub struct OrderCommandsService {
    commands: CommandHandler,
}

/// The gRPC server for order commands, ready to add to a tonic router.
pub fn service(commands: CommandHandler) -> OrderCommandsServer<OrderCommandsService> {
    OrderCommandsServer::new(OrderCommandsService { commands })
}

#[tonic::async_trait]
impl OrderCommands for OrderCommandsService {
    async fn place_order(
        &self,
        request: Request<PlaceOrderRequest>,
    ) -> Result<Response<PlaceOrderResponse>, Status> {
        let ctx = command_context(request.get_ref().options.as_ref(), request.metadata());
        let (ctx, mut cmd) = validated(ctx, PlaceOrder::try_from(request.into_inner()))?;
        if cmd.order_id.is_empty() {
            cmd.order_id = ids::derived_id(&ctx.command_id, "order");
        }
        let ack = self
            .commands
            .execute::<Order, _>(&cmd.order_id, &ctx, |s| domain::place_order(s, cmd.clone()))
            .await?;
        Ok(Response::new(PlaceOrderResponse {
            order_id: cmd.order_id,
            ack: Some(ack.into()),
        }))
    }

    async fn confirm_order(
        &self,
        request: Request<ConfirmOrderRequest>,
    ) -> Result<Response<ConfirmOrderResponse>, Status> {
        let ctx = command_context(request.get_ref().options.as_ref(), request.metadata());
        let (ctx, cmd) = validated(ctx, ConfirmOrder::try_from(request.into_inner()))?;
        let ack = self
            .commands
            .execute::<Order, _>(&cmd.order_id, &ctx, |s| {
                domain::confirm_order(s, cmd.clone())
            })
            .await?;
        Ok(Response::new(ConfirmOrderResponse {
            ack: Some(ack.into()),
        }))
    }

    async fn reject_order(
        &self,
        request: Request<RejectOrderRequest>,
    ) -> Result<Response<RejectOrderResponse>, Status> {
        let ctx = command_context(request.get_ref().options.as_ref(), request.metadata());
        let (ctx, cmd) = validated(ctx, RejectOrder::try_from(request.into_inner()))?;
        let ack = self
            .commands
            .execute::<Order, _>(&cmd.order_id, &ctx, |s| {
                domain::reject_order(s, cmd.clone())
            })
            .await?;
        Ok(Response::new(RejectOrderResponse {
            ack: Some(ack.into()),
        }))
    }

    async fn cancel_order(
        &self,
        request: Request<CancelOrderRequest>,
    ) -> Result<Response<CancelOrderResponse>, Status> {
        let ctx = command_context(request.get_ref().options.as_ref(), request.metadata());
        let (ctx, cmd) = validated(ctx, CancelOrder::try_from(request.into_inner()))?;
        let ack = self
            .commands
            .execute::<Order, _>(&cmd.order_id, &ctx, |s| {
                domain::cancel_order(s, cmd.clone())
            })
            .await?;
        Ok(Response::new(CancelOrderResponse {
            ack: Some(ack.into()),
        }))
    }

    async fn ship_order(
        &self,
        request: Request<ShipOrderRequest>,
    ) -> Result<Response<ShipOrderResponse>, Status> {
        let ctx = command_context(request.get_ref().options.as_ref(), request.metadata());
        let (ctx, cmd) = validated(ctx, ShipOrder::try_from(request.into_inner()))?;
        let ack = self
            .commands
            .execute::<Order, _>(&cmd.order_id, &ctx, |s| domain::ship_order(s, cmd.clone()))
            .await?;
        Ok(Response::new(ShipOrderResponse {
            ack: Some(ack.into()),
        }))
    }
}

/// An order's currency: an ISO 4217 code.
fn currency(v: &mut Violations, value: &str) {
    if value.len() != 3 || !value.bytes().all(|b| b.is_ascii_uppercase()) {
        v.add(
            "currency",
            "an ISO 4217 code: three uppercase letters, e.g. EUR",
        );
    }
}

/// An order's lines: 1 to [`MAX_LINES`], each with a sku, a quantity and a price.
fn lines(v: &mut Violations, lines: &[causeway_proto::orders::OrderLine]) {
    if lines.is_empty() {
        v.add("lines", "an order needs at least one line");
    } else if lines.len() > MAX_LINES {
        v.add("lines", format!("at most {MAX_LINES} lines"));
    } else {
        for (i, line) in lines.iter().enumerate() {
            v.id(format!("lines[{i}].sku"), &line.sku);
            v.positive(&format!("lines[{i}].quantity"), u64::from(line.quantity));
            if line.unit_price_minor < 0 {
                v.add(
                    format!("lines[{i}].unit_price_minor"),
                    "must not be negative",
                );
            }
        }
    }
}

/// An empty `order_id` is accepted and left empty: the handler names the order from the command
/// id, which this conversion cannot see.
impl TryFrom<PlaceOrderRequest> for PlaceOrder {
    type Error = CommandError;

    fn try_from(req: PlaceOrderRequest) -> Result<Self, CommandError> {
        let mut v = Violations::default();
        if !req.order_id.is_empty() {
            v.id("order_id", &req.order_id);
        }
        v.id("customer_id", &req.customer_id);
        currency(&mut v, &req.currency);
        lines(&mut v, &req.lines);
        v.into_result(PlaceOrder {
            order_id: req.order_id,
            customer_id: req.customer_id,
            currency: req.currency,
            lines: req
                .lines
                .into_iter()
                .map(|l| OrderLine {
                    sku: l.sku,
                    quantity: l.quantity,
                    unit_price_minor: l.unit_price_minor,
                })
                .collect(),
        })
    }
}

impl TryFrom<ConfirmOrderRequest> for ConfirmOrder {
    type Error = CommandError;

    fn try_from(req: ConfirmOrderRequest) -> Result<Self, CommandError> {
        let mut v = Violations::default();
        v.id("order_id", &req.order_id);
        v.into_result(ConfirmOrder {
            order_id: req.order_id,
        })
    }
}

impl TryFrom<RejectOrderRequest> for RejectOrder {
    type Error = CommandError;

    fn try_from(req: RejectOrderRequest) -> Result<Self, CommandError> {
        let mut v = Violations::default();
        v.id("order_id", &req.order_id);
        v.text("reason", &req.reason, MAX_REASON_CHARS, false);
        v.into_result(RejectOrder {
            order_id: req.order_id,
            reason: req.reason,
        })
    }
}

impl TryFrom<CancelOrderRequest> for CancelOrder {
    type Error = CommandError;

    fn try_from(req: CancelOrderRequest) -> Result<Self, CommandError> {
        let mut v = Violations::default();
        v.id("order_id", &req.order_id);
        v.text("reason", &req.reason, MAX_REASON_CHARS, false);
        v.into_result(CancelOrder {
            order_id: req.order_id,
            reason: req.reason,
        })
    }
}

impl TryFrom<ShipOrderRequest> for ShipOrder {
    type Error = CommandError;

    fn try_from(req: ShipOrderRequest) -> Result<Self, CommandError> {
        let mut v = Violations::default();
        v.id("order_id", &req.order_id);
        v.into_result(ShipOrder {
            order_id: req.order_id,
        })
    }
}

#[cfg(test)]
mod tests;
