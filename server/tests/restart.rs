//! Durability across a real process restart: the server binary is killed with SIGKILL right
//! after acknowledging, restarted on the same data directory, and still knows every
//! acknowledged write.

use crate::support;

use std::process::Command;

use causeway_proto::{
    common::CommandOptions,
    inventory::{
        ReceiveStockRequest, RegisterProductRequest, ReserveStockRequest,
        inventory_commands_client::InventoryCommandsClient,
    },
};
use support::Process;

fn opts(command_id: &str) -> Option<CommandOptions> {
    Some(CommandOptions {
        command_id: command_id.into(),
        ..CommandOptions::default()
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn acknowledged_writes_survive_sigkill() {
    let data = tempfile::tempdir().unwrap();
    let server = Process::start(data.path(), "all");
    let mut client = InventoryCommandsClient::new(server.channel().await);
    client
        .register_product(RegisterProductRequest {
            options: opts("register-1"),
            sku: "durable-1".into(),
            name: "Durable".into(),
        })
        .await
        .unwrap();
    let received = client
        .receive_stock(ReceiveStockRequest {
            options: opts("receive-1"),
            sku: "durable-1".into(),
            quantity: 5,
        })
        .await
        .unwrap()
        .into_inner()
        .ack
        .unwrap();
    server.kill();
    drop(client);

    let server = Process::start(data.path(), "all");
    let mut client = InventoryCommandsClient::new(server.channel().await);
    let replay = client
        .receive_stock(ReceiveStockRequest {
            options: opts("receive-1"),
            sku: "durable-1".into(),
            quantity: 5,
        })
        .await
        .unwrap()
        .into_inner()
        .ack
        .unwrap();
    assert!(
        replay.deduplicated,
        "the acknowledged command is remembered"
    );
    assert_eq!(
        (replay.revision, replay.position),
        (received.revision, received.position)
    );
    // The stock received before the kill is there to reserve.
    client
        .reserve_stock(ReserveStockRequest {
            options: opts("reserve-1"),
            sku: "durable-1".into(),
            quantity: 5,
            reservation_id: "r-1".into(),
        })
        .await
        .expect("all 5 units survived the kill");
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_drains_and_exits_cleanly() {
    let data = tempfile::tempdir().unwrap();
    let server = Process::start(data.path(), "all");
    let mut client = InventoryCommandsClient::new(server.channel().await);
    client
        .register_product(RegisterProductRequest {
            options: opts("register-term"),
            sku: "term-1".into(),
            name: "Terminated".into(),
        })
        .await
        .unwrap();
    let pid = server.child.id().to_string();
    let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(sent.success());
    let status = tokio::task::spawn_blocking(move || {
        let mut server = server;
        let status = server.child.wait();
        (server, status)
    })
    .await
    .unwrap()
    .1
    .unwrap();
    assert!(status.success(), "exit status after SIGTERM: {status:?}");
}
