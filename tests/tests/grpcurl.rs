//! The real grpcurl (1.8.6, which speaks only reflection v1alpha) against a running server:
//! what an operator would type.

use std::process::Command;

use causeway_tests::{TestServer, command_id, tools};

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
