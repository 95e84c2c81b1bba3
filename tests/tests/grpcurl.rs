//! The real grpcurl (1.8.6, which speaks only reflection v1alpha) against a running server:
//! what an operator would type.

use std::process::Command;

use causeway_client::{
    common::CommandOptions,
    orders::{OrderLine, PlaceOrderRequest, order_commands_client::OrderCommandsClient},
};
use causeway_tests::{TestServer, command_id, tools};
use tonic_types::StatusExt;

async fn grpcurl(args: Vec<String>) -> (bool, String) {
    tokio::task::spawn_blocking(move || {
        let out = Command::new(tools::grpcurl())
            .args(["-plaintext", "-max-time", "20"])
            .args(&args)
            .output()
            .expect("grpcurl runs");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    })
    .await
    .expect("grpcurl task")
}

#[tokio::test(flavor = "multi_thread")]
async fn grpcurl_lists_describes_checks_health_and_sends_a_command() {
    let server = TestServer::start().await;
    server.channel().await;
    let addr = server.addr.to_string();

    let (ok, out) = grpcurl(vec![addr.clone(), "list".into()]).await;
    assert!(ok, "{out}");
    for service in [
        "causeway.orders.v1.OrderCommands",
        "causeway.inventory.v1.InventoryCommands",
        "causeway.identity.v1.IdentityCommands",
        "grpc.health.v1.Health",
    ] {
        assert!(out.contains(service), "{service} missing from:\n{out}");
    }

    let (ok, out) = grpcurl(vec![
        addr.clone(),
        "describe".into(),
        "causeway.orders.v1.PlaceOrderRequest".into(),
    ])
    .await;
    assert!(ok, "{out}");
    assert!(
        out.contains("customer_id") && out.contains("CommandOptions"),
        "{out}"
    );
    // The comments of the contracts travel with the descriptors.
    assert!(
        out.contains("derives the id from the command id"),
        "no comments in:\n{out}"
    );

    let (ok, out) = grpcurl(vec![
        "-d".into(),
        r#"{"service":"causeway.orders.v1.OrderCommands"}"#.into(),
        addr.clone(),
        "grpc.health.v1.Health/Check".into(),
    ])
    .await;
    assert!(ok, "{out}");
    assert!(out.contains("SERVING"), "{out}");

    let body = format!(
        r#"{{"options":{{"commandId":"{}"}},"sku":"grpcurl-1","name":"From the shell"}}"#,
        command_id()
    );
    let (ok, out) = grpcurl(vec![
        "-d".into(),
        body,
        addr.clone(),
        "causeway.inventory.v1.InventoryCommands/RegisterProduct".into(),
    ])
    .await;
    assert!(ok, "{out}");
    assert!(out.contains(r#""streamId": "product-grpcurl-1""#), "{out}");
    assert!(out.contains(r#""position""#), "{out}");

    let (ok, out) = grpcurl(vec![
        "-d".into(),
        r#"{"options":{"commandId":"x"},"sku":""}"#.into(),
        addr,
        "causeway.inventory.v1.InventoryCommands/RegisterProduct".into(),
    ])
    .await;
    assert!(!ok, "an invalid command fails: {out}");
    assert!(
        out.contains("InvalidArgument") && out.contains("sku"),
        "{out}"
    );
}

/// grpcurl decodes Any details by asking reflection for their type, so this passes only while
/// the descriptor set carries `google/rpc/error_details.proto`.
#[tokio::test(flavor = "multi_thread")]
async fn grpcurl_prints_the_field_violations_of_a_refused_command_decoded() {
    let server = TestServer::start().await;
    let channel = server.channel().await;
    let addr = server.addr.to_string();

    // What the server sends, read with tonic-types: grpcurl must show exactly these.
    let zero_quantity = |command_id: String| PlaceOrderRequest {
        options: Some(CommandOptions {
            command_id,
            ..CommandOptions::default()
        }),
        customer_id: "ada".into(),
        currency: "EUR".into(),
        lines: vec![OrderLine {
            sku: "kettle".into(),
            quantity: 0,
            unit_price_minor: 100,
        }],
        ..PlaceOrderRequest::default()
    };
    let status = OrderCommandsClient::new(channel)
        .place_order(zero_quantity(command_id()))
        .await
        .expect_err("a zero quantity is refused");
    let sent = status
        .get_details_bad_request()
        .expect("BadRequest details")
        .field_violations;
    assert_eq!(sent.len(), 1, "{sent:?}");
    // The path is the same in proto and in JSON names.
    assert_eq!(sent[0].field, "lines[0].quantity");

    let body = format!(
        r#"{{"options":{{"commandId":"{}"}},"customerId":"ada","currency":"EUR",
            "lines":[{{"sku":"kettle","quantity":0,"unitPriceMinor":"100"}}]}}"#,
        command_id()
    );
    let (ok, out) = grpcurl(vec![
        "-d".into(),
        body,
        addr,
        "causeway.orders.v1.OrderCommands/PlaceOrder".into(),
    ])
    .await;
    assert!(!ok, "an invalid command fails: {out}");
    assert!(out.contains("InvalidArgument"), "{out}");
    assert!(
        !out.contains("not recognized"),
        "details not decoded:\n{out}"
    );
    assert!(
        out.contains("google.rpc.BadRequest") && out.contains("fieldViolations"),
        "{out}"
    );
    let printed = unescape_json_html(&out);
    for violation in &sent {
        assert!(
            printed.contains(&format!(r#""field":"{}""#, violation.field)),
            "field {} missing from:\n{out}",
            violation.field
        );
        assert!(
            printed.contains(&format!(r#""description":"{}""#, violation.description)),
            "description {:?} missing from:\n{out}",
            violation.description
        );
    }
}

/// grpcurl's JSON escapes `<`, `>` and `&` as `\u003c`, `\u003e` and `\u0026`; descriptions
/// such as "must be > 0" are compared in their plain form.
fn unescape_json_html(text: &str) -> String {
    text.replace("\\u003c", "<")
        .replace("\\u003e", ">")
        .replace("\\u0026", "&")
}
