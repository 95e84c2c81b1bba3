//! Products and their stock as pure decisions. Stock on hand is what the warehouse holds;
//! reserved stock is promised to someone (an order) under a named reservation; only the rest is
//! `available` to promise again. A reservation is taken once and released at most down to zero,
//! so retried or duplicated releases never hand back stock twice.
//!
//! Releasing a reservation id the product has never seen is [`InventoryError::UnknownReservation`],
//! answered as NOT_FOUND: the request names something that does not exist, exactly like an
//! unknown sku, and a client handles both the same way. A reservation that existed but has
//! been fully released is a broken rule instead ([`InventoryError::AlreadyReleased`]).

use std::collections::BTreeMap;

use crate::kernel::{Aggregate, CommandError};

/// A product as folded from its `product-<sku>` stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Product {
    /// The stock keeping unit, the part of the stream name after `product-`.
    pub sku: String,
    /// Human-readable name.
    pub name: String,
    /// Whether the product was registered; nothing else is accepted before.
    pub registered: bool,
    /// Units the warehouse holds, reserved or not.
    pub on_hand: u64,
    /// Units promised under reservations and not yet released.
    pub reserved: u64,
    /// Units each reservation still holds, by reservation id; fully released ones stay at 0 so
    /// that an id is never reused.
    pub reservations: BTreeMap<String, u64>,
}

impl Product {
    /// Units that can still be reserved.
    pub fn available(&self) -> u64 {
        self.on_hand.saturating_sub(self.reserved)
    }
}

/// The product exists from now on, under this name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductRegistered {
    /// The product.
    pub sku: String,
    /// Its name.
    pub name: String,
}

/// Units arrived at the warehouse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockReceived {
    /// The product.
    pub sku: String,
    /// How many, more than zero.
    pub quantity: u64,
}

/// Units were promised under a reservation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockReserved {
    /// The product.
    pub sku: String,
    /// How many, more than zero.
    pub quantity: u64,
    /// The reservation holding them.
    pub reservation_id: String,
}

/// Units a reservation held became available again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockReleased {
    /// The product.
    pub sku: String,
    /// How many, more than zero and at most what the reservation held.
    pub quantity: u64,
    /// The reservation that held them.
    pub reservation_id: String,
}

/// Everything that can happen to a product; the facts its stream is made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProductEvent {
    /// See [`ProductRegistered`].
    Registered(ProductRegistered),
    /// See [`StockReceived`].
    StockReceived(StockReceived),
    /// See [`StockReserved`].
    StockReserved(StockReserved),
    /// See [`StockReleased`].
    StockReleased(StockReleased),
}

impl Aggregate for Product {
    const CATEGORY: &'static str = "product";
    type Event = ProductEvent;

    /// Saturating arithmetic: the decisions below never record more than fits, and folding a
    /// fact must not fail.
    fn apply(&mut self, event: &ProductEvent) {
        match event {
            ProductEvent::Registered(e) => {
                self.sku.clone_from(&e.sku);
                self.name.clone_from(&e.name);
                self.registered = true;
            }
            ProductEvent::StockReceived(e) => {
                self.on_hand = self.on_hand.saturating_add(e.quantity)
            }
            ProductEvent::StockReserved(e) => {
                self.reserved = self.reserved.saturating_add(e.quantity);
                let held = self
                    .reservations
                    .entry(e.reservation_id.clone())
                    .or_default();
                *held = held.saturating_add(e.quantity);
            }
            ProductEvent::StockReleased(e) => {
                self.reserved = self.reserved.saturating_sub(e.quantity);
                let held = self
                    .reservations
                    .entry(e.reservation_id.clone())
                    .or_default();
                *held = held.saturating_sub(e.quantity);
            }
        }
    }
}

/// A new product enters the catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterProduct {
    /// Its stock keeping unit.
    pub sku: String,
    /// Its name.
    pub name: String,
}

/// Units arrive at the warehouse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiveStock {
    /// The product.
    pub sku: String,
    /// How many.
    pub quantity: u64,
}

/// Units are promised under a new reservation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReserveStock {
    /// The product.
    pub sku: String,
    /// How many.
    pub quantity: u64,
    /// Names the reservation; used once.
    pub reservation_id: String,
}

/// How much of a reservation to give back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Release {
    /// Whatever the reservation still holds (the proto's `quantity: 0`).
    Everything,
    /// Exactly this many units, at most what the reservation holds.
    Units(u64),
}

/// Units held by a reservation become available again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseStock {
    /// The product.
    pub sku: String,
    /// How much.
    pub quantity: Release,
    /// The reservation to release from.
    pub reservation_id: String,
}

/// Why the inventory domain refused a command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InventoryError {
    /// The command names a sku that was never registered.
    #[error("product {0} not found")]
    UnknownProduct(String),
    /// A release names a reservation this product never had.
    #[error("reservation {reservation_id} of product {sku} not found")]
    UnknownReservation {
        /// The product.
        sku: String,
        /// The reservation named.
        reservation_id: String,
    },
    /// Registration is a one-time act per sku.
    #[error("product {0} is already registered")]
    AlreadyRegistered(String),
    /// Moving zero units is not a change.
    #[error("quantity must be greater than 0")]
    ZeroQuantity,
    /// Receiving would exceed what can be counted.
    #[error("stock on hand would overflow")]
    StockOverflow,
    /// Stock cannot be reserved beyond what is available.
    #[error("only {available} available, {requested} requested")]
    InsufficientStock {
        /// Units asked for.
        requested: u64,
        /// Units that could be reserved.
        available: u64,
    },
    /// Reservation ids name one reservation forever.
    #[error("reservation {0} was already made")]
    ReservationExists(String),
    /// A release cannot give back more than the reservation holds.
    #[error("reservation holds only {held}, {requested} requested")]
    ReleaseExceedsHeld {
        /// Units asked for.
        requested: u64,
        /// Units the reservation still holds.
        held: u64,
    },
    /// Everything the reservation held was given back already.
    #[error("a reservation is released once: {0} holds nothing any more")]
    AlreadyReleased(String),
}

impl From<InventoryError> for CommandError {
    fn from(error: InventoryError) -> Self {
        match error {
            InventoryError::UnknownProduct(sku) => CommandError::NotFound(format!("product {sku}")),
            InventoryError::UnknownReservation {
                sku,
                reservation_id,
            } => CommandError::NotFound(format!("reservation {reservation_id} of product {sku}")),
            rule => CommandError::Rejected(rule.to_string()),
        }
    }
}

/// Adds a product to the catalogue, once.
pub fn register_product(
    product: &Product,
    cmd: RegisterProduct,
) -> Result<Vec<ProductEvent>, InventoryError> {
    if product.registered {
        return Err(InventoryError::AlreadyRegistered(cmd.sku));
    }
    Ok(vec![ProductEvent::Registered(ProductRegistered {
        sku: cmd.sku,
        name: cmd.name,
    })])
}

/// Counts arriving units into stock on hand.
pub fn receive_stock(
    product: &Product,
    cmd: ReceiveStock,
) -> Result<Vec<ProductEvent>, InventoryError> {
    require_registered(product, &cmd.sku)?;
    if cmd.quantity == 0 {
        return Err(InventoryError::ZeroQuantity);
    }
    product
        .on_hand
        .checked_add(cmd.quantity)
        .ok_or(InventoryError::StockOverflow)?;
    Ok(vec![ProductEvent::StockReceived(StockReceived {
        sku: cmd.sku,
        quantity: cmd.quantity,
    })])
}

/// Promises available units under a new reservation.
pub fn reserve_stock(
    product: &Product,
    cmd: ReserveStock,
) -> Result<Vec<ProductEvent>, InventoryError> {
    require_registered(product, &cmd.sku)?;
    if cmd.quantity == 0 {
        return Err(InventoryError::ZeroQuantity);
    }
    if product.reservations.contains_key(&cmd.reservation_id) {
        return Err(InventoryError::ReservationExists(cmd.reservation_id));
    }
    let available = product.available();
    if cmd.quantity > available {
        return Err(InventoryError::InsufficientStock {
            requested: cmd.quantity,
            available,
        });
    }
    Ok(vec![ProductEvent::StockReserved(StockReserved {
        sku: cmd.sku,
        quantity: cmd.quantity,
        reservation_id: cmd.reservation_id,
    })])
}

/// Gives back some or all of what a reservation holds; the event records the exact units.
pub fn release_stock(
    product: &Product,
    cmd: ReleaseStock,
) -> Result<Vec<ProductEvent>, InventoryError> {
    require_registered(product, &cmd.sku)?;
    let Some(&held) = product.reservations.get(&cmd.reservation_id) else {
        return Err(InventoryError::UnknownReservation {
            sku: cmd.sku,
            reservation_id: cmd.reservation_id,
        });
    };
    if held == 0 {
        return Err(InventoryError::AlreadyReleased(cmd.reservation_id));
    }
    let quantity = match cmd.quantity {
        Release::Everything => held,
        Release::Units(0) => return Err(InventoryError::ZeroQuantity),
        Release::Units(requested) if requested > held => {
            return Err(InventoryError::ReleaseExceedsHeld { requested, held });
        }
        Release::Units(units) => units,
    };
    Ok(vec![ProductEvent::StockReleased(StockReleased {
        sku: cmd.sku,
        quantity,
        reservation_id: cmd.reservation_id,
    })])
}

fn require_registered(product: &Product, sku: &str) -> Result<(), InventoryError> {
    if product.registered {
        Ok(())
    } else {
        Err(InventoryError::UnknownProduct(sku.to_owned()))
    }
}

#[cfg(test)]
mod tests;
