//! Fulfilment end to end: orders tied to stock by the saga, over real gRPC, on every event
//! store backend (and on MongoDB read models).
//!
//! Layout: `fixtures` (fulfilling servers, stock, orders, waiting for outcomes); `outcomes`
//! (one scenario per path an order takes); `race` (many clients ordering the last units).

pub mod fixtures;
mod outcomes;
mod race;

pub use self::{
    outcomes::{
        a_shipped_order_takes_its_units_out_of_stock,
        an_order_beyond_stock_is_rejected_and_its_partial_reservation_released,
        an_order_cancelled_after_confirmation_releases_its_stock,
        an_order_cancelled_before_confirmation_keeps_nothing_reserved,
        an_order_for_an_unknown_product_is_rejected,
        an_order_in_stock_is_confirmed_with_its_stock_reserved,
        an_order_not_settled_by_its_deadline_is_rejected,
    },
    race::two_hundred_orders_race_for_a_hundred_units,
};
