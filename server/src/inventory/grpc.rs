//! The `InventoryCommands` gRPC service: the edge hop only. Each request becomes a validated
//! command (value types, every violation under its proto3 JSON path) and runs through the
//! generic command path of [`crate::grpc`]; stock rules stay in `domain.rs`.

use causeway_proto::inventory::{
    ReceiveStockRequest, ReceiveStockResponse, RegisterProductRequest, RegisterProductResponse,
    ReleaseStockRequest, ReleaseStockResponse, ReserveStockRequest, ReserveStockResponse,
    inventory_commands_server::{InventoryCommands, InventoryCommandsServer},
};
use tonic::{Request, Response, Status};

use super::domain::{ReceiveStock, RegisterProduct, Release, ReleaseStock, ReserveStock};
use super::values::{ProductName, Quantity, ReservationId, Sku};
use crate::grpc::{Invalid, Violations, acknowledge};
use crate::kernel::CommandHandler;

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
        acknowledge::<_, RegisterProduct, _>(&self.commands, request).await
    }

    async fn receive_stock(
        &self,
        request: Request<ReceiveStockRequest>,
    ) -> Result<Response<ReceiveStockResponse>, Status> {
        acknowledge::<_, ReceiveStock, _>(&self.commands, request).await
    }

    async fn reserve_stock(
        &self,
        request: Request<ReserveStockRequest>,
    ) -> Result<Response<ReserveStockResponse>, Status> {
        acknowledge::<_, ReserveStock, _>(&self.commands, request).await
    }

    async fn release_stock(
        &self,
        request: Request<ReleaseStockRequest>,
    ) -> Result<Response<ReleaseStockResponse>, Status> {
        acknowledge::<_, ReleaseStock, _>(&self.commands, request).await
    }
}

impl TryFrom<RegisterProductRequest> for RegisterProduct {
    type Error = Invalid;

    fn try_from(req: RegisterProductRequest) -> Result<Self, Invalid> {
        let mut v = Violations::default();
        let sku = v.check("sku", Sku::parse(&req.sku));
        let name = v.check("name", ProductName::parse(&req.name));
        v.finish(|| {
            Some(Self {
                sku: sku?,
                name: name?,
            })
        })
    }
}

impl TryFrom<ReceiveStockRequest> for ReceiveStock {
    type Error = Invalid;

    fn try_from(req: ReceiveStockRequest) -> Result<Self, Invalid> {
        let mut v = Violations::default();
        let sku = v.check("sku", Sku::parse(&req.sku));
        let quantity = v.check("quantity", Quantity::parse(req.quantity));
        v.finish(|| {
            Some(Self {
                sku: sku?,
                quantity: quantity?,
            })
        })
    }
}

impl TryFrom<ReserveStockRequest> for ReserveStock {
    type Error = Invalid;

    fn try_from(req: ReserveStockRequest) -> Result<Self, Invalid> {
        let mut v = Violations::default();
        let sku = v.check("sku", Sku::parse(&req.sku));
        let quantity = v.check("quantity", Quantity::parse(req.quantity));
        let reservation_id = v.check("reservationId", ReservationId::parse(&req.reservation_id));
        v.finish(|| {
            Some(Self {
                sku: sku?,
                quantity: quantity?,
                reservation_id: reservation_id?,
            })
        })
    }
}

/// `quantity: 0` is the contract's way to say "everything the reservation still holds".
impl TryFrom<ReleaseStockRequest> for ReleaseStock {
    type Error = Invalid;

    fn try_from(req: ReleaseStockRequest) -> Result<Self, Invalid> {
        let mut v = Violations::default();
        let sku = v.check("sku", Sku::parse(&req.sku));
        let quantity = match req.quantity {
            0 => Some(Release::Everything),
            units => v
                .check("quantity", Quantity::parse(units))
                .map(Release::Units),
        };
        let reservation_id = v.check("reservationId", ReservationId::parse(&req.reservation_id));
        v.finish(|| {
            Some(Self {
                sku: sku?,
                quantity: quantity?,
                reservation_id: reservation_id?,
            })
        })
    }
}

#[cfg(test)]
mod tests;
