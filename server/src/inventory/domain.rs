//! Products and their stock as pure decisions. Stock on hand is what the warehouse holds;
//! reserved stock is promised to someone (an order) under a named reservation; only the rest is
//! `available` to promise again. A reservation is taken once and released at most down to zero,
//! so retried or duplicated releases never hand back stock twice; committing a reservation
//! (its order shipped) takes what it holds out of stock altogether.
//!
//! Releasing a reservation id the product has never seen is [`InventoryError::UnknownReservation`],
//! answered as NOT_FOUND: the request names something that does not exist, exactly like an
//! unknown sku, and a client handles both the same way. A reservation that existed but has
//! been fully released is a broken rule instead ([`InventoryError::AlreadyReleased`]).

use std::collections::BTreeMap;

pub use super::values::{ProductName, Quantity, ReservationId, Sku};
use crate::kernel::{Aggregate, CommandError, decisions};

/// A product as folded from its `product-<sku>` stream. Private: decisions read it, nothing
/// else changes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Product {
    registered: bool,
    on_hand: u64,
    reserved: u64,
    /// Units each reservation still holds; fully released ones stay at 0 so that an id is
    /// never reused.
    reservations: BTreeMap<ReservationId, u64>,
}

impl Product {
    /// Whether the product was registered; nothing else is accepted before.
    pub fn registered(&self) -> bool {
        self.registered
    }
    /// Units the warehouse holds, reserved or not.
    pub fn on_hand(&self) -> u64 {
        self.on_hand
    }
    /// Units promised under reservations and not yet released.
    pub fn reserved(&self) -> u64 {
        self.reserved
    }
    /// Units that can still be reserved.
    pub fn available(&self) -> u64 {
        self.on_hand.saturating_sub(self.reserved)
    }
    /// Units `reservation` still holds; `None` for a reservation never made.
    pub fn held_by(&self, reservation: &ReservationId) -> Option<u64> {
        self.reservations.get(reservation).copied()
    }
}

/// Everything that can happen to a product; the facts its stream is made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProductEvent {
    /// The product exists from now on, under this name.
    Registered {
        /// The product.
        sku: Sku,
        /// Its name.
        name: ProductName,
    },
    /// Units arrived at the warehouse.
    StockReceived {
        /// The product.
        sku: Sku,
        /// How many.
        quantity: Quantity,
    },
    /// Units were promised under a reservation.
    StockReserved {
        /// The product.
        sku: Sku,
        /// How many.
        quantity: Quantity,
        /// The reservation holding them.
        reservation_id: ReservationId,
    },
    /// Units a reservation held became available again.
    StockReleased {
        /// The product.
        sku: Sku,
        /// How many, at most what the reservation held.
        quantity: Quantity,
        /// The reservation that held them.
        reservation_id: ReservationId,
    },
    /// Units a reservation held left the warehouse (their order shipped): on hand and reserved
    /// both went down by them.
    ReservationCommitted {
        /// The product.
        sku: Sku,
        /// How many: everything the reservation still held.
        quantity: Quantity,
        /// The reservation that held them.
        reservation_id: ReservationId,
    },
}

impl ProductEvent {
    /// The product the event is about.
    pub fn sku(&self) -> &Sku {
        match self {
            Self::Registered { sku, .. }
            | Self::StockReceived { sku, .. }
            | Self::StockReserved { sku, .. }
            | Self::StockReleased { sku, .. }
            | Self::ReservationCommitted { sku, .. } => sku,
        }
    }
}

impl Aggregate for Product {
    const CATEGORY: &'static str = "product";
    type Event = ProductEvent;

    /// Product streams grow long: each reservation is an event or two on them.
    fn snapshots() -> Option<crate::kernel::snapshot::SnapshotCodec<Self>> {
        Some(snapshot::CODEC)
    }

    /// Every reservation ever made stays in the state (an id is never reused): counted with
    /// its id's typical length and the map's node.
    fn footprint(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.reservations.len() * (std::mem::size_of::<(ReservationId, u64)>() + 64)
    }

    /// Saturating arithmetic: the decisions below never record more than fits, and folding a
    /// fact must not fail.
    fn apply(&mut self, event: &ProductEvent) {
        match event {
            ProductEvent::Registered { .. } => self.registered = true,
            ProductEvent::StockReceived { quantity, .. } => {
                self.on_hand = self.on_hand.saturating_add(quantity.get())
            }
            ProductEvent::StockReserved {
                quantity,
                reservation_id,
                ..
            } => {
                self.reserved = self.reserved.saturating_add(quantity.get());
                let held = self.reservations.entry(reservation_id.clone()).or_default();
                *held = held.saturating_add(quantity.get());
            }
            ProductEvent::StockReleased {
                quantity,
                reservation_id,
                ..
            } => {
                self.reserved = self.reserved.saturating_sub(quantity.get());
                let held = self.reservations.entry(reservation_id.clone()).or_default();
                *held = held.saturating_sub(quantity.get());
            }
            ProductEvent::ReservationCommitted {
                quantity,
                reservation_id,
                ..
            } => {
                self.on_hand = self.on_hand.saturating_sub(quantity.get());
                self.reserved = self.reserved.saturating_sub(quantity.get());
                let held = self.reservations.entry(reservation_id.clone()).or_default();
                *held = held.saturating_sub(quantity.get());
            }
        }
    }
}

/// A new product enters the catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterProduct {
    /// Its stock keeping unit.
    pub sku: Sku,
    /// Its name.
    pub name: ProductName,
}

/// Units arrive at the warehouse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiveStock {
    /// The product.
    pub sku: Sku,
    /// How many.
    pub quantity: Quantity,
}

/// Units are promised under a new reservation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReserveStock {
    /// The product.
    pub sku: Sku,
    /// How many.
    pub quantity: Quantity,
    /// Names the reservation; used once.
    pub reservation_id: ReservationId,
}

/// How much of a reservation to give back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Release {
    /// Whatever the reservation still holds (the proto's `quantity: 0`).
    Everything,
    /// Exactly this many units, at most what the reservation holds.
    Units(Quantity),
}

/// Units held by a reservation become available again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseStock {
    /// The product.
    pub sku: Sku,
    /// How much.
    pub quantity: Release,
    /// The reservation to release from.
    pub reservation_id: ReservationId,
}

/// The units a reservation holds leave the warehouse (its order shipped). Only fulfilment
/// sends it; there is no RPC for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitReservation {
    /// The product.
    pub sku: Sku,
    /// The reservation whose units leave.
    pub reservation_id: ReservationId,
}

/// Why the inventory domain refused a command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InventoryError {
    /// The command names a sku that was never registered.
    #[error("product {0} not found")]
    UnknownProduct(Sku),
    /// A release names a reservation this product never had.
    #[error("reservation {reservation_id} of product {sku} not found")]
    UnknownReservation {
        /// The product.
        sku: Sku,
        /// The reservation named.
        reservation_id: ReservationId,
    },
    /// Registration is a one-time act per sku.
    #[error("product {0} is already registered")]
    AlreadyRegistered(Sku),
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
    ReservationExists(ReservationId),
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
    AlreadyReleased(ReservationId),
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

decisions!(Product, InventoryError;
    RegisterProduct => register_product, sku;
    ReceiveStock => receive_stock, sku;
    ReserveStock => reserve_stock, sku;
    ReleaseStock => release_stock, sku;
    CommitReservation => commit_reservation, sku;
);

/// Adds a product to the catalogue, once.
pub fn register_product(
    product: &Product,
    cmd: &RegisterProduct,
) -> Result<Vec<ProductEvent>, InventoryError> {
    if product.registered {
        return Err(InventoryError::AlreadyRegistered(cmd.sku.clone()));
    }
    Ok(vec![ProductEvent::Registered {
        sku: cmd.sku.clone(),
        name: cmd.name.clone(),
    }])
}

/// Counts arriving units into stock on hand.
pub fn receive_stock(
    product: &Product,
    cmd: &ReceiveStock,
) -> Result<Vec<ProductEvent>, InventoryError> {
    require_registered(product, &cmd.sku)?;
    product
        .on_hand
        .checked_add(cmd.quantity.get())
        .ok_or(InventoryError::StockOverflow)?;
    Ok(vec![ProductEvent::StockReceived {
        sku: cmd.sku.clone(),
        quantity: cmd.quantity,
    }])
}

/// Promises available units under a new reservation.
pub fn reserve_stock(
    product: &Product,
    cmd: &ReserveStock,
) -> Result<Vec<ProductEvent>, InventoryError> {
    require_registered(product, &cmd.sku)?;
    if product.reservations.contains_key(&cmd.reservation_id) {
        return Err(InventoryError::ReservationExists(
            cmd.reservation_id.clone(),
        ));
    }
    let available = product.available();
    if cmd.quantity.get() > available {
        return Err(InventoryError::InsufficientStock {
            requested: cmd.quantity.get(),
            available,
        });
    }
    Ok(vec![ProductEvent::StockReserved {
        sku: cmd.sku.clone(),
        quantity: cmd.quantity,
        reservation_id: cmd.reservation_id.clone(),
    }])
}

/// Gives back some or all of what a reservation holds; the event records the exact units.
pub fn release_stock(
    product: &Product,
    cmd: &ReleaseStock,
) -> Result<Vec<ProductEvent>, InventoryError> {
    let holding = holding(product, &cmd.sku, &cmd.reservation_id)?;
    let quantity = match cmd.quantity {
        Release::Everything => holding,
        Release::Units(requested) if requested > holding => {
            return Err(InventoryError::ReleaseExceedsHeld {
                requested: requested.get(),
                held: holding.get(),
            });
        }
        Release::Units(units) => units,
    };
    Ok(vec![ProductEvent::StockReleased {
        sku: cmd.sku.clone(),
        quantity,
        reservation_id: cmd.reservation_id.clone(),
    }])
}

/// Takes everything a reservation still holds out of stock: on hand and reserved both drop.
pub fn commit_reservation(
    product: &Product,
    cmd: &CommitReservation,
) -> Result<Vec<ProductEvent>, InventoryError> {
    let quantity = holding(product, &cmd.sku, &cmd.reservation_id)?;
    Ok(vec![ProductEvent::ReservationCommitted {
        sku: cmd.sku.clone(),
        quantity,
        reservation_id: cmd.reservation_id.clone(),
    }])
}

/// What `reservation_id` of the registered product still holds: at least one unit, or the
/// reason there is nothing to give back or take out.
fn holding(
    product: &Product,
    sku: &Sku,
    reservation_id: &ReservationId,
) -> Result<Quantity, InventoryError> {
    require_registered(product, sku)?;
    let Some(held) = product.held_by(reservation_id) else {
        return Err(InventoryError::UnknownReservation {
            sku: sku.clone(),
            reservation_id: reservation_id.clone(),
        });
    };
    Quantity::recorded(held).map_err(|_| InventoryError::AlreadyReleased(reservation_id.clone()))
}

fn require_registered(product: &Product, sku: &Sku) -> Result<(), InventoryError> {
    if product.registered {
        Ok(())
    } else {
        Err(InventoryError::UnknownProduct(sku.clone()))
    }
}

mod snapshot;
#[cfg(test)]
mod tests;
