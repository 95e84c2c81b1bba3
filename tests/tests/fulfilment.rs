//! Fulfilment end to end on the embedded stores: each path an order takes, and 200 orders
//! racing for 100 units. The scenarios live in `causeway_tests::scenarios::fulfilment`, shared
//! with the KurrentDB and MongoDB runs.

use causeway_tests::{EventBackend, scenarios::fulfilment};

macro_rules! embedded {
    ($($scenario:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread")]
            async fn $scenario() {
                fulfilment::$scenario(&EventBackend::Embedded).await;
            }
        )*
    };
}

embedded!(
    an_order_in_stock_is_confirmed_with_its_stock_reserved,
    an_order_beyond_stock_is_rejected_and_its_partial_reservation_released,
    an_order_for_an_unknown_product_is_rejected,
    an_order_cancelled_before_confirmation_keeps_nothing_reserved,
    an_order_cancelled_after_confirmation_releases_its_stock,
    a_shipped_order_takes_its_units_out_of_stock,
    an_order_not_settled_by_its_deadline_is_rejected,
    two_hundred_orders_race_for_a_hundred_units,
);
