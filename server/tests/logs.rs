//! Logs an operator can use, from the real binary: with `--log-format json` every line is one
//! JSON object, the access line of a request carries the trace id the caller sent in its
//! `traceparent`, and neither the bearer token nor a password appears in any line.

use crate::support;

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    sync::mpsc,
    time::Duration,
};

use causeway_proto::{
    common::CommandOptions,
    identity::{LoginRequest, sessions_client::SessionsClient},
    inventory::{RegisterProductRequest, inventory_commands_client::InventoryCommandsClient},
};
use causeway_server::auth::{keys::KeyRing, tokens::TokenIssuer};
use support::free_port;
use tonic::{Request, transport::Endpoint};

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

#[tokio::test(flavor = "multi_thread")]
async fn json_lines_carry_the_callers_trace_id_and_never_a_secret() {
    let data = tempfile::tempdir().unwrap();
    let token = TokenIssuer::new(
        KeyRing::new(data.path().join("keys")),
        "causeway",
        "causeway",
    )
    .mint("ops", vec!["admin".into()], None, Duration::from_secs(600))
    .unwrap()
    .token;
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_causeway-server"))
        .args([
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--metrics-listen",
            "off",
        ])
        .args(["--log-format", "json", "--log", "info"])
        .arg("--data-dir")
        .arg(data.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("server binary starts");
    let (lines_tx, lines) = mpsc::channel::<String>();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                return;
            }
        }
    });

    let endpoint = Endpoint::from_shared(format!("http://127.0.0.1:{port}")).unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let channel = loop {
        match endpoint.connect().await {
            Ok(channel) => break channel,
            Err(_) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(25)).await
            }
            Err(e) => panic!("the server never came up: {e}"),
        }
    };
    let mut request = Request::new(RegisterProductRequest {
        options: Some(CommandOptions {
            command_id: "log-1".into(),
            ..CommandOptions::default()
        }),
        sku: "kettle".into(),
        name: "Kettle".into(),
    });
    request.metadata_mut().insert(
        "traceparent",
        format!("00-{TRACE_ID}-00f067aa0ba902b7-01")
            .parse()
            .unwrap(),
    );
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    InventoryCommandsClient::new(channel.clone())
        .register_product(request)
        .await
        .expect("the command is served");
    let refused = SessionsClient::new(channel)
        .login(LoginRequest {
            email: "nobody@example.com".into(),
            password: "hunter2-hunter2".into(),
        })
        .await
        .expect_err("no such user");
    assert_eq!(refused.code(), tonic::Code::Unauthenticated);

    // Read until both access lines are in (bounded), then stop the server and read the rest.
    let mut seen = Vec::new();
    let mut access = 0;
    while access < 2 {
        let line = lines
            .recv_timeout(Duration::from_secs(30))
            .expect("the access lines arrive");
        if line.contains("\"target\":\"access\"") {
            access += 1;
        }
        seen.push(line);
    }
    child.kill().unwrap();
    child.wait().unwrap();
    seen.extend(lines.try_iter());

    let parsed: Vec<serde_json::Value> = seen
        .iter()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    let command = parsed
        .iter()
        .find(|line| line["target"] == "access" && line["method"] == "RegisterProduct")
        .expect("an access line for the command");
    assert_eq!(command["trace_id"], TRACE_ID, "{command}");
    assert_eq!(command["code"], "OK");
    assert_eq!(command["subject"], "ops");
    assert!(command["duration_ms"].as_f64().is_some());
    let login = parsed
        .iter()
        .find(|line| line["target"] == "access" && line["method"] == "Login")
        .expect("an access line for the login");
    assert_eq!(login["code"], "UNAUTHENTICATED");
    let all = seen.join("\n");
    assert!(!all.contains(&token), "a token reached the log");
    assert!(!all.contains("hunter2"), "a password reached the log");
    assert!(!all.contains('\u{1b}'), "colour codes in a log file");
}
