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
use crate::kernel::{CommandError, CommandHandler};
use crate::validation::{Violations, validated};

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
        let (ctx, cmd) = validated(ctx, RegisterProduct::try_from(request.into_inner()))?;
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
        let (ctx, cmd) = validated(ctx, ReceiveStock::try_from(request.into_inner()))?;
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
        let (ctx, cmd) = validated(ctx, ReserveStock::try_from(request.into_inner()))?;
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
        let (ctx, cmd) = validated(ctx, ReleaseStock::try_from(request.into_inner()))?;
        let ack = self
            .commands
            .execute::<Product, _>(&cmd.sku, &ctx, |s| domain::release_stock(s, cmd.clone()))
            .await?;
        Ok(Response::new(ReleaseStockResponse {
            ack: Some(ack.into()),
        }))
    }
}

impl TryFrom<RegisterProductRequest> for RegisterProduct {
    type Error = CommandError;

    fn try_from(req: RegisterProductRequest) -> Result<Self, CommandError> {
        let mut v = Violations::default();
        v.id("sku", &req.sku);
        v.text("name", &req.name, MAX_NAME_CHARS, true);
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
