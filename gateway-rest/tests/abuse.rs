//! One caller cannot hurt another through the gateway: an oversized header is refused by the
//! gateway itself (431) and never reaches the HTTP/2 connection every caller shares; slow,
//! silent and idle connections are closed in time while others are served; connections over
//! the limit are closed at once; a JSON body that gives a key twice is refused.

mod support;

use std::time::Duration;

use reqwest::Method;
use serde_json::json;
use support::{Http, Stack, key};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    task::JoinHandle,
};

/// Far beyond every timeout these tests configure: a bound on waiting, not a measurement.
const BOUND: Duration = Duration::from_secs(20);
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
const SETTINGS: [u8; 9] = [0, 0, 0, 4, 0, 0, 0, 0, 0];

async fn stack_with_kettle(
    adjust: impl FnOnce(causeway_gateway::config::Config) -> causeway_gateway::config::Config,
) -> Stack {
    let stack = Stack::start_with(adjust).await;
    stack
        .http
        .post(
            "/v1/products",
            &[("idempotency-key", &key())],
            json!({"sku": "kettle", "name": "Kettle"}),
        )
        .await
        .expect(200);
    stack
}

#[tokio::test(flavor = "multi_thread")]
async fn an_oversized_header_is_refused_by_the_gateway_and_hurts_no_other_caller() {
    let stack = stack_with_kettle(|config| config).await;
    let good: Vec<JoinHandle<Vec<u16>>> = (0..12)
        .map(|_| {
            let http = Http::new(&stack.gateway.url());
            tokio::spawn(async move {
                let mut failures = Vec::new();
                for _ in 0..50 {
                    let reply = http.get("/v1/products/kettle", &[]).await;
                    if reply.status.as_u16() != 200 {
                        failures.push(reply.status.as_u16());
                    }
                }
                failures
            })
        })
        .collect();
    let bad = {
        let http = Http::new(&stack.gateway.url());
        tokio::spawn(async move {
            let token = format!("Bearer {}", "x".repeat(64 * 1024));
            let mut answers = Vec::new();
            for _ in 0..40 {
                let reply = http
                    .get("/v1/products/kettle", &[("authorization", &token)])
                    .await;
                answers.push((reply.status.as_u16(), reply.error_status().to_owned()));
            }
            answers
        })
    };
    let answers = bad.await.unwrap();
    let mut failures = Vec::new();
    for client in good {
        failures.extend(client.await.unwrap());
    }
    assert_eq!(failures, Vec::<u16>::new(), "well-behaved callers failed");
    for answer in answers {
        assert_eq!(
            answer,
            (431, "INVALID_ARGUMENT".to_owned()),
            "the oversized requests"
        );
    }
    assert!(reply_mentions(&stack.http, 20 * 1024, "x-padding", "at most 16384").await);
}

/// Whether a request with a `size`-byte `header` answers 431 with `needle` in its message.
async fn reply_mentions(http: &Http, size: usize, header: &str, needle: &str) -> bool {
    let value = "y".repeat(size);
    let reply = http
        .get("/v1/products/kettle", &[(header, &value)])
        .await
        .expect(431);
    reply.text.contains(needle)
}

#[tokio::test(flavor = "multi_thread")]
async fn forwarded_headers_stay_bounded_whatever_the_header_limit() {
    let stack = stack_with_kettle(|mut config| {
        config.max_header_bytes = 128 * 1024;
        config
    })
    .await;
    let http = &stack.http;
    assert!(reply_mentions(http, 64 * 1024, "authorization", "passed on to the server").await);
    assert!(reply_mentions(http, 150 * 1024, "x-padding", "at most 131072").await);
    // A large header that is not forwarded is fine below the limit.
    let value = "y".repeat(64 * 1024);
    http.get("/v1/products/kettle", &[("x-padding", &value)])
        .await
        .expect(200);
}

/// Resolves when the gateway has closed `stream`, discarding what it sends before.
async fn closed_by_gateway(mut stream: TcpStream) {
    let mut sink = [0u8; 1024];
    loop {
        match stream.read(&mut sink).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

/// Sends a request's headers a byte at a time, never finishing, until the gateway hangs up.
fn slow_headers(addr: std::net::SocketAddr) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let head = b"GET /healthz HTTP/1.1\r\nhost: localhost\r\nx-slow: ";
        for byte in head.iter().chain(std::iter::repeat(&b'a')) {
            if stream.write_all(&[*byte]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn slow_silent_and_idle_connections_are_closed_in_time_while_calls_are_served() {
    let stack = stack_with_kettle(|mut config| {
        config.header_read_timeout = Duration::from_secs(1);
        config.idle_timeout = Duration::from_secs(2);
        config
    })
    .await;
    let addr = stack.gateway.addr;
    let mut silent = Vec::new();
    let mut idle_h2 = Vec::new();
    let mut kept_alive = Vec::new();
    for _ in 0..15 {
        silent.push(TcpStream::connect(addr).await.unwrap());
        let mut h2 = TcpStream::connect(addr).await.unwrap();
        h2.write_all(PREFACE).await.unwrap();
        h2.write_all(&SETTINGS).await.unwrap();
        idle_h2.push(h2);
        let mut h1 = TcpStream::connect(addr).await.unwrap();
        h1.write_all(b"GET /openapi.json HTTP/1.1\r\nhost: localhost\r\n\r\n")
            .await
            .unwrap();
        kept_alive.push(h1);
    }
    let slow: Vec<JoinHandle<()>> = (0..15).map(|_| slow_headers(addr)).collect();
    let closed = async {
        let streams = silent.into_iter().chain(idle_h2).chain(kept_alive);
        futures::future::join_all(streams.map(closed_by_gateway)).await;
        for slow in slow {
            slow.await.unwrap();
        }
    };
    tokio::pin!(closed);
    let http = &stack.http;
    let outcome = tokio::time::timeout(BOUND, async {
        loop {
            tokio::select! {
                () = &mut closed => return,
                reply = http.get("/v1/products/kettle", &[]) => {
                    reply.expect(200);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    })
    .await;
    assert!(
        outcome.is_ok(),
        "the gateway kept slow, silent or idle connections open"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn connections_over_the_limit_are_closed_at_once() {
    let stack = stack_with_kettle(|mut config| {
        config.max_connections = 3;
        config
    })
    .await;
    // The client that registered the kettle keeps a pooled connection: let it go first.
    let Stack {
        server,
        gateway,
        http,
    } = stack;
    drop(http);
    let addr = gateway.addr;
    let free = || async move {
        tokio::time::timeout(BOUND, async {
            loop {
                let mut stream = TcpStream::connect(addr).await.unwrap();
                let request = b"GET /openapi.json HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n";
                let mut answer = Vec::new();
                if stream.write_all(request).await.is_ok()
                    && stream.read_to_end(&mut answer).await.is_ok()
                    && answer.starts_with(b"HTTP/1.1 200")
                {
                    return;
                }
                tokio::task::yield_now().await;
            }
        })
        .await
        .expect("the gateway serves once slots are free");
    };
    free().await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(TcpStream::connect(addr).await.unwrap());
    }
    let over = TcpStream::connect(addr).await.unwrap();
    tokio::time::timeout(BOUND, closed_by_gateway(over))
        .await
        .expect("a connection over the limit is closed at once");
    drop(held);
    free().await;
    drop(server);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_key_given_twice_in_a_body_is_refused_and_changes_nothing() {
    let stack = Stack::start_with(|config| config).await;
    let registered = stack
        .http
        .post(
            "/v1/products",
            &[("idempotency-key", &key())],
            json!({"sku": "kettle", "name": "Kettle"}),
        )
        .await
        .expect(200);
    let at = registered
        .header("x-position")
        .expect("a command answers its position")
        .to_owned();
    let reply = stack
        .http
        .send(
            Method::POST,
            "/v1/products/kettle:receive",
            &[("idempotency-key", &key())],
            Some(r#"{"quantity":"1","quantity":"1000"}"#.to_owned()),
        )
        .await
        .expect(400);
    assert_eq!(reply.error_status(), "INVALID_ARGUMENT");
    assert_eq!(
        reply.json["error"]["fieldViolations"][0]["field"], "quantity",
        "{}",
        reply.text
    );
    let reply = stack
        .http
        .send(
            Method::POST,
            "/v1/orders",
            &[("idempotency-key", &key())],
            Some(
                r#"{"customerId":"ada","currency":"EUR","lines":[{"sku":"kettle","quantity":1,"quantity":9,"unitPriceMinor":"1"}]}"#
                    .to_owned(),
            ),
        )
        .await
        .expect(400);
    assert_eq!(
        reply.json["error"]["fieldViolations"][0]["field"], "lines[0].quantity",
        "{}",
        reply.text
    );
    // At least at the registration's position, so the read model holds the product (a read
    // without it raced the projection and could answer 404).
    let product = stack
        .http
        .get("/v1/products/kettle", &[("x-min-position", &at)])
        .await
        .expect(200);
    assert_eq!(product.json["product"]["onHand"], "0", "{}", product.text);
}
