//! Inventory: products and their stock, with named reservations so that promised units are
//! never promised twice. One `product-<sku>` stream per product.
//!
//! Layout:
//! - `values`: the inventory's value types (product name, reservation id), parsed once.
//! - `domain`: the `Product` aggregate, its events, commands and pure decisions (given/when/then
//!   tests in `domain/tests.rs`).
//! - `events`: product events <-> `causeway.inventory.v1` event messages (proto3 JSON), with
//!   schema versions.
//! - `grpc`: the `InventoryCommands` service: request validation, the kernel call, the ack.
//! - `projection`: the `products` read model, one document per product with its stock figures.
//! - `queries`: the `InventoryQueries` service: request validation, the read-model call, the
//!   reply.

pub mod domain;
pub mod events;
pub mod grpc;
pub mod projection;
pub mod queries;
pub mod values;

pub use domain::{InventoryError, Product, ProductEvent};
pub use grpc::{InventoryCommandsService, service};

use crate::kernel::{Upcasters, upcast::rename_field};

/// Adds the product events' upcasters to `upcasters`, so streams written before a schema change
/// still load: `ProductRegistered` v1 called `name` `title`.
pub fn register_upcasters(upcasters: Upcasters) -> Upcasters {
    upcasters.register(events::PRODUCT_REGISTERED, 1, rename_field("title", "name"))
}
