//! The `OrderQueries` gRPC service: request -> validated read-model query -> proto response.
//! Reading, read-your-writes and generations live in [`ReadModel`]; the document shape lives
//! in [`super::projection`]; this file only converts between them and the contract.

use causeway_proto::orders::{
    GetOrderRequest, GetOrderResponse, ListOrdersRequest, ListOrdersResponse, Order, OrderLine,
    OrderStatus,
    order_queries_server::{OrderQueries, OrderQueriesServer},
};
use serde_json::Value;
use tonic::{Request, Response, Status};

use super::projection::{COLLECTION, OrderDocument};
use crate::validation::MAX_ID_CHARS;
use crate::{
    kernel::FieldViolation,
    query::{QueryError, ReadModel, page_size, page_token},
    readstore::{Filter, Query, SortKey},
};

/// Serves `causeway.orders.v1.OrderQueries` from the `orders` read model.
#[derive(Clone)]
pub struct OrderQueriesService {
    model: ReadModel,
}

/// The gRPC server for order queries over `model` (the `orders` projection's read model),
/// ready to add to a tonic router.
pub fn query_service(model: ReadModel) -> OrderQueriesServer<OrderQueriesService> {
    OrderQueriesServer::new(OrderQueriesService { model })
}

#[tonic::async_trait]
impl OrderQueries for OrderQueriesService {
    async fn get_order(
        &self,
        request: Request<GetOrderRequest>,
    ) -> Result<Response<GetOrderResponse>, Status> {
        let req = request.get_ref();
        let mut violations = Vec::new();
        check_id(&mut violations, "order_id", &req.order_id, true);
        reject(violations)?;
        let body = self
            .model
            .get(
                COLLECTION,
                &req.order_id,
                req.consistency.as_ref(),
                request.metadata(),
            )
            .await?
            .ok_or_else(|| QueryError::NotFound(format!("order {}", req.order_id)))?;
        Ok(Response::new(GetOrderResponse {
            order: Some(to_proto(&req.order_id, body)?),
        }))
    }

    async fn list_orders(
        &self,
        request: Request<ListOrdersRequest>,
    ) -> Result<Response<ListOrdersResponse>, Status> {
        let req = request.get_ref();
        let query = Query::new(COLLECTION)
            .with_filter(list_filter(req)?)
            .with_sort(SortKey::asc("placedAt"))
            .with_limit(page_size(req.page_size))
            .with_after(page_token(&req.page_token));
        let page = self
            .model
            .page(query, req.consistency.as_ref(), request.metadata())
            .await?;
        let orders = page
            .documents
            .into_iter()
            .map(|doc| to_proto(&doc.id, doc.body))
            .collect::<Result<_, _>>()?;
        Ok(Response::new(ListOrdersResponse {
            orders,
            next_page_token: page.next.unwrap_or_default(),
        }))
    }
}

/// The filter `ListOrders` asks for: customer and/or status, both optional.
fn list_filter(req: &ListOrdersRequest) -> Result<Filter, QueryError> {
    let mut violations = Vec::new();
    check_id(&mut violations, "customer_id", &req.customer_id, false);
    let status = match OrderStatus::try_from(req.status) {
        Ok(OrderStatus::Unspecified) => None,
        Ok(status) => Some(status),
        Err(_) => {
            violations.push(FieldViolation::new(
                "status",
                format!("{} is not an OrderStatus", req.status),
            ));
            None
        }
    };
    reject(violations)?;
    let mut filters = Vec::new();
    if !req.customer_id.is_empty() {
        filters.push(Filter::eq("customerId", req.customer_id.as_str()));
    }
    if let Some(status) = status {
        filters.push(Filter::eq("status", status.as_str_name()));
    }
    Ok(match filters.len() {
        0 => Filter::All,
        1 => filters.remove(0),
        _ => Filter::and(filters),
    })
}

/// Records what is wrong with id `field`, if anything; an empty optional id is fine.
fn check_id(violations: &mut Vec<FieldViolation>, field: &str, value: &str, required: bool) {
    if value.is_empty() && required {
        violations.push(FieldViolation::new(field, "is required"));
    } else if value.chars().count() > MAX_ID_CHARS {
        violations.push(FieldViolation::new(
            field,
            format!("must be at most {MAX_ID_CHARS} characters"),
        ));
    }
}

/// Every violation at once, or nothing wrong.
fn reject(violations: Vec<FieldViolation>) -> Result<(), QueryError> {
    if violations.is_empty() {
        Ok(())
    } else {
        Err(QueryError::Invalid(violations))
    }
}

/// The contract's `Order` for the stored document `id`. A document not in the projection's
/// shape is a server fault, reported as a read-store failure (logged, not leaked), never a panic.
fn to_proto(id: &str, body: Value) -> Result<Order, QueryError> {
    let malformed =
        |why: String| QueryError::Corrupt(format!("orders document {id} is malformed: {why}"));
    let doc: OrderDocument = serde_json::from_value(body).map_err(|e| malformed(e.to_string()))?;
    let status = OrderStatus::from_str_name(&doc.status)
        .ok_or_else(|| malformed(format!("unknown status {:?}", doc.status)))?;
    Ok(Order {
        order_id: doc.order_id,
        customer_id: doc.customer_id,
        status: status as i32,
        lines: doc
            .lines
            .into_iter()
            .map(|l| OrderLine {
                sku: l.sku,
                quantity: l.quantity,
                unit_price_minor: l.unit_price_minor,
            })
            .collect(),
        total_minor: doc.total_minor,
        currency: doc.currency,
        revision: doc.revision,
    })
}

#[cfg(test)]
mod tests;
