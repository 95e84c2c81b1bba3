//! Orders: a customer's request for products, from placement through confirmation or rejection
//! to shipping or cancellation. One `order-<id>` stream per order.
//!
//! Layout:
//! - `values`: the orders' value types (ids, currency, money, lines), parsed once at the edge.
//! - `commands`: what callers (and fulfilment) ask of an order, as validated value types.
//! - `domain`: the `Order` aggregate, its events and pure decisions (given/when/then tests in
//!   `domain/tests.rs`).
//! - `events`: order events <-> `causeway.orders.v1` event messages (proto3 JSON).
//! - `grpc`: the `OrderCommands` service: request validation, the kernel call, the ack.
//! - `ownership`: which orders a caller acting as a customer may see and change.
//! - `projection`: the `orders` read model, one document per order, folded from order events.
//! - `queries`: the `OrderQueries` service: request validation, the read-model call, the reply.

pub mod commands;
pub mod domain;
pub mod events;
pub mod grpc;
pub mod ownership;
pub mod projection;
pub mod queries;
pub mod values;

pub use domain::{Order, OrderError, OrderEvent};
pub use grpc::{OrderCommandsService, service, service_with};

use crate::kernel::Upcasters;

/// Adds the order events' upcasters to `upcasters`. Every order event is still at schema
/// version 1, so there are none yet; the function exists so that wiring treats every context
/// alike and a future schema change has one obvious place to go.
pub fn register_upcasters(upcasters: Upcasters) -> Upcasters {
    upcasters
}
