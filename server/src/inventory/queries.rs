//! The `InventoryQueries` gRPC service: request -> validated read-model query -> proto response.
//! Reading, read-your-writes and generations live in [`ReadModel`]; the document shape lives
//! in [`super::projection`]; this file only converts between them and the contract, with the
//! same value types (and so the same sku rules) as the commands. A product `asOf` a past point
//! is folded from its stream through [`History`] by the projection's own step.

use causeway_proto::inventory::{
    GetProductRequest, GetProductResponse, ListProductsRequest, ListProductsResponse, Product,
    inventory_queries_server::{InventoryQueries, InventoryQueriesServer},
};
use tonic::{Request, Response, Status};

use super::projection::{COLLECTION, ProductDocument};
use super::values::Sku;
use crate::feed::{History, Point};
use crate::grpc::validation::{both, single};
use crate::kernel::Aggregate;
use crate::query::{QueryError, ReadModel, page_size, page_token};
use crate::readstore::{Filter, Query};

/// Serves `causeway.inventory.v1.InventoryQueries` from the `products` read model.
#[derive(Clone)]
pub struct InventoryQueriesService {
    model: ReadModel,
    history: History,
}

/// The gRPC server for inventory queries over `model` (the `products` projection's read
/// model) and `history` (the product streams), ready to add to a tonic router.
pub fn query_service(
    model: ReadModel,
    history: History,
) -> InventoryQueriesServer<InventoryQueriesService> {
    InventoryQueriesServer::new(InventoryQueriesService { model, history })
}

#[tonic::async_trait]
impl InventoryQueries for InventoryQueriesService {
    async fn get_product(
        &self,
        request: Request<GetProductRequest>,
    ) -> Result<Response<GetProductResponse>, Status> {
        let (metadata, _, req) = request.into_parts();
        let (sku, point) = both(
            single("sku", Sku::parse(&req.sku)),
            Point::of(req.as_of.as_ref(), "asOf"),
        )?;
        let doc: Option<ProductDocument> = match point {
            Some(point) => {
                let stream = super::domain::Product::stream_id(sku.as_str());
                self.history.as_of(&stream, point).await?
            }
            None => {
                let consistency = req.consistency.as_ref();
                (self.model)
                    .get_as(COLLECTION, sku.as_str(), consistency, &metadata)
                    .await?
            }
        };
        let doc = doc.ok_or_else(|| QueryError::NotFound(format!("product {sku}")))?;
        Ok(Response::new(GetProductResponse {
            product: Some(doc.into()),
        }))
    }

    /// Products in sku order (the document id, so no sort key is needed), optionally only
    /// those with fewer than `availableBelow` units available.
    async fn list_products(
        &self,
        request: Request<ListProductsRequest>,
    ) -> Result<Response<ListProductsResponse>, Status> {
        let (metadata, _, req) = request.into_parts();
        let filter = req
            .available_below
            .map_or(Filter::All, |below| Filter::lt("available", below));
        let query = Query::new(COLLECTION)
            .with_filter(filter)
            .with_limit(page_size(req.page_size))
            .with_after(page_token(&req.page_token));
        let page = self
            .model
            .page_as::<ProductDocument>(query, req.consistency.as_ref(), &metadata)
            .await?;
        Ok(Response::new(ListProductsResponse {
            products: page.documents.into_iter().map(Product::from).collect(),
            next_page_token: page.next_page_token,
        }))
    }
}

impl From<ProductDocument> for Product {
    fn from(doc: ProductDocument) -> Self {
        Self {
            sku: doc.sku,
            name: doc.name,
            on_hand: doc.on_hand,
            reserved: doc.reserved,
            available: doc.available,
            revision: doc.revision,
        }
    }
}

#[cfg(test)]
mod tests;
