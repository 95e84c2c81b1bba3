//! The orders context: the generated messages and clients of `causeway.orders.v1`, and
//! [`Orders`], the handle that sends them with the SDK's guarantees.

pub use causeway_proto::orders::*;

use causeway_proto::common::CommandAck;
use futures::stream::BoxStream;

use crate::{Error, call::Caller, pages, retry::CallKind};

/// What placing an order returns: the order's id (derived from the command id when the request
/// left it empty, so a retry names the same order) and the acknowledgement.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderPlaced {
    /// The order's id, to confirm, cancel or read it.
    pub order_id: String,
    /// Where the order's first event was stored.
    pub ack: CommandAck,
}

/// Sends order commands and queries; from [`crate::Client::orders`] or
/// [`crate::Session::orders`]. Leave `options` unset on a command and the SDK gives it a UUIDv7
/// command id, reused on every retry.
#[derive(Debug, Clone)]
pub struct Orders {
    caller: Caller,
}

impl Orders {
    pub(crate) fn new(caller: Caller) -> Self {
        Self { caller }
    }

    /// Places an order. Fails with [`Error::Validation`] for an order without lines or with a
    /// zero quantity.
    pub async fn place_order(&self, request: PlaceOrderRequest) -> Result<OrderPlaced, Error> {
        let (response, ack) = self
            .caller
            .command(request, |channel, request| async move {
                order_commands_client::OrderCommandsClient::new(channel)
                    .place_order(request)
                    .await
            })
            .await?;
        Ok(OrderPlaced {
            order_id: response.order_id,
            ack,
        })
    }

    /// Confirms a placed order.
    pub async fn confirm_order(&self, request: ConfirmOrderRequest) -> Result<CommandAck, Error> {
        let (_, ack) = self
            .caller
            .command(request, |channel, request| async move {
                order_commands_client::OrderCommandsClient::new(channel)
                    .confirm_order(request)
                    .await
            })
            .await?;
        Ok(ack)
    }

    /// Rejects a placed order, with a reason.
    pub async fn reject_order(&self, request: RejectOrderRequest) -> Result<CommandAck, Error> {
        let (_, ack) = self
            .caller
            .command(request, |channel, request| async move {
                order_commands_client::OrderCommandsClient::new(channel)
                    .reject_order(request)
                    .await
            })
            .await?;
        Ok(ack)
    }

    /// Cancels an order; [`Error::RuleBroken`] once it has shipped.
    pub async fn cancel_order(&self, request: CancelOrderRequest) -> Result<CommandAck, Error> {
        let (_, ack) = self
            .caller
            .command(request, |channel, request| async move {
                order_commands_client::OrderCommandsClient::new(channel)
                    .cancel_order(request)
                    .await
            })
            .await?;
        Ok(ack)
    }

    /// Ships a confirmed order; [`Error::RuleBroken`] before it is confirmed.
    pub async fn ship_order(&self, request: ShipOrderRequest) -> Result<CommandAck, Error> {
        let (_, ack) = self
            .caller
            .command(request, |channel, request| async move {
                order_commands_client::OrderCommandsClient::new(channel)
                    .ship_order(request)
                    .await
            })
            .await?;
        Ok(ack)
    }

    /// One order by id; [`Error::NotFound`] when there is none.
    pub async fn get_order(&self, request: GetOrderRequest) -> Result<Order, Error> {
        self.caller
            .query(request, |channel, request| async move {
                order_queries_client::OrderQueriesClient::new(channel)
                    .get_order(request)
                    .await
            })
            .await?
            .order
            .ok_or_else(|| Error::protocol("GetOrder answered without an order"))
    }

    /// One order's events from a revision, a page at a time (a customer: its own orders only;
    /// another's is [`Error::NotFound`]). With `as_of` on [`Orders::get_order`] instead, the
    /// order as it was at a revision or time.
    pub async fn get_order_history(
        &self,
        request: GetOrderHistoryRequest,
    ) -> Result<GetOrderHistoryResponse, Error> {
        self.caller
            .unary(CallKind::Query, request, |channel, request| async move {
                order_queries_client::OrderQueriesClient::new(channel)
                    .get_order_history(request)
                    .await
            })
            .await
    }

    /// Every order matching `request` (a customer, a status), in placement order, across all
    /// pages. `page_size` sets how many are fetched per round trip.
    ///
    /// ```no_run
    /// # async fn demo(client: causeway_client::Client) -> Result<(), causeway_client::Error> {
    /// use futures::TryStreamExt;
    /// use causeway_client::orders::ListOrdersRequest;
    ///
    /// let mut orders = client.orders().list_orders(ListOrdersRequest {
    ///     customer_id: "ada".into(),
    ///     page_size: 100,
    ///     ..Default::default()
    /// });
    /// while let Some(order) = orders.try_next().await? {
    ///     println!("{} {:?}", order.order_id, order.status());
    /// }
    /// # Ok(()) }
    /// ```
    pub fn list_orders(
        &self,
        request: ListOrdersRequest,
    ) -> BoxStream<'static, Result<Order, Error>> {
        pages::items(self.list_order_pages(request))
    }

    /// Like [`Orders::list_orders`], one item per page, for callers that process or checkpoint
    /// page by page.
    pub fn list_order_pages(
        &self,
        request: ListOrdersRequest,
    ) -> BoxStream<'static, Result<ListOrdersResponse, Error>> {
        pages::pages(
            self.caller.clone(),
            request,
            |channel, request| async move {
                order_queries_client::OrderQueriesClient::new(channel)
                    .list_orders(request)
                    .await
            },
        )
    }
}
