//! Credentials never reach a log: with every event of every crate recorded at TRACE (the
//! gateway, the server in the same process, tonic, hyper, h2), requests that carry a valid, a
//! refused and an underprivileged bearer token, and a login with a password, leave none of
//! those secrets in the output. Its own binary, because the recording subscriber is global.

use crate::support;

use std::{
    io::Write,
    sync::{Arc, Mutex},
};

use serde_json::json;
use support::{Stack, bearer, key, token};
use tracing::Level;

/// Everything logged, as text.
#[derive(Clone, Default)]
struct Recorded(Arc<Mutex<Vec<u8>>>);

impl Write for Recorded {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Recorded {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn tokens_and_passwords_are_never_logged() {
    let recorded = Recorded::default();
    let writer = recorded.clone();
    tracing_subscriber::fmt()
        .with_max_level(Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();

    let stack = Stack::start_secured().await;
    let http = &stack.http;
    let admin = token(&stack.server, "ops", &["admin", "identity.admin"]);
    let customer = token(&stack.server, "ada", &["customer"]);
    let forged = format!("{}x", &admin[..admin.len() - 1]);
    let password = "correct horse battery staple";

    http.post(
        "/v1/users",
        &[
            ("idempotency-key", &key()),
            ("authorization", &bearer(&admin)),
        ],
        json!({"email": "ada@example.com", "displayName": "Ada", "password": password}),
    )
    .await
    .expect(200);
    let login = http
        .post(
            "/v1/sessions:login",
            &[],
            json!({"email": "ada@example.com", "password": password}),
        )
        .await
        .expect(200);
    let issued = login.json["accessToken"].as_str().unwrap().to_owned();
    // A new user holds no role yet.
    http.get(
        "/v1/orders?pageSize=5",
        &[("authorization", &bearer(&issued))],
    )
    .await
    .expect(403);
    http.get(
        "/v1/products/kettle",
        &[("authorization", &bearer(&forged))],
    )
    .await
    .expect(401);
    http.post(
        "/v1/products",
        &[
            ("idempotency-key", &key()),
            ("authorization", &bearer(&customer)),
        ],
        json!({"sku": "kettle", "name": "Kettle"}),
    )
    .await
    .expect(403);
    drop(stack);

    let logs = recorded.text();
    assert!(
        logs.contains("forwarding"),
        "the gateway's own events were recorded: {logs}"
    );
    for (what, secret) in [
        ("admin token", admin.as_str()),
        ("customer token", customer.as_str()),
        ("refused token", forged.as_str()),
        ("issued token", issued.as_str()),
        ("password", password),
    ] {
        // The signature is the secret part of a token; a whole token would contain it.
        let secret = secret.rsplit('.').next().unwrap();
        assert!(!logs.contains(secret), "the {what} is in the logs");
    }
}
