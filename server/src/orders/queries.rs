//! The `OrderQueries` gRPC service: request -> validated read-model query -> proto response.
//! Reading, read-your-writes and generations live in [`ReadModel`]; the document shape lives
//! in [`super::projection`]; this file only converts between them and the contract, with the
//! same value types (and so the same id rules) as the commands. An order's history and its
//! state `asOf` a past point come from its stream through [`History`], folded by the same step
//! as the projection; the ownership rule ([`Requester`]) applies to every answer alike.

use causeway_proto::orders::{
    GetOrderHistoryRequest, GetOrderHistoryResponse, GetOrderRequest, GetOrderResponse,
    ListOrdersRequest, ListOrdersResponse, Order, OrderLine, OrderStatus,
    order_queries_server::{OrderQueries, OrderQueriesServer},
};
use tonic::{Request, Response, Status};

use super::ownership::Requester;
use super::projection::{COLLECTION, OrderDocument};
use super::values::{CustomerId, OrderId};
use crate::auth::Caller;
use crate::feed::{History, Point};
use crate::grpc::{
    Invalid, Violations,
    validation::{both, single},
};
use crate::kernel::Aggregate;
use crate::query::{QueryError, ReadModel, page_size, page_token};
use crate::readstore::{Filter, Query, SortKey};
use crate::values::invalid;

/// Serves `causeway.orders.v1.OrderQueries` from the `orders` read model.
#[derive(Clone)]
pub struct OrderQueriesService {
    model: ReadModel,
    history: History,
}

/// The gRPC server for order queries over `model` (the `orders` projection's read model) and
/// `history` (the order streams), ready to add to a tonic router.
pub fn query_service(
    model: ReadModel,
    history: History,
) -> OrderQueriesServer<OrderQueriesService> {
    OrderQueriesServer::new(OrderQueriesService { model, history })
}

/// The stream of order `id`.
fn stream_of(id: &OrderId) -> String {
    super::domain::Order::stream_id(id.as_str())
}

#[tonic::async_trait]
impl OrderQueries for OrderQueriesService {
    async fn get_order(
        &self,
        request: Request<GetOrderRequest>,
    ) -> Result<Response<GetOrderResponse>, Status> {
        let (metadata, extensions, req) = request.into_parts();
        let requester = requester(&extensions)?;
        let (order_id, point) = both(
            single("orderId", OrderId::parse(&req.order_id)),
            Point::of(req.as_of.as_ref(), "asOf"),
        )?;
        if point.is_some() && req.await_outcome {
            let why = "cannot be combined with awaitOutcome: a past state has nothing to wait for";
            return Err(Invalid::field("asOf", why).into());
        }
        let (id, consistency) = (order_id.as_str(), req.consistency.as_ref());
        // Another customer's order is answered exactly as one that does not exist, at once.
        let found: Option<OrderDocument> = if let Some(point) = point {
            self.history.as_of(&stream_of(&order_id), point).await?
        } else if req.await_outcome {
            let ready = |doc: &OrderDocument| !requester.sees(&doc.customer_id) || settled(doc);
            self.model
                .get_when(COLLECTION, id, consistency, &metadata, ready, |doc| {
                    format!(
                        "order {} is still {}: fulfilment has not settled it yet; retry, or \
                         raise the deadline",
                        doc.order_id, doc.status
                    )
                })
                .await?
        } else {
            self.model
                .get_as(COLLECTION, id, consistency, &metadata)
                .await?
        };
        let doc = found
            .filter(|doc| requester.sees(&doc.customer_id))
            .ok_or_else(|| QueryError::NotFound(format!("order {order_id}")))?;
        Ok(Response::new(GetOrderResponse {
            order: Some(doc.try_into()?),
        }))
    }

    async fn get_order_history(
        &self,
        request: Request<GetOrderHistoryRequest>,
    ) -> Result<Response<GetOrderHistoryResponse>, Status> {
        let (_, extensions, req) = request.into_parts();
        let requester = requester(&extensions)?;
        let order_id = single("orderId", OrderId::parse(&req.order_id))?;
        let mut events = self.history.recorded(&stream_of(&order_id)).await?;
        // Whose order it is, from its placement (revision 0).
        let placed: Option<OrderDocument> = self.history.fold(&events, Point::Revision(0))?;
        if !placed.is_some_and(|doc| requester.sees(&doc.customer_id)) {
            return Err(QueryError::NotFound(format!("order {order_id}")).into());
        }
        events.retain(|event| event.revision >= req.from_revision);
        let page = self.history.paged(&mut events, req.max_count)?;
        Ok(Response::new(GetOrderHistoryResponse {
            events: page.events,
            end_of_stream: page.end_of_stream,
        }))
    }

    async fn list_orders(
        &self,
        request: Request<ListOrdersRequest>,
    ) -> Result<Response<ListOrdersResponse>, Status> {
        let (metadata, extensions, req) = request.into_parts();
        let mut filter = Filter::try_from(&req)?;
        if let Some(own) = requester(&extensions)?.only() {
            // A customer lists its own orders, whatever customerId it names.
            filter = Filter::and(vec![filter, Filter::eq("customerId", own.as_str())]);
        }
        let query = Query::new(COLLECTION)
            .with_filter(filter)
            .with_sort(SortKey::asc("placedAt"))
            .with_limit(page_size(req.page_size))
            .with_after(page_token(&req.page_token));
        let page = self
            .model
            .page_as::<OrderDocument>(query, req.consistency.as_ref(), &metadata)
            .await?;
        Ok(Response::new(ListOrdersResponse {
            orders: page
                .documents
                .into_iter()
                .map(Order::try_from)
                .collect::<Result<_, _>>()?,
            next_page_token: page.next_page_token,
        }))
    }
}

/// Whether `awaitOutcome` may answer with `doc`: fulfilment has settled it, or never will (an
/// order it does not handle is answered as it is).
fn settled(doc: &OrderDocument) -> bool {
    !doc.awaits_fulfilment || doc.status != OrderStatus::Placed.as_str_name()
}

/// Who the request is for, as the auth layer established it (unchecked in-process, as in
/// [`crate::grpc::parse`]).
fn requester(extensions: &tonic::Extensions) -> Result<Requester, Status> {
    Requester::of(extensions.get::<Caller>().unwrap_or(&Caller::Unchecked))
}

/// The filter `ListOrders` asks for: customer and/or status, both optional.
impl TryFrom<&ListOrdersRequest> for Filter {
    type Error = Invalid;

    fn try_from(req: &ListOrdersRequest) -> Result<Self, Invalid> {
        let mut v = Violations::default();
        let customer = v.optional("customerId", &req.customer_id, CustomerId::parse);
        let status = match OrderStatus::try_from(req.status) {
            Ok(OrderStatus::Unspecified) => None,
            Ok(status) => Some(status),
            Err(_) => v.check(
                "status",
                invalid(format!("{} is not an OrderStatus", req.status)),
            ),
        };
        let mut filters: Vec<Filter> = customer
            .iter()
            .map(|c| Filter::eq("customerId", c.as_str()))
            .collect();
        filters.extend(status.map(|s| Filter::eq("status", s.as_str_name())));
        v.finish(|| {
            Some(match filters.len() {
                0 => Filter::All,
                1 => filters.remove(0),
                _ => Filter::and(filters),
            })
        })
    }
}

/// The contract's `Order` for a stored document; an unknown status means the document is not
/// in the projection's shape, a server fault.
impl TryFrom<OrderDocument> for Order {
    type Error = QueryError;

    fn try_from(doc: OrderDocument) -> Result<Self, QueryError> {
        let status = OrderStatus::from_str_name(&doc.status).ok_or_else(|| {
            QueryError::Corrupt(format!(
                "orders document {} has an unknown status {:?}",
                doc.order_id, doc.status
            ))
        })?;
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
            reason: doc.reason,
            position: doc.position,
        })
    }
}

#[cfg(test)]
mod tests;
