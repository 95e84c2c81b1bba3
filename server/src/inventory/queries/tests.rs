//! The query hop end to end on the embedded read store: products folded by the real projection,
//! read back through the service exactly as a gRPC call would.

use std::sync::Arc;

use causeway_proto::common::Consistency;
use tempfile::TempDir;
use tonic::Code;
use tonic_types::StatusExt;

use super::*;
use crate::{
    inventory::{
        domain::ProductEvent,
        projection::ProductsProjection,
        values::{ProductName, Quantity, ReservationId, Sku},
    },
    kernel::Upcasters,
    projection::{
        Projections,
        consistency::ReadYourWrites,
        testing::{fold, read_store, recorded},
    },
    store::RecordedEvent,
};

/// `product-<sku>` registered, then `on_hand` received, then (when not 0) `reserved` reserved,
/// at positions `base`, `base + 1`, `base + 2`.
fn product(sku: &str, base: u64, on_hand: u64, reserved: u64) -> Vec<RecordedEvent> {
    let stream = format!("product-{sku}");
    let id = || Sku::parse(sku).unwrap();
    let mut events = vec![
        ProductEvent::Registered {
            sku: id(),
            name: ProductName::parse(&format!("Product {sku}")).unwrap(),
        },
        ProductEvent::StockReceived {
            sku: id(),
            quantity: Quantity::parse(on_hand).unwrap(),
        },
    ];
    if reserved > 0 {
        events.push(ProductEvent::StockReserved {
            sku: id(),
            quantity: Quantity::parse(reserved).unwrap(),
            reservation_id: ReservationId::parse("r-1").unwrap(),
        });
    }
    events
        .iter()
        .enumerate()
        .map(|(i, e)| recorded(&stream, i as u64, base + i as u64, e))
        .collect()
}

/// The service over a fresh store holding `events`, and the store's directory to keep alive.
async fn service_with(events: &[RecordedEvent]) -> (InventoryQueriesService, TempDir) {
    let (reads, dir) = read_store();
    let projection = ProductsProjection::new(Arc::new(Upcasters::default()));
    fold(&projection, &*reads, events).await.unwrap();
    let consistency = ReadYourWrites::new(Projections::default(), reads.clone());
    let model = ReadModel::new("products", reads, consistency);
    let history = crate::feed::testing::history_of(dir.path(), events).await;
    (InventoryQueriesService { model, history }, dir)
}

fn get(sku: &str) -> Request<GetProductRequest> {
    Request::new(GetProductRequest {
        sku: sku.into(),
        ..Default::default()
    })
}

fn list(available_below: Option<u64>, page_size: u32, token: &str) -> Request<ListProductsRequest> {
    Request::new(ListProductsRequest {
        available_below,
        page_size,
        page_token: token.into(),
        consistency: None,
    })
}

fn skus(response: &ListProductsResponse) -> Vec<&str> {
    response.products.iter().map(|p| p.sku.as_str()).collect()
}

#[tokio::test]
async fn get_product_returns_the_stock_figures_or_not_found() {
    let (svc, _dir) = service_with(&product("sku-1", 1, 10, 4)).await;
    let product = svc.get_product(get("sku-1")).await.unwrap().into_inner();
    assert_eq!(
        product.product,
        Some(Product {
            sku: "sku-1".into(),
            name: "Product sku-1".into(),
            on_hand: 10,
            reserved: 4,
            available: 6,
            revision: 2,
        })
    );
    let missing = svc.get_product(get("sku-2")).await.unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
    assert!(missing.message().contains("product sku-2"), "{missing:?}");
}

#[tokio::test]
async fn get_product_refuses_a_missing_or_overlong_sku_by_field() {
    let (svc, _dir) = service_with(&[]).await;
    for (sku, message) in [
        (String::new(), "sku: required"),
        ("s".repeat(129), "sku: at most 128 characters"),
        (
            "two words".into(),
            "sku: must not contain whitespace or control characters",
        ),
    ] {
        let err = svc.get_product(get(&sku)).await.unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument);
        assert_eq!(err.message(), message);
        let details = err.get_details_bad_request().expect("BadRequest details");
        assert_eq!(details.field_violations[0].field, "sku");
    }
}

#[tokio::test]
async fn list_products_filters_by_availability_in_sku_order() {
    let mut events = product("sku-c", 1, 10, 9); // available 1
    events.extend(product("sku-a", 4, 10, 0)); // available 10
    events.extend(product("sku-b", 7, 5, 1)); // available 4
    let (svc, _dir) = service_with(&events).await;
    let call = |req| async { svc.list_products(req).await.unwrap().into_inner() };
    assert_eq!(
        skus(&call(list(None, 0, "")).await),
        ["sku-a", "sku-b", "sku-c"]
    );
    assert_eq!(skus(&call(list(Some(5,), 0, "")).await), ["sku-b", "sku-c"]);
    assert_eq!(skus(&call(list(Some(4), 0, "")).await), ["sku-c"]);
    assert!(call(list(Some(0), 0, "")).await.products.is_empty());
    assert_eq!(skus(&call(list(Some(u64::MAX), 0, "")).await).len(), 3);
}

#[tokio::test]
async fn list_products_pages_through_every_product_once() {
    let events: Vec<_> = (0..60u64)
        .flat_map(|i| product(&format!("sku-{:02}", (i * 7) % 60), 1 + 3 * i, 5, 0))
        .collect();
    let (svc, _dir) = service_with(&events).await;
    let (mut seen, mut token) = (Vec::new(), String::new());
    loop {
        let page = svc
            .list_products(list(None, 25, &token))
            .await
            .unwrap()
            .into_inner();
        seen.extend(page.products.into_iter().map(|p| p.sku));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    let expected: Vec<String> = (0..60).map(|i| format!("sku-{i:02}")).collect();
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn list_products_refuses_a_garbage_page_token() {
    let (svc, _dir) = service_with(&product("sku-1", 1, 1, 0)).await;
    let err = svc.list_products(list(None, 0, "zz")).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let details = err.get_details_bad_request().expect("BadRequest details");
    assert_eq!(details.field_violations[0].field, "pageToken");
}

#[tokio::test]
async fn a_position_not_yet_reached_waits_then_names_the_reached_position() {
    let (svc, _dir) = service_with(&product("sku-1", 1, 1, 0)).await;
    let mut ahead = list(None, 0, "");
    ahead.get_mut().consistency = Some(Consistency { min_position: 50 });
    ahead
        .metadata_mut()
        .insert("grpc-timeout", "200m".parse().unwrap());
    let err = svc.list_products(ahead).await.unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded, "{err:?}");
    assert!(err.message().contains("position 2"), "{err:?}");
}

#[test]
fn a_malformed_document_is_an_internal_fault_not_a_panic() {
    let body = serde_json::json!({"sku": "sku-1", "onHand": -1});
    let err = crate::query::decode::<ProductDocument>("products", "sku-1", body).unwrap_err();
    assert!(matches!(err, QueryError::Corrupt(_)), "{err:?}");
    assert_eq!(tonic::Status::from(err).code(), Code::Internal);
}
