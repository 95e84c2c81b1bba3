//! Waiting for an order's outcome. Placing an order answers at once with the order PLACED;
//! fulfilment then reserves its stock and confirms it, or rejects it with a reason. Rather than
//! poll, ask once: the server holds the query until the order has left PLACED (or the call's
//! deadline passes).

use crate::{
    Error,
    common::Consistency,
    orders::{GetOrderRequest, Order, OrderPlaced, Orders},
};

impl Orders {
    /// The order `placed` once fulfilment has settled it: confirmed, rejected (its `reason`
    /// says why, e.g. "not enough kettle: 3 requested, 1 available") or cancelled meanwhile. An
    /// order the server does not fulfil is returned as it is. Fails with
    /// [`Error::DeadlineExceeded`] when the order is still placed at the client's deadline
    /// ([`crate::ClientBuilder::deadline`]); asking again simply waits again.
    ///
    /// ```no_run
    /// # async fn demo(client: causeway_client::Client) -> Result<(), causeway_client::Error> {
    /// use causeway_client::orders::{OrderLine, OrderStatus, PlaceOrderRequest};
    ///
    /// let orders = client.orders();
    /// let placed = orders
    ///     .place_order(PlaceOrderRequest {
    ///         customer_id: "ada".into(),
    ///         currency: "EUR".into(),
    ///         lines: vec![OrderLine { sku: "kettle".into(), quantity: 1, unit_price_minor: 2999 }],
    ///         ..Default::default()
    ///     })
    ///     .await?;
    /// let order = orders.await_outcome(&placed).await?;
    /// match order.status() {
    ///     OrderStatus::Confirmed => println!("confirmed: its stock is reserved"),
    ///     OrderStatus::Rejected => println!("rejected: {}", order.reason),
    ///     other => println!("{other:?}"),
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn await_outcome(&self, placed: &OrderPlaced) -> Result<Order, Error> {
        self.get_order(GetOrderRequest {
            order_id: placed.order_id.clone(),
            consistency: Some(Consistency {
                min_position: placed.ack.position,
            }),
            await_outcome: true,
            ..Default::default()
        })
        .await
    }
}
