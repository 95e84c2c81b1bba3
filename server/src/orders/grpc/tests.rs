//! Request validation (every field violation by its proto path) and the handler hop end to end
//! on the embedded store.

use std::sync::Arc;

use causeway_proto::{common::CommandOptions, orders as proto};
use tonic::Code;
use tonic_types::StatusExt;

use super::*;
use crate::kernel::{Upcasters, ids};
use crate::store::embedded::{Durability, EmbeddedEventStore};
use crate::values::{MAX_ID_CHARS, MAX_REASON_CHARS};

/// The fields named by the violations of `result`, in order.
fn violated<T: std::fmt::Debug>(result: Result<T, Invalid>) -> Vec<String> {
    match result {
        Err(Invalid(v)) => v.into_iter().map(|v| v.field).collect(),
        other => panic!("expected field violations, got {other:?}"),
    }
}

fn line(sku: &str, quantity: u32, unit_price_minor: i64) -> proto::OrderLine {
    proto::OrderLine {
        sku: sku.into(),
        quantity,
        unit_price_minor,
    }
}

fn place_request() -> PlaceOrderRequest {
    PlaceOrderRequest {
        options: Some(CommandOptions {
            command_id: "cmd-1".into(),
            ..CommandOptions::default()
        }),
        order_id: String::new(),
        customer_id: "c-1".into(),
        currency: "EUR".into(),
        lines: vec![line("sku-1", 2, 250)],
    }
}

#[test]
fn a_valid_place_order_request_becomes_the_command() {
    let cmd = NewOrder::try_from(place_request()).unwrap();
    assert_eq!(cmd.order_id, None, "named later from the command id");
    assert_eq!(cmd.customer_id.as_ref().map(|c| c.as_str()), Some("c-1"));
    assert_eq!(
        cmd.lines,
        vec![OrderLine {
            sku: Sku::parse("sku-1").unwrap(),
            quantity: Quantity::parse(2).unwrap(),
            unit_price: Money::parse(250).unwrap(),
        }]
    );
}

#[test]
fn place_order_reports_every_field_violation_at_once() {
    let req = PlaceOrderRequest {
        order_id: "has space".into(),
        customer_id: "c 1".into(),
        currency: "eur".into(),
        lines: vec![
            line("ok", 1, 0),
            line("", 0, -1),
            line(&"x".repeat(129), 1, 1),
        ],
        ..place_request()
    };
    assert_eq!(
        violated(NewOrder::try_from(req)),
        [
            "orderId",
            "customerId",
            "currency",
            "lines[1].sku",
            "lines[1].quantity",
            "lines[1].unitPriceMinor",
            "lines[2].sku",
        ]
    );
}

#[test]
fn place_order_limits_lines_ids_and_currency() {
    let no_lines = PlaceOrderRequest {
        lines: vec![],
        ..place_request()
    };
    assert_eq!(violated(NewOrder::try_from(no_lines)), ["lines"]);
    let too_many = PlaceOrderRequest {
        lines: vec![line("a", 1, 1); MAX_LINES + 1],
        ..place_request()
    };
    assert_eq!(violated(NewOrder::try_from(too_many)), ["lines"]);
    for currency in ["", "EU", "EURO", "E1R", "ÉUR"] {
        let req = PlaceOrderRequest {
            currency: currency.into(),
            ..place_request()
        };
        assert_eq!(
            violated(NewOrder::try_from(req)),
            ["currency"],
            "{currency}"
        );
    }
    let control = PlaceOrderRequest {
        customer_id: "c\u{7}1".into(),
        ..place_request()
    };
    assert_eq!(violated(NewOrder::try_from(control)), ["customerId"]);
    let longest = PlaceOrderRequest {
        order_id: "o".repeat(MAX_ID_CHARS),
        ..place_request()
    };
    assert!(NewOrder::try_from(longest).is_ok());
}

#[test]
fn lifecycle_requests_need_an_order_id_and_a_short_reason() {
    assert_eq!(
        violated(ConfirmOrder::try_from(ConfirmOrderRequest::default())),
        ["orderId"]
    );
    assert_eq!(
        violated(ShipOrder::try_from(ShipOrderRequest::default())),
        ["orderId"]
    );
    let long = "r".repeat(MAX_REASON_CHARS + 1);
    let reject = RejectOrderRequest {
        reason: long.clone(),
        ..RejectOrderRequest::default()
    };
    assert_eq!(
        violated(RejectOrder::try_from(reject)),
        ["orderId", "reason"]
    );
    let cancel = CancelOrderRequest {
        order_id: "o-1".into(),
        reason: long,
        ..CancelOrderRequest::default()
    };
    assert_eq!(violated(CancelOrder::try_from(cancel)), ["reason"]);
    let fine = CancelOrderRequest {
        order_id: "o-1".into(),
        reason: "r".repeat(MAX_REASON_CHARS),
        ..CancelOrderRequest::default()
    };
    assert!(CancelOrder::try_from(fine).is_ok());
}

#[test]
fn violations_pair_each_json_field_path_with_its_reason() {
    let req = PlaceOrderRequest {
        currency: "eur".into(),
        lines: vec![line("kettle", 0, -1)],
        ..place_request()
    };
    let status = Status::from(NewOrder::try_from(req).unwrap_err());
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        status.message(),
        "currency: must be an ISO 4217 code: three uppercase letters, e.g. EUR; \
         lines[0].quantity: must be greater than 0; lines[0].unitPriceMinor: must not be negative"
    );
    let details = status
        .get_details_bad_request()
        .expect("BadRequest details");
    let fields: Vec<_> = details.field_violations.iter().map(|v| &v.field).collect();
    assert_eq!(
        fields,
        ["currency", "lines[0].quantity", "lines[0].unitPriceMinor"]
    );
}

#[tokio::test]
async fn option_and_field_violations_are_reported_together() {
    let (_dir, svc) = orders();
    let status = svc
        .ship_order(Request::new(ShipOrderRequest::default()))
        .await
        .unwrap_err();
    let details = status
        .get_details_bad_request()
        .expect("BadRequest details");
    let fields: Vec<_> = details.field_violations.iter().map(|v| &v.field).collect();
    assert_eq!(fields, ["options", "orderId"]);
}

#[tokio::test]
async fn a_command_id_reused_for_another_request_is_refused_and_writes_nothing() {
    let (_dir, svc) = orders();
    svc.place_order(Request::new(place_request()))
        .await
        .unwrap();
    let other = PlaceOrderRequest {
        lines: vec![line("sku-1", 3, 250)],
        ..place_request()
    };
    let refused = svc.place_order(Request::new(other)).await.unwrap_err();
    assert_eq!(refused.code(), Code::AlreadyExists);
    assert_eq!(
        refused.message(),
        "commandId cmd-1 was used for a different request"
    );
    let stream = format!("order-{}", ids::derived_id("cmd-1", "order"));
    let events = svc.commands.store().read_stream(&stream, 0).await.unwrap();
    assert_eq!(events.len(), 1, "nothing appended for the refused request");
    // The same request with other options is still the same command.
    let mut same = place_request();
    if let Some(options) = same.options.as_mut() {
        options.correlation_id = "flow-9".into();
    }
    let ack = svc
        .place_order(Request::new(same))
        .await
        .unwrap()
        .into_inner();
    assert!(ack.ack.unwrap().deduplicated);
}

/// The service of a deployment without fulfilment: staff confirm orders by hand.
fn orders() -> (tempfile::TempDir, OrderCommandsService) {
    orders_with(false)
}

fn orders_with(fulfilment: bool) -> (tempfile::TempDir, OrderCommandsService) {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedEventStore::open(dir.path(), Durability::Relaxed).unwrap();
    let commands = CommandHandler::new(Arc::new(store), Arc::new(Upcasters::default()));
    (
        dir,
        OrderCommandsService {
            commands,
            fulfilment,
        },
    )
}

#[tokio::test]
async fn with_fulfilment_staff_confirming_a_new_order_is_failed_precondition() {
    let (_dir, svc) = orders_with(true);
    svc.place_order(Request::new(PlaceOrderRequest {
        order_id: "o-1".into(),
        ..place_request()
    }))
    .await
    .unwrap();
    let refused = svc
        .confirm_order(Request::new(ConfirmOrderRequest {
            options: options("cmd-2"),
            order_id: "o-1".into(),
        }))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert!(
        refused.message().starts_with("order o-1 awaits fulfilment"),
        "{}",
        refused.message()
    );
}

fn options(command_id: &str) -> Option<CommandOptions> {
    Some(CommandOptions {
        command_id: command_id.into(),
        ..CommandOptions::default()
    })
}

#[tokio::test]
async fn placing_names_the_order_from_the_command_id_and_retries_are_deduplicated() {
    let (_dir, svc) = orders();
    let first = svc
        .place_order(Request::new(place_request()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first.order_id, ids::derived_id("cmd-1", "order"));
    let ack = first.ack.unwrap();
    assert_eq!(ack.stream_id, format!("order-{}", first.order_id));
    assert_eq!((ack.revision, ack.deduplicated), (0, false));
    let retry = svc
        .place_order(Request::new(place_request()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(retry.order_id, first.order_id);
    let retry_ack = retry.ack.unwrap();
    assert!(retry_ack.deduplicated);
    assert_eq!(retry_ack.position, ack.position);
}

#[tokio::test]
async fn the_lifecycle_runs_through_the_kernel_and_errors_become_statuses() {
    let (_dir, svc) = orders();
    let placed = svc
        .place_order(Request::new(PlaceOrderRequest {
            order_id: "o-1".into(),
            ..place_request()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(placed.order_id, "o-1");
    let confirmed = svc
        .confirm_order(Request::new(ConfirmOrderRequest {
            options: options("cmd-2"),
            order_id: "o-1".into(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(confirmed.ack.unwrap().revision, 1);
    let shipped = svc
        .ship_order(Request::new(ShipOrderRequest {
            options: options("cmd-3"),
            order_id: "o-1".into(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(shipped.ack.unwrap().revision, 2);

    let cancel = |command_id: &str, order_id: &str| CancelOrderRequest {
        options: options(command_id),
        order_id: order_id.into(),
        reason: String::new(),
    };
    let refused = svc
        .cancel_order(Request::new(cancel("cmd-4", "o-1")))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert_eq!(refused.message(), "a shipped order cannot be cancelled");
    let missing = svc
        .cancel_order(Request::new(cancel("cmd-5", "o-2")))
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
    let reject = RejectOrderRequest {
        options: options("cmd-6"),
        order_id: String::new(),
        reason: String::new(),
    };
    let invalid = svc.reject_order(Request::new(reject)).await.unwrap_err();
    assert_eq!(invalid.code(), Code::InvalidArgument);
    let details = invalid
        .get_details_bad_request()
        .expect("BadRequest details");
    assert_eq!(details.field_violations[0].field, "orderId");
}
