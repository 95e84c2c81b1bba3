//! The inventory context: the generated messages and clients of `causeway.inventory.v1`, and
//! [`Inventory`], the handle that sends them with the SDK's guarantees.

pub use causeway_proto::inventory::*;

use causeway_proto::common::CommandAck;
use futures::stream::BoxStream;

use crate::{Error, call::Caller, pages};

/// Sends product and stock commands and queries; from [`crate::Client::inventory`] or
/// [`crate::Session::inventory`]. Leave `options` unset on a command and the SDK gives it a
/// UUIDv7 command id, reused on every retry.
#[derive(Debug, Clone)]
pub struct Inventory {
    caller: Caller,
}

impl Inventory {
    pub(crate) fn new(caller: Caller) -> Self {
        Self { caller }
    }

    /// Registers a product under its sku.
    pub async fn register_product(
        &self,
        request: RegisterProductRequest,
    ) -> Result<CommandAck, Error> {
        let (_, ack) = self
            .caller
            .command(request, |channel, request| async move {
                inventory_commands_client::InventoryCommandsClient::new(channel)
                    .register_product(request)
                    .await
            })
            .await?;
        Ok(ack)
    }

    /// Adds units to a product's stock on hand.
    pub async fn receive_stock(&self, request: ReceiveStockRequest) -> Result<CommandAck, Error> {
        let (_, ack) = self
            .caller
            .command(request, |channel, request| async move {
                inventory_commands_client::InventoryCommandsClient::new(channel)
                    .receive_stock(request)
                    .await
            })
            .await?;
        Ok(ack)
    }

    /// Reserves units under a reservation id; [`Error::RuleBroken`] beyond what is available.
    pub async fn reserve_stock(&self, request: ReserveStockRequest) -> Result<CommandAck, Error> {
        let (_, ack) = self
            .caller
            .command(request, |channel, request| async move {
                inventory_commands_client::InventoryCommandsClient::new(channel)
                    .reserve_stock(request)
                    .await
            })
            .await?;
        Ok(ack)
    }

    /// Gives reserved units back (quantity 0: all the reservation still holds); a reservation
    /// is released once, after that [`Error::RuleBroken`].
    pub async fn release_stock(&self, request: ReleaseStockRequest) -> Result<CommandAck, Error> {
        let (_, ack) = self
            .caller
            .command(request, |channel, request| async move {
                inventory_commands_client::InventoryCommandsClient::new(channel)
                    .release_stock(request)
                    .await
            })
            .await?;
        Ok(ack)
    }

    /// One product by sku; [`Error::NotFound`] when there is none.
    pub async fn get_product(&self, request: GetProductRequest) -> Result<Product, Error> {
        self.caller
            .query(request, |channel, request| async move {
                inventory_queries_client::InventoryQueriesClient::new(channel)
                    .get_product(request)
                    .await
            })
            .await?
            .product
            .ok_or_else(|| Error::protocol("GetProduct answered without a product"))
    }

    /// Every product matching `request`, in sku order, across all pages; set
    /// `available_below` to find what needs restocking.
    ///
    /// ```no_run
    /// # async fn demo(client: causeway_client::Client) -> Result<(), causeway_client::Error> {
    /// use futures::TryStreamExt;
    /// use causeway_client::inventory::ListProductsRequest;
    ///
    /// let low: Vec<_> = client
    ///     .inventory()
    ///     .list_products(ListProductsRequest { available_below: Some(5), ..Default::default() })
    ///     .try_collect()
    ///     .await?;
    /// # let _ = low; Ok(()) }
    /// ```
    pub fn list_products(
        &self,
        request: ListProductsRequest,
    ) -> BoxStream<'static, Result<Product, Error>> {
        pages::items(self.list_product_pages(request))
    }

    /// Like [`Inventory::list_products`], one item per page.
    pub fn list_product_pages(
        &self,
        request: ListProductsRequest,
    ) -> BoxStream<'static, Result<ListProductsResponse, Error>> {
        pages::pages(
            self.caller.clone(),
            request,
            |channel, request| async move {
                inventory_queries_client::InventoryQueriesClient::new(channel)
                    .list_products(request)
                    .await
            },
        )
    }
}
