//! The query hop end to end on the embedded read store: orders folded by the real projection,
//! read back through the service exactly as a gRPC call would.

use std::{collections::HashSet, sync::Arc};

use causeway_proto::common::Consistency;
use prost::Message;
use tempfile::TempDir;
use tonic::Code;
use tonic_types::StatusExt;

use super::*;
use crate::{
    kernel::Upcasters,
    orders::{
        domain::OrderEvent,
        projection::OrdersProjection,
        values::{Currency, CustomerId, Money, OrderId, OrderLine as DomainLine, Quantity, Sku},
    },
    projection::{
        Projections,
        consistency::ReadYourWrites,
        testing::{fold, read_store, recorded},
    },
    store::RecordedEvent,
};

fn placed(stream_position: u64, order_id: &str, customer_id: &str) -> RecordedEvent {
    placed_for(stream_position, order_id, customer_id, false)
}

/// An order placed with or without fulfilment settling it.
fn placed_for(
    stream_position: u64,
    order_id: &str,
    customer_id: &str,
    awaits_fulfilment: bool,
) -> RecordedEvent {
    let event = OrderEvent::Placed {
        order_id: OrderId::parse(order_id).unwrap(),
        customer_id: CustomerId::parse(customer_id).unwrap(),
        currency: Currency::parse("EUR").unwrap(),
        lines: vec![DomainLine {
            sku: Sku::parse("sku-1").unwrap(),
            quantity: Quantity::parse(3).unwrap(),
            unit_price: Money::parse(100).unwrap(),
        }],
        total: Money::parse(300).unwrap(),
        awaits_fulfilment,
    };
    recorded(&format!("order-{order_id}"), 0, stream_position, &event)
}

fn confirmed(position: u64, order_id: &str) -> RecordedEvent {
    let event = OrderEvent::Confirmed {
        order_id: OrderId::parse(order_id).unwrap(),
    };
    recorded(&format!("order-{order_id}"), 1, position, &event)
}

/// The service over a fresh store holding `events`, and the store's directory to keep alive.
async fn service_with(events: &[RecordedEvent]) -> (OrderQueriesService, TempDir) {
    let (reads, dir) = read_store();
    let projection = OrdersProjection::new(Arc::new(Upcasters::default()));
    fold(&projection, &*reads, events).await.unwrap();
    let consistency = ReadYourWrites::new(Projections::default(), reads.clone());
    let model = ReadModel::new("orders", reads, consistency);
    let history = crate::feed::testing::history_of(dir.path(), events).await;
    (OrderQueriesService { model, history }, dir)
}

fn get(order_id: &str) -> Request<GetOrderRequest> {
    Request::new(GetOrderRequest {
        order_id: order_id.into(),
        ..Default::default()
    })
}

fn list(customer_id: &str, status: OrderStatus, page_size: u32, token: &str) -> ListOrdersRequest {
    ListOrdersRequest {
        customer_id: customer_id.into(),
        status: status as i32,
        page_size,
        page_token: token.into(),
        consistency: None,
    }
}

fn violated_fields(status: &Status) -> Vec<String> {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let details = status
        .get_details_bad_request()
        .expect("BadRequest details");
    details
        .field_violations
        .into_iter()
        .map(|v| v.field)
        .collect()
}

fn ids(response: &ListOrdersResponse) -> Vec<&str> {
    response
        .orders
        .iter()
        .map(|o| o.order_id.as_str())
        .collect()
}

#[tokio::test]
async fn get_order_returns_the_order_or_not_found() {
    let (svc, _dir) = service_with(&[placed(1, "o-1", "c-1"), confirmed(2, "o-1")]).await;
    let order = svc.get_order(get("o-1")).await.unwrap().into_inner().order;
    assert_eq!(
        order,
        Some(Order {
            order_id: "o-1".into(),
            customer_id: "c-1".into(),
            status: OrderStatus::Confirmed as i32,
            lines: vec![OrderLine {
                sku: "sku-1".into(),
                quantity: 3,
                unit_price_minor: 100,
            }],
            total_minor: 300,
            currency: "EUR".into(),
            revision: 1,
            reason: String::new(),
            position: 2,
        })
    );
    let missing = svc.get_order(get("o-2")).await.unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
    assert!(missing.message().contains("order o-2"), "{missing:?}");
}

#[tokio::test]
async fn get_order_refuses_a_bad_id_by_field_with_the_commands_rules() {
    let (svc, _dir) = service_with(&[]).await;
    let empty = svc.get_order(get("")).await.unwrap_err();
    assert_eq!(violated_fields(&empty), ["orderId"]);
    assert_eq!(empty.message(), "orderId: required");
    let long = svc.get_order(get(&"x".repeat(129))).await.unwrap_err();
    assert_eq!(violated_fields(&long), ["orderId"]);
    assert_eq!(long.message(), "orderId: at most 128 characters");
    let spaced = svc.get_order(get("o 1")).await.unwrap_err();
    assert_eq!(
        spaced.message(),
        "orderId: must not contain whitespace or control characters"
    );
}

#[tokio::test]
async fn list_orders_filters_by_customer_and_status_in_placement_order() {
    let events = [
        placed(1, "o-b", "c-1"),
        placed(2, "o-a", "c-2"),
        placed(3, "o-c", "c-1"),
        confirmed(4, "o-c"),
        confirmed(5, "o-a"),
    ];
    let (svc, _dir) = service_with(&events).await;
    let call = |req| async {
        svc.list_orders(Request::new(req))
            .await
            .unwrap()
            .into_inner()
    };
    let all = call(list("", OrderStatus::Unspecified, 0, "")).await;
    assert_eq!(ids(&all), ["o-b", "o-a", "o-c"]);
    assert_eq!(all.next_page_token, "");
    let by_customer = call(list("c-1", OrderStatus::Unspecified, 0, "")).await;
    assert_eq!(ids(&by_customer), ["o-b", "o-c"]);
    let by_status = call(list("", OrderStatus::Confirmed, 0, "")).await;
    assert_eq!(ids(&by_status), ["o-a", "o-c"]);
    let both = call(list("c-1", OrderStatus::Placed, 0, "")).await;
    assert_eq!(ids(&both), ["o-b"]);
    let none = call(list("c-3", OrderStatus::Unspecified, 0, "")).await;
    assert!(none.orders.is_empty());
}

#[tokio::test]
async fn list_orders_pages_through_every_order_once_in_placement_order() {
    // Ids are a permutation of 0..120, so id order differs from placement order.
    let order_ids: Vec<String> = (0..120u64)
        .map(|i| format!("o-{:03}", (i * 37) % 120))
        .collect();
    let events: Vec<_> = order_ids
        .iter()
        .enumerate()
        .map(|(i, id)| placed(i as u64 + 1, id, "c-1"))
        .collect();
    let (svc, _dir) = service_with(&events).await;
    let (mut seen, mut token, mut pages) = (Vec::new(), String::new(), 0);
    loop {
        let req = list("c-1", OrderStatus::Placed, 25, &token);
        let page = svc
            .list_orders(Request::new(req))
            .await
            .unwrap()
            .into_inner();
        assert!(page.orders.len() <= 25);
        seen.extend(page.orders.into_iter().map(|o| o.order_id));
        pages += 1;
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(seen, order_ids);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 120);
    assert_eq!(pages, 5);
}

#[tokio::test]
async fn list_orders_refuses_a_garbage_page_token_an_unknown_status_and_a_long_customer() {
    let (svc, _dir) = service_with(&[placed(1, "o-1", "c-1")]).await;
    let garbage = list("", OrderStatus::Unspecified, 0, "not-a-token");
    let err = svc.list_orders(Request::new(garbage)).await.unwrap_err();
    assert_eq!(violated_fields(&err), ["pageToken"]);

    let mut unknown = list(&"c".repeat(200), OrderStatus::Unspecified, 0, "");
    unknown.status = 42;
    let err = svc.list_orders(Request::new(unknown)).await.unwrap_err();
    assert_eq!(violated_fields(&err), ["customerId", "status"]);
}

#[tokio::test]
async fn a_position_not_yet_reached_waits_then_names_the_reached_position() {
    let (svc, _dir) = service_with(&[placed(7, "o-1", "c-1")]).await;
    let mut reached = get("o-1");
    reached.get_mut().consistency = Some(Consistency { min_position: 7 });
    assert!(svc.get_order(reached).await.is_ok());

    let mut ahead = get("o-1");
    ahead.get_mut().consistency = Some(Consistency { min_position: 1000 });
    ahead
        .metadata_mut()
        .insert("grpc-timeout", "200m".parse().unwrap());
    let started = std::time::Instant::now();
    let err = svc.get_order(ahead).await.unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded, "{err:?}");
    assert!(err.message().contains("position 7"), "{err:?}");
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
}

#[test]
fn a_malformed_document_is_an_internal_fault_not_a_panic() {
    let err =
        crate::query::decode::<OrderDocument>("orders", "o-1", serde_json::json!({"orderId": 5}))
            .unwrap_err();
    assert!(matches!(err, QueryError::Corrupt(_)), "{err:?}");
    let status = tonic::Status::from(err);
    assert_eq!(status.code(), Code::Internal);
    assert!(
        !status.message().contains("orderId"),
        "no detail leaks: {status:?}"
    );
    let doc = serde_json::json!({
        "orderId": "o-1", "customerId": "c", "status": "ORDER_STATUS_LOST", "lines": [],
        "totalMinor": 0, "currency": "EUR", "revision": 0, "placedAt": 1,
    });
    let doc: OrderDocument = serde_json::from_value(doc).unwrap();
    assert!(matches!(Order::try_from(doc), Err(QueryError::Corrupt(_))));
}

fn as_of(order_id: &str, point: causeway_proto::common::as_of::Point) -> Request<GetOrderRequest> {
    let mut request = get(order_id);
    request.get_mut().as_of = Some(causeway_proto::common::AsOf { point: Some(point) });
    request
}

fn as_customer<T>(mut request: Request<T>, customer: &str) -> Request<T> {
    request
        .extensions_mut()
        .insert(Caller::Verified(crate::auth::Principal {
            subject: customer.into(),
            roles: ["customer".to_owned()].into(),
            tenant: None,
            issuer: "causeway".into(),
        }));
    request
}

fn history(order_id: &str, from_revision: u64, max_count: u32) -> Request<GetOrderHistoryRequest> {
    Request::new(GetOrderHistoryRequest {
        order_id: order_id.into(),
        from_revision,
        max_count,
    })
}

#[tokio::test]
async fn get_order_as_of_a_revision_or_a_time_is_its_stream_folded_to_there() {
    use causeway_proto::common::as_of::Point;
    let (svc, _dir) = service_with(&[placed(1, "o-1", "c-1"), confirmed(2, "o-1")]).await;
    let order = |request| async { svc.get_order(request).await.map(|r| r.into_inner().order) };

    let placed = order(as_of("o-1", Point::Revision(0)))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (placed.status, placed.revision),
        (OrderStatus::Placed as i32, 0)
    );
    let now = order(get("o-1")).await.unwrap();
    let past_the_end = order(as_of("o-1", Point::Revision(99))).await.unwrap();
    assert_eq!(
        past_the_end, now,
        "the latest state, as the read model holds it"
    );

    let far = prost_types::Timestamp {
        seconds: 4_000_000_000,
        nanos: 0,
    };
    assert_eq!(order(as_of("o-1", Point::Time(far))).await.unwrap(), now);
    let before = prost_types::Timestamp {
        seconds: 1,
        nanos: 0,
    };
    let err = order(as_of("o-1", Point::Time(before))).await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound, "it did not exist yet: {err:?}");
    let err = order(as_of("o-9", Point::Revision(0))).await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
}

#[tokio::test]
async fn get_order_as_of_refuses_an_empty_point_or_a_bad_time_by_field() {
    let (svc, _dir) = service_with(&[]).await;
    let mut empty = get("o-1");
    empty.get_mut().as_of = Some(causeway_proto::common::AsOf { point: None });
    assert_eq!(
        violated_fields(&svc.get_order(empty).await.unwrap_err()),
        ["asOf"]
    );
    let bad = prost_types::Timestamp {
        seconds: 1,
        nanos: -5,
    };
    let both = as_of("", causeway_proto::common::as_of::Point::Time(bad));
    let err = svc.get_order(both).await.unwrap_err();
    assert_eq!(violated_fields(&err), ["orderId", "asOf.time"]);
}

#[tokio::test]
async fn a_customer_sees_only_its_own_orders_past_and_history() {
    use causeway_proto::common::as_of::Point;
    let (svc, _dir) = service_with(&[placed(1, "o-1", "c-1"), confirmed(2, "o-1")]).await;
    let own = svc
        .get_order(as_customer(as_of("o-1", Point::Revision(0)), "c-1"))
        .await;
    assert!(own.is_ok(), "{own:?}");
    for request in [get("o-1"), as_of("o-1", Point::Revision(0))] {
        let err = svc
            .get_order(as_customer(request, "c-2"))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::NotFound, "{err:?}");
    }
    let own = svc
        .get_order_history(as_customer(history("o-1", 0, 0), "c-1"))
        .await;
    assert_eq!(own.unwrap().into_inner().events.len(), 2);
    let err = svc
        .get_order_history(as_customer(history("o-1", 0, 0), "c-2"))
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        Code::NotFound,
        "as if it did not exist: {err:?}"
    );
    assert_eq!(err.message(), "order o-1 not found");
}

#[tokio::test]
async fn get_order_history_pages_through_the_stream_from_a_revision() {
    let (svc, _dir) = service_with(&[placed(1, "o-1", "c-1"), confirmed(2, "o-1")]).await;
    let page = |request| async {
        svc.get_order_history(request)
            .await
            .map(Response::into_inner)
    };

    let first = page(history("o-1", 0, 1)).await.unwrap();
    assert_eq!(first.events.len(), 1);
    assert!(!first.end_of_stream);
    let event = &first.events[0];
    assert_eq!((event.stream.as_str(), event.revision), ("order-o-1", 0));
    assert_eq!(event.event_type, "causeway.orders.v1.OrderPlaced");
    let payload = event.payload.as_ref().unwrap();
    let placed = causeway_proto::orders::OrderPlaced::decode(payload.value.as_slice()).unwrap();
    assert_eq!(
        (placed.order_id.as_str(), placed.customer_id.as_str()),
        ("o-1", "c-1")
    );

    let rest = page(history("o-1", 1, 0)).await.unwrap();
    assert!(rest.end_of_stream);
    let types: Vec<_> = rest.events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(types, ["causeway.orders.v1.OrderConfirmed"]);
    let beyond = page(history("o-1", 5, 0)).await.unwrap();
    assert!(beyond.events.is_empty() && beyond.end_of_stream);

    assert_eq!(
        page(history("o-2", 0, 0)).await.unwrap_err().code(),
        Code::NotFound
    );
    assert_eq!(
        violated_fields(&page(history(" ", 0, 0)).await.unwrap_err()),
        ["orderId"]
    );
}

/// `GetOrder` of `order_id` with `awaitOutcome` and `timeout` (a `grpc-timeout` value).
fn awaiting(order_id: &str, timeout: &str) -> Request<GetOrderRequest> {
    let mut request = get(order_id);
    request.get_mut().await_outcome = true;
    request
        .metadata_mut()
        .insert("grpc-timeout", timeout.parse().unwrap());
    request
}

#[tokio::test]
async fn awaiting_the_outcome_answers_a_settled_order_or_one_fulfilment_does_not_handle_at_once() {
    let events = [
        placed_for(1, "o-1", "c-1", true),
        confirmed(2, "o-1"),
        placed(3, "o-2", "c-1"),
    ];
    let (svc, _dir) = service_with(&events).await;
    let settled = svc.get_order(awaiting("o-1", "10S")).await.unwrap();
    let order = settled.into_inner().order.unwrap();
    assert_eq!(order.status(), OrderStatus::Confirmed);
    let manual = svc.get_order(awaiting("o-2", "10S")).await.unwrap();
    assert_eq!(
        manual.into_inner().order.unwrap().status(),
        OrderStatus::Placed
    );
    let missing = svc.get_order(awaiting("o-9", "10S")).await.unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
}

#[tokio::test]
async fn awaiting_the_outcome_of_an_order_still_placed_ends_at_the_deadline_saying_so() {
    let (svc, _dir) = service_with(&[placed_for(1, "o-1", "c-1", true)]).await;
    let err = svc.get_order(awaiting("o-1", "100m")).await.unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded, "{err:?}");
    assert!(
        err.message()
            .starts_with("order o-1 is still ORDER_STATUS_PLACED"),
        "{err:?}"
    );
}

#[tokio::test]
async fn awaiting_the_outcome_answers_as_soon_as_the_projection_applies_it() {
    let (reads, _dir) = read_store();
    let projection = OrdersProjection::new(Arc::new(Upcasters::default()));
    fold(&projection, &*reads, &[placed_for(1, "o-1", "c-1", true)])
        .await
        .unwrap();
    let consistency = ReadYourWrites::new(Projections::default(), reads.clone());
    let svc = OrderQueriesService {
        model: ReadModel::new("orders", reads.clone(), consistency),
        history: crate::feed::testing::history_of(_dir.path(), &[]).await,
    };
    let waiting = tokio::spawn(async move { svc.get_order(awaiting("o-1", "30S")).await });
    // Whether the query first finds the order still placed (and waits) or starts after this
    // fold, it can only answer with the rejection.
    let rejected = OrderEvent::Rejected {
        order_id: OrderId::parse("o-1").unwrap(),
        reason: crate::orders::values::Reason::parse("not enough kettle: 3 requested, 1 available")
            .unwrap(),
    };
    let event = recorded("order-o-1", 1, 2, &rejected);
    fold(&projection, &*reads, &[event]).await.unwrap();
    let order = waiting.await.unwrap().unwrap().into_inner().order.unwrap();
    assert_eq!(order.status(), OrderStatus::Rejected);
    assert_eq!(order.reason, "not enough kettle: 3 requested, 1 available");
    assert_eq!(order.position, 2);
}
