//! The `InventoryQueries` gRPC service: request -> validated read-model query -> proto response.
//! Reading, read-your-writes and generations live in [`ReadModel`]; the document shape lives
//! in [`super::projection`]; this file only converts between them and the contract.

use causeway_proto::inventory::{
    GetProductRequest, GetProductResponse, ListProductsRequest, ListProductsResponse, Product,
    inventory_queries_server::{InventoryQueries, InventoryQueriesServer},
};
use serde_json::Value;
use tonic::{Request, Response, Status};

use super::projection::{COLLECTION, ProductDocument};
use crate::validation::MAX_ID_CHARS;
use crate::{
    query::{QueryError, ReadModel, page_size, page_token},
    readstore::{Filter, Query},
};

/// Serves `causeway.inventory.v1.InventoryQueries` from the `products` read model.
#[derive(Clone)]
pub struct InventoryQueriesService {
    model: ReadModel,
}

/// The gRPC server for inventory queries over `model` (the `products` projection's read
/// model), ready to add to a tonic router.
pub fn query_service(model: ReadModel) -> InventoryQueriesServer<InventoryQueriesService> {
    InventoryQueriesServer::new(InventoryQueriesService { model })
}

#[tonic::async_trait]
impl InventoryQueries for InventoryQueriesService {
    async fn get_product(
        &self,
        request: Request<GetProductRequest>,
    ) -> Result<Response<GetProductResponse>, Status> {
        let req = request.get_ref();
        if req.sku.is_empty() {
            return Err(QueryError::invalid("sku", "is required").into());
        }
        if req.sku.chars().count() > MAX_ID_CHARS {
            let why = format!("must be at most {MAX_ID_CHARS} characters");
            return Err(QueryError::invalid("sku", why).into());
        }
        let body = self
            .model
            .get(
                COLLECTION,
                &req.sku,
                req.consistency.as_ref(),
                request.metadata(),
            )
            .await?
            .ok_or_else(|| QueryError::NotFound(format!("product {}", req.sku)))?;
        Ok(Response::new(GetProductResponse {
            product: Some(to_proto(&req.sku, body)?),
        }))
    }

    /// Products in sku order (the document id, so no sort key is needed), optionally only
    /// those with fewer than `available_below` units available.
    async fn list_products(
        &self,
        request: Request<ListProductsRequest>,
    ) -> Result<Response<ListProductsResponse>, Status> {
        let req = request.get_ref();
        let filter = req
            .available_below
            .map_or(Filter::All, |below| Filter::lt("available", below));
        let query = Query::new(COLLECTION)
            .with_filter(filter)
            .with_limit(page_size(req.page_size))
            .with_after(page_token(&req.page_token));
        let page = self
            .model
            .page(query, req.consistency.as_ref(), request.metadata())
            .await?;
        let products = page
            .documents
            .into_iter()
            .map(|doc| to_proto(&doc.id, doc.body))
            .collect::<Result<_, _>>()?;
        Ok(Response::new(ListProductsResponse {
            products,
            next_page_token: page.next.unwrap_or_default(),
        }))
    }
}

/// The contract's `Product` for the stored document `id`. A document not in the projection's
/// shape is a server fault, reported as a read-store failure (logged, not leaked), never a panic.
fn to_proto(id: &str, body: Value) -> Result<Product, QueryError> {
    let doc: ProductDocument = serde_json::from_value(body)
        .map_err(|e| QueryError::Corrupt(format!("products document {id} is malformed: {e}")))?;
    Ok(Product {
        sku: doc.sku,
        name: doc.name,
        on_hand: doc.on_hand,
        reserved: doc.reserved,
        available: doc.available,
        revision: doc.revision,
    })
}

#[cfg(test)]
mod tests;
