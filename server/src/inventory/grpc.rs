//! The `InventoryCommands` gRPC service: request -> validated domain command -> kernel -> ack.
//! Every field is checked once, here, and all violations are reported together with their proto
//! paths; stock rules stay in `domain.rs`.

use causeway_proto::inventory::{
    ReceiveStockRequest, ReceiveStockResponse, RegisterProductRequest, RegisterProductResponse,
    ReleaseStockRequest, ReleaseStockResponse, ReserveStockRequest, ReserveStockResponse,
    inventory_commands_server::{InventoryCommands, InventoryCommandsServer},
};
use tonic::{Request, Response, Status};

use super::domain::{
    self, Product, ReceiveStock, RegisterProduct, Release, ReleaseStock, ReserveStock,
};
use crate::command_options::command_context;
use crate::kernel::{CommandContext, CommandError, CommandHandler, FieldViolation};

/// Longest sku or reservation id: fits comfortably in a stream name and an index key.
const MAX_ID_CHARS: usize = 128;
/// Longest product name; enough for any catalogue title.
const MAX_NAME_CHARS: usize = 200;

/// Serves `causeway.inventory.v1.InventoryCommands` by running domain decisions through the
/// kernel.
#[derive(Clone)]
pub struct InventoryCommandsService {
    commands: CommandHandler,
}

/// The gRPC server for inventory commands, ready to add to a tonic router.
pub fn service(commands: CommandHandler) -> InventoryCommandsServer<InventoryCommandsService> {
    InventoryCommandsServer::new(InventoryCommandsService { commands })
}

#[tonic::async_trait]
impl InventoryCommands for InventoryCommandsService {
    async fn register_product(
        &self,
        request: Request<RegisterProductRequest>,
    ) -> Result<Response<RegisterProductResponse>, Status> {
        let ctx = command_context(request.get_ref().options.as_ref(), request.metadata());
        let (ctx, cmd) = both(ctx, RegisterProduct::try_from(request.into_inner()))?;
        let ack = self
            .commands
            .execute::<Product, _>(&cmd.sku, &ctx, |s| domain::register_product(s, cmd.clone()))
            .await?;
        Ok(Response::new(RegisterProductResponse {
            ack: Some(ack.into()),
        }))
    }

    async fn receive_stock(
        &self,
        request: Request<ReceiveStockRequest>,
    ) -> Result<Response<ReceiveStockResponse>, Status> {
        let ctx = command_context(request.get_ref().options.as_ref(), request.metadata());
        let (ctx, cmd) = both(ctx, ReceiveStock::try_from(request.into_inner()))?;
        let ack = self
            .commands
            .execute::<Product, _>(&cmd.sku, &ctx, |s| domain::receive_stock(s, cmd.clone()))
            .await?;
        Ok(Response::new(ReceiveStockResponse {
            ack: Some(ack.into()),
        }))
    }

    async fn reserve_stock(
        &self,
        request: Request<ReserveStockRequest>,
    ) -> Result<Response<ReserveStockResponse>, Status> {
        let ctx = command_context(request.get_ref().options.as_ref(), request.metadata());
        let (ctx, cmd) = both(ctx, ReserveStock::try_from(request.into_inner()))?;
        let ack = self
            .commands
            .execute::<Product, _>(&cmd.sku, &ctx, |s| domain::reserve_stock(s, cmd.clone()))
            .await?;
        Ok(Response::new(ReserveStockResponse {
            ack: Some(ack.into()),
        }))
    }

    async fn release_stock(
        &self,
        request: Request<ReleaseStockRequest>,
    ) -> Result<Response<ReleaseStockResponse>, Status> {
        let ctx = command_context(request.get_ref().options.as_ref(), request.metadata());
        let (ctx, cmd) = both(ctx, ReleaseStock::try_from(request.into_inner()))?;
        let ack = self
            .commands
            .execute::<Product, _>(&cmd.sku, &ctx, |s| domain::release_stock(s, cmd.clone()))
            .await?;
        Ok(Response::new(ReleaseStockResponse {
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
    fn add(&mut self, field: &str, description: impl Into<String>) {
        self.0.push(FieldViolation::new(field, description));
    }

    /// A sku or reservation id: 1 to 128 characters, no whitespace or control characters (it
    /// becomes part of a stream name and of URLs). A sku may contain `-`: the stream category
    /// is only what precedes the first one.
    fn id(&mut self, field: &str, value: &str) {
        if value.is_empty() {
            self.add(field, "required");
        } else if value.chars().count() > MAX_ID_CHARS {
            self.add(field, format!("at most {MAX_ID_CHARS} characters"));
        } else if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            self.add(field, "must not contain whitespace or control characters");
        }
    }

    fn name(&mut self, value: &str) {
        if value.trim().is_empty() {
            self.add("name", "required");
        } else if value.chars().count() > MAX_NAME_CHARS {
            self.add("name", format!("at most {MAX_NAME_CHARS} characters"));
        } else if value.chars().any(char::is_control) {
            self.add("name", "must not contain control characters");
        }
    }

    fn positive(&mut self, field: &str, value: u64) {
        if value == 0 {
            self.add(field, "must be greater than 0");
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

impl TryFrom<RegisterProductRequest> for RegisterProduct {
    type Error = CommandError;

    fn try_from(req: RegisterProductRequest) -> Result<Self, CommandError> {
        let mut v = Violations::default();
        v.id("sku", &req.sku);
        v.name(&req.name);
        v.into_result(RegisterProduct {
            sku: req.sku,
            name: req.name,
        })
    }
}

impl TryFrom<ReceiveStockRequest> for ReceiveStock {
    type Error = CommandError;

    fn try_from(req: ReceiveStockRequest) -> Result<Self, CommandError> {
        let mut v = Violations::default();
        v.id("sku", &req.sku);
        v.positive("quantity", req.quantity);
        v.into_result(ReceiveStock {
            sku: req.sku,
            quantity: req.quantity,
        })
    }
}

impl TryFrom<ReserveStockRequest> for ReserveStock {
    type Error = CommandError;

    fn try_from(req: ReserveStockRequest) -> Result<Self, CommandError> {
        let mut v = Violations::default();
        v.id("sku", &req.sku);
        v.positive("quantity", req.quantity);
        v.id("reservation_id", &req.reservation_id);
        v.into_result(ReserveStock {
            sku: req.sku,
            quantity: req.quantity,
            reservation_id: req.reservation_id,
        })
    }
}

/// `quantity: 0` is the contract's way to say "everything the reservation still holds".
impl TryFrom<ReleaseStockRequest> for ReleaseStock {
    type Error = CommandError;

    fn try_from(req: ReleaseStockRequest) -> Result<Self, CommandError> {
        let mut v = Violations::default();
        v.id("sku", &req.sku);
        v.id("reservation_id", &req.reservation_id);
        v.into_result(ReleaseStock {
            sku: req.sku,
            quantity: match req.quantity {
                0 => Release::Everything,
                units => Release::Units(units),
            },
            reservation_id: req.reservation_id,
        })
    }
}

#[cfg(test)]
mod tests;
