//! The last units, raced for: 200 one-unit orders of one product with 100 units on hand, placed
//! by 16 clients at once. Exactly 100 are confirmed with one unit each reserved, every other
//! one is rejected with the reason, and the stock invariant holds afterwards, also once some
//! confirmed orders have shipped and others were cancelled: on hand = received - shipped, and
//! reserved = the units of confirmed, unshipped orders.

use std::sync::Arc;

use causeway_client::{
    fulfilment::FulfilmentStatus,
    orders::{Order, OrderStatus},
};
use tokio::sync::Mutex;

use super::fixtures::{Clients, NO_HURRY, fulfilling_server, line, stock_of};
use crate::{EventBackend, scenarios::unique};

const UNITS: u64 = 100;
const ORDERS: usize = 200;
const CLIENTS: usize = 16;
/// Confirmed orders shipped, and others cancelled, after the race.
const SHIPPED: usize = 10;
const CANCELLED: usize = 10;

/// 16 clients place 200 orders for the 100 units of one product; see the module doc.
pub async fn two_hundred_orders_race_for_a_hundred_units(backend: &EventBackend) {
    let server = fulfilling_server(backend, NO_HURRY).await;
    let mut c = Clients::of(&server).await;
    let sku = unique("kettle");
    c.stock(&sku, UNITS).await;

    let next = Arc::new(Mutex::new(0usize));
    let mut clients = Vec::new();
    for client in 0..CLIENTS {
        let (mut c, sku, next) = (Clients::of(&server).await, sku.clone(), next.clone());
        clients.push(tokio::spawn(async move {
            let mut settled: Vec<Order> = Vec::new();
            loop {
                let n = {
                    let mut next = next.lock().await;
                    *next += 1;
                    *next
                };
                if n > ORDERS {
                    return settled;
                }
                let order_id = c
                    .place(&format!("customer-{client}"), vec![line(&sku, 1)])
                    .await;
                settled.push(c.outcome(&order_id).await);
            }
        }));
    }
    let mut orders = Vec::new();
    for client in clients {
        orders.extend(client.await.expect("client task"));
    }
    assert_eq!(orders.len(), ORDERS);
    let (confirmed, rejected): (Vec<&Order>, Vec<&Order>) = orders
        .iter()
        .partition(|o| o.status() == OrderStatus::Confirmed);
    assert_eq!(confirmed.len(), UNITS as usize);
    let reason = format!("not enough {sku}: 1 requested, 0 available");
    for order in &rejected {
        assert_eq!(order.status(), OrderStatus::Rejected, "{order:?}");
        assert_eq!(order.reason, reason);
    }
    let last = orders.iter().map(|o| o.position).max().unwrap_or(0);
    assert_eq!(stock_of(&c.product_at(&sku, last).await), (UNITS, UNITS, 0));

    let mut settled = 0;
    for order in confirmed.iter().take(SHIPPED) {
        c.ship(&order.order_id).await;
    }
    for order in confirmed.iter().skip(SHIPPED).take(CANCELLED) {
        c.cancel(&order.order_id, "changed my mind").await;
    }
    for (i, order) in confirmed.iter().take(SHIPPED + CANCELLED).enumerate() {
        let done = if i < SHIPPED {
            FulfilmentStatus::Shipped
        } else {
            FulfilmentStatus::Released
        };
        let fulfilment = c.fulfilment_in(&order.order_id, done).await;
        settled = settled.max(fulfilment.position);
    }
    let shipped = SHIPPED as u64;
    let unshipped_confirmed = (UNITS as usize - SHIPPED - CANCELLED) as u64;
    assert_eq!(
        stock_of(&c.product_at(&sku, settled).await),
        (
            UNITS - shipped,
            unshipped_confirmed,
            UNITS - shipped - unshipped_confirmed
        )
    );
}
