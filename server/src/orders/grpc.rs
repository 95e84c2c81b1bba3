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
use crate::kernel::{CommandContext, CommandError, CommandHandler, FieldViolation, ids};

/// Longest id or sku: fits comfortably in a stream name and an index key.
const MAX_ID_CHARS: usize = 128;
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
        let (ctx, mut cmd) = both(ctx, PlaceOrder::try_from(request.into_inner()))?;
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
        let (ctx, cmd) = both(ctx, ConfirmOrder::try_from(request.into_inner()))?;
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
        let (ctx, cmd) = both(ctx, RejectOrder::try_from(request.into_inner()))?;
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
        let (ctx, cmd) = both(ctx, CancelOrder::try_from(request.into_inner()))?;
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
        let (ctx, cmd) = both(ctx, ShipOrder::try_from(request.into_inner()))?;
        let ack = self
            .commands
            .execute::<Order, _>(&cmd.order_id, &ctx, |s| domain::ship_order(s, cmd.clone()))
            .await?;
        Ok(Response::new(ShipOrderResponse {
            ack: Some(ack.into()),
        }))
    }
}

/// The context and the command, or every field violation of both together.
fn both<C>(
    ctx: Result<CommandContext, CommandError>,
    cmd: Result<C, CommandError>,
) -> Result<(CommandContext, C), CommandError> {
    match (ctx, cmd) {
        (Ok(ctx), Ok(cmd)) => Ok((ctx, cmd)),
        (Err(CommandError::Invalid(mut first)), Err(CommandError::Invalid(more))) => {
            first.extend(more);
            Err(CommandError::Invalid(first))
        }
        (Err(e), _) | (_, Err(e)) => Err(e),
    }
}

/// Field violations of one request, collected so the caller can fix them all at once.
#[derive(Default)]
struct Violations(Vec<FieldViolation>);

impl Violations {
    fn add(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.0.push(FieldViolation::new(field, description));
    }

    /// An id or sku: 1 to 128 characters, no whitespace or control characters (it becomes part
    /// of a stream name and of URLs).
    fn id(&mut self, field: impl Into<String>, value: &str) {
        if value.is_empty() {
            self.add(field, "required");
        } else if value.chars().count() > MAX_ID_CHARS {
            self.add(field, format!("at most {MAX_ID_CHARS} characters"));
        } else if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            self.add(field, "must not contain whitespace or control characters");
        }
    }

    fn reason(&mut self, value: &str) {
        if value.chars().count() > MAX_REASON_CHARS {
            self.add("reason", format!("at most {MAX_REASON_CHARS} characters"));
        }
    }

    fn currency(&mut self, value: &str) {
        if value.len() != 3 || !value.bytes().all(|b| b.is_ascii_uppercase()) {
            self.add(
                "currency",
                "an ISO 4217 code: three uppercase letters, e.g. EUR",
            );
        }
    }

    fn lines(&mut self, lines: &[causeway_proto::orders::OrderLine]) {
        if lines.is_empty() {
            self.add("lines", "an order needs at least one line");
        } else if lines.len() > MAX_LINES {
            self.add("lines", format!("at most {MAX_LINES} lines"));
        } else {
            for (i, line) in lines.iter().enumerate() {
                self.id(format!("lines[{i}].sku"), &line.sku);
                if line.quantity == 0 {
                    self.add(format!("lines[{i}].quantity"), "must be greater than 0");
                }
                if line.unit_price_minor < 0 {
                    self.add(
                        format!("lines[{i}].unit_price_minor"),
                        "must not be negative",
                    );
                }
            }
        }
    }

    fn into_result<T>(self, command: T) -> Result<T, CommandError> {
        if self.0.is_empty() {
            Ok(command)
        } else {
            Err(CommandError::Invalid(self.0))
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
        v.currency(&req.currency);
        v.lines(&req.lines);
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
        v.reason(&req.reason);
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
        v.reason(&req.reason);
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
