//! Request validation (every field violation by its proto path) and the handler hop end to end
//! on the embedded store.

use std::sync::Arc;

use causeway_proto::common::CommandOptions;
use tonic::Code;
use tonic_types::StatusExt;

use super::*;
use crate::inventory::values::MAX_NAME_CHARS;
use crate::kernel::Upcasters;
use crate::store::embedded::{Durability, EmbeddedEventStore};
use crate::values::{MAX_ID_CHARS, MAX_QUANTITY};

/// The fields named by the violations of `result`, in order.
fn violated<T: std::fmt::Debug>(result: Result<T, Invalid>) -> Vec<String> {
    match result {
        Err(Invalid(v)) => v.into_iter().map(|v| v.field).collect(),
        other => panic!("expected field violations, got {other:?}"),
    }
}

fn options(command_id: &str) -> Option<CommandOptions> {
    Some(CommandOptions {
        command_id: command_id.into(),
        ..CommandOptions::default()
    })
}

#[test]
fn register_product_needs_a_sku_and_a_name() {
    assert_eq!(
        violated(RegisterProduct::try_from(RegisterProductRequest::default())),
        ["sku", "name"]
    );
    let bad = RegisterProductRequest {
        sku: "has space".into(),
        name: "n".repeat(MAX_NAME_CHARS + 1),
        ..RegisterProductRequest::default()
    };
    assert_eq!(violated(RegisterProduct::try_from(bad)), ["sku", "name"]);
    let control = RegisterProductRequest {
        sku: "x".repeat(MAX_ID_CHARS + 1),
        name: "bell\u{7}".into(),
        ..RegisterProductRequest::default()
    };
    assert_eq!(
        violated(RegisterProduct::try_from(control)),
        ["sku", "name"]
    );
    let blank = RegisterProductRequest {
        sku: "s".into(),
        name: "   ".into(),
        ..RegisterProductRequest::default()
    };
    assert_eq!(violated(RegisterProduct::try_from(blank)), ["name"]);
}

#[test]
fn skus_may_contain_dashes_and_reach_the_length_limit() {
    let req = RegisterProductRequest {
        sku: format!("tee-shirt-{}", "x".repeat(MAX_ID_CHARS - 10)),
        name: "n".repeat(MAX_NAME_CHARS),
        ..RegisterProductRequest::default()
    };
    let cmd = RegisterProduct::try_from(req).unwrap();
    assert!(cmd.sku.as_str().starts_with("tee-shirt-"));
}

#[test]
fn receive_stock_needs_a_sku_and_a_positive_quantity() {
    assert_eq!(
        violated(ReceiveStock::try_from(ReceiveStockRequest::default())),
        ["sku", "quantity"]
    );
}

#[test]
fn reserve_stock_needs_a_sku_a_positive_quantity_and_a_reservation_id() {
    assert_eq!(
        violated(ReserveStock::try_from(ReserveStockRequest::default())),
        ["sku", "quantity", "reservationId"]
    );
    let bad_id = ReserveStockRequest {
        sku: "s".into(),
        quantity: 1,
        reservation_id: "r\n1".into(),
        ..ReserveStockRequest::default()
    };
    assert_eq!(violated(ReserveStock::try_from(bad_id)), ["reservationId"]);
}

#[test]
fn release_stock_reads_quantity_zero_as_everything() {
    assert_eq!(
        violated(ReleaseStock::try_from(ReleaseStockRequest::default())),
        ["sku", "reservationId"]
    );
    let req = |quantity| ReleaseStockRequest {
        sku: "s".into(),
        quantity,
        reservation_id: "r-1".into(),
        ..ReleaseStockRequest::default()
    };
    assert_eq!(
        ReleaseStock::try_from(req(0)).unwrap().quantity,
        Release::Everything
    );
    assert_eq!(
        ReleaseStock::try_from(req(3)).unwrap().quantity,
        Release::Units(Quantity::parse(3).unwrap())
    );
}

#[test]
fn quantities_are_capped_at_the_business_maximum() {
    let req = |quantity| ReceiveStockRequest {
        sku: "s".into(),
        quantity,
        ..ReceiveStockRequest::default()
    };
    assert!(ReceiveStock::try_from(req(MAX_QUANTITY)).is_ok());
    let err = ReceiveStock::try_from(req(MAX_QUANTITY + 1)).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("invalid request: quantity: at most {MAX_QUANTITY}")
    );
}

fn inventory() -> (tempfile::TempDir, InventoryCommandsService) {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedEventStore::open(dir.path(), Durability::Relaxed).unwrap();
    let upcasters = crate::inventory::register_upcasters(Upcasters::default());
    let commands = CommandHandler::new(Arc::new(store), Arc::new(upcasters));
    (dir, InventoryCommandsService { commands })
}

#[tokio::test]
async fn stock_flows_through_the_kernel_and_rules_become_statuses() {
    let (_dir, svc) = inventory();
    let registered = svc
        .register_product(Request::new(RegisterProductRequest {
            options: options("cmd-1"),
            sku: "tee-shirt-m".into(),
            name: "Tee".into(),
        }))
        .await
        .unwrap()
        .into_inner()
        .ack
        .unwrap();
    assert_eq!(registered.stream_id, "product-tee-shirt-m");
    svc.receive_stock(Request::new(ReceiveStockRequest {
        options: options("cmd-2"),
        sku: "tee-shirt-m".into(),
        quantity: 5,
    }))
    .await
    .unwrap();
    let reserve = |command_id: &str, quantity| ReserveStockRequest {
        options: options(command_id),
        sku: "tee-shirt-m".into(),
        quantity,
        reservation_id: format!("r-{command_id}"),
    };
    let ack = svc
        .reserve_stock(Request::new(reserve("cmd-3", 5)))
        .await
        .unwrap()
        .into_inner()
        .ack
        .unwrap();
    assert_eq!(ack.revision, 2);
    let beyond = svc
        .reserve_stock(Request::new(reserve("cmd-4", 1)))
        .await
        .unwrap_err();
    assert_eq!(beyond.code(), Code::FailedPrecondition);

    let release = |command_id: &str| ReleaseStockRequest {
        options: options(command_id),
        sku: "tee-shirt-m".into(),
        quantity: 0,
        reservation_id: "r-cmd-3".into(),
    };
    let released = svc
        .release_stock(Request::new(release("cmd-5")))
        .await
        .unwrap();
    assert_eq!(released.into_inner().ack.unwrap().revision, 3);
    let retried = svc
        .release_stock(Request::new(release("cmd-5")))
        .await
        .unwrap();
    assert!(retried.into_inner().ack.unwrap().deduplicated);
    let twice = svc
        .release_stock(Request::new(release("cmd-6")))
        .await
        .unwrap_err();
    assert_eq!(twice.code(), Code::FailedPrecondition);

    let unknown = svc
        .receive_stock(Request::new(ReceiveStockRequest {
            options: options("cmd-7"),
            sku: "nope".into(),
            quantity: 1,
        }))
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);
    let invalid = svc
        .receive_stock(Request::new(ReceiveStockRequest::default()))
        .await
        .unwrap_err();
    assert_eq!(invalid.code(), Code::InvalidArgument);
    let fields: Vec<String> = invalid
        .get_details_bad_request()
        .expect("BadRequest details")
        .field_violations
        .into_iter()
        .map(|v| v.field)
        .collect();
    assert_eq!(fields, ["options", "sku", "quantity"]);
}
