//! Durability across a real process restart: the server binary is killed with SIGKILL right
//! after acknowledging, restarted on the same data directory, and still knows every
//! acknowledged write.

use std::{
    net::TcpListener,
    process::{Child, Command, Stdio},
    time::Duration,
};

use causeway_proto::{
    common::CommandOptions,
    inventory::{
        ReceiveStockRequest, RegisterProductRequest, ReserveStockRequest,
        inventory_commands_client::InventoryCommandsClient,
    },
};
use tonic::transport::{Channel, Endpoint};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(data_dir: &std::path::Path, port: u16) -> Process {
    Process(
        Command::new(env!("CARGO_BIN_EXE_causeway-server"))
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .arg("--data-dir")
            .arg(data_dir)
            .env("CAUSEWAY_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .expect("server binary starts"),
    )
}

/// Waits (bounded) until the server accepts connections.
async fn connect(port: u16) -> Channel {
    let endpoint = Endpoint::from_shared(format!("http://127.0.0.1:{port}")).unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        match endpoint.connect().await {
            Ok(channel) => return channel,
            Err(_) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(25)).await
            }
            Err(e) => panic!("server on port {port} never came up: {e}"),
        }
    }
}

fn opts(command_id: &str) -> Option<CommandOptions> {
    Some(CommandOptions {
        command_id: command_id.into(),
        ..CommandOptions::default()
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn acknowledged_writes_survive_sigkill() {
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut server = spawn(data.path(), port);
    let mut client = InventoryCommandsClient::new(connect(port).await);
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
    server.0.kill().expect("SIGKILL");
    server.0.wait().unwrap();
    drop(client);

    let port = free_port();
    let _server = spawn(data.path(), port);
    let mut client = InventoryCommandsClient::new(connect(port).await);
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
    let port = free_port();
    let mut server = spawn(data.path(), port);
    let mut client = InventoryCommandsClient::new(connect(port).await);
    client
        .register_product(RegisterProductRequest {
            options: opts("register-term"),
            sku: "term-1".into(),
            name: "Terminated".into(),
        })
        .await
        .unwrap();
    let pid = server.0.id().to_string();
    let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(sent.success());
    let status = tokio::task::spawn_blocking(move || {
        let status = server.0.wait();
        (server, status)
    })
    .await
    .unwrap()
    .1
    .unwrap();
    assert!(status.success(), "exit status after SIGTERM: {status:?}");
}
