//! Connections that ask nothing cannot pile up: a client too slow to finish the HTTP/2
//! handshake, one that never sends a byte and one that shakes hands and then asks nothing are
//! all closed in time, while a well-behaved client is served throughout; connections over the
//! limit are closed at once, and the server serves again as soon as slots free up.

use std::time::Duration;

use causeway_server::config::Config;
use causeway_tests::{TestServer, unchecked};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    task::JoinHandle,
};
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

/// Far beyond every timeout these tests configure: a bound on waiting, not a measurement.
const BOUND: Duration = Duration::from_secs(20);
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// An empty SETTINGS frame: what a client sends right after the preface.
const SETTINGS: [u8; 9] = [0, 0, 0, 4, 0, 0, 0, 0, 0];

async fn server(adjust: impl FnOnce(&mut Config)) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let mut config = unchecked(Config::with_data_dir(dir.path()));
    adjust(&mut config);
    let server = TestServer::start_with(config, dir).await;
    server.channel().await;
    server
}

/// Resolves when the server has closed `stream` (end of stream or reset), reading and
/// discarding whatever it sends before.
async fn closed_by_server(mut stream: TcpStream) {
    let mut sink = [0u8; 1024];
    loop {
        match stream.read(&mut sink).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

/// Sends the preface one byte at a time, slowly, until the server hangs up.
fn slow_handshake(addr: std::net::SocketAddr) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        for byte in PREFACE.iter().cycle() {
            if stream.write_all(&[*byte]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
}

async fn healthy(server: &TestServer) -> bool {
    let mut health = HealthClient::new(server.channel().await);
    health.check(HealthCheckRequest::default()).await.is_ok()
}

#[tokio::test(flavor = "multi_thread")]
async fn slow_silent_and_idle_connections_are_closed_in_time_while_calls_are_served() {
    let server = server(|config| {
        config.connections.handshake_timeout = Duration::from_secs(1);
        config.connections.idle_timeout = Duration::from_secs(2);
    })
    .await;
    let mut health = HealthClient::new(server.channel().await);

    let silent: Vec<TcpStream> = futures::future::join_all(
        (0..20).map(|_| async { TcpStream::connect(server.addr).await.unwrap() }),
    )
    .await;
    let slow: Vec<JoinHandle<()>> = (0..20).map(|_| slow_handshake(server.addr)).collect();
    let mut idle = Vec::new();
    for _ in 0..20 {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        stream.write_all(PREFACE).await.unwrap();
        stream.write_all(&SETTINGS).await.unwrap();
        idle.push(stream);
    }

    let closed = async {
        futures::future::join_all(silent.into_iter().map(closed_by_server)).await;
        futures::future::join_all(idle.into_iter().map(closed_by_server)).await;
        for slow in slow {
            slow.await.unwrap();
        }
    };
    tokio::pin!(closed);
    let mut served = 0;
    let outcome = tokio::time::timeout(BOUND, async {
        loop {
            tokio::select! {
                () = &mut closed => return,
                answer = health.check(HealthCheckRequest::default()) => {
                    answer.expect("the well-behaved client is served throughout");
                    served += 1;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    })
    .await;
    assert!(
        outcome.is_ok(),
        "the server kept slow or silent connections open"
    );
    assert!(served > 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn connections_over_the_limit_are_closed_at_once_and_slots_come_back() {
    let server = server(|config| {
        config.connections.max_connections = 3;
        config.connections.handshake_timeout = Duration::from_secs(60);
    })
    .await;
    // The channel `server()` opened to wait for the start is gone; let its slot come back.
    tokio::time::timeout(BOUND, async {
        while !healthy(&server).await {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("serving");

    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(TcpStream::connect(server.addr).await.unwrap());
    }
    // The listener accepts in the order the handshakes completed: the fourth finds no slot.
    let over = TcpStream::connect(server.addr).await.unwrap();
    tokio::time::timeout(BOUND, closed_by_server(over))
        .await
        .expect("a connection over the limit is closed at once");

    drop(held);
    tokio::time::timeout(BOUND, async {
        while !healthy(&server).await {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("serves again once the held connections are gone");
}
