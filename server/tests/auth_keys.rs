//! Causeway's signing keys with the real binary: the offline `token` and `rotate-keys` tools
//! on a data directory that two server processes share (an all-roles one and a query one, as
//! separate deployments would). Tokens are verified on every process; after a rotation the old
//! key keeps verifying (its tokens stay valid), new tokens carry the new key, and the JWKS
//! lists both until the old one's grace ends.

use crate::support;

use std::{
    path::Path,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use causeway_proto::{
    auth::{GetJwksRequest, token_keys_client::TokenKeysClient},
    common::CommandOptions,
    identity::{
        GrantRoleRequest, LoginRequest, RegisterUserRequest,
        identity_commands_client::IdentityCommandsClient, sessions_client::SessionsClient,
    },
    orders::{ListOrdersRequest, order_queries_client::OrderQueriesClient},
};
use support::{Process, free_port};
use tonic::{Code, Request, transport::Channel};

const BINARY: &str = env!("CARGO_BIN_EXE_causeway-server");

/// Runs a `causeway-server` tool on `data_dir`; its one line of output.
fn tool(data_dir: &Path, args: &[&str]) -> String {
    let output = Command::new(BINARY)
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env("CAUSEWAY_LOG", "warn")
        .stderr(Stdio::inherit())
        .output()
        .expect("the binary runs");
    assert!(output.status.success(), "causeway-server {args:?} failed");
    String::from_utf8(output.stdout)
        .expect("utf-8")
        .trim()
        .to_owned()
}

/// A secured server process of `role` over `data_dir`.
fn serve(data_dir: &Path, role: &str) -> Process {
    let port = free_port();
    let child = Command::new(BINARY)
        .args(["--listen", &format!("127.0.0.1:{port}"), "--role", role])
        .args(["--metrics-listen", "off"])
        .arg("--data-dir")
        .arg(data_dir)
        .env("CAUSEWAY_LOG", "warn")
        .env_remove("CAUSEWAY_AUTH")
        .stdout(Stdio::null())
        .spawn()
        .expect("server binary starts");
    Process { child, port }
}

/// The `kid` in `token`'s header.
fn kid_of(token: &str) -> String {
    let header = token.split('.').next().expect("a JWT");
    let header: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).expect("base64url")).expect("JSON");
    header["kid"].as_str().expect("a kid").to_owned()
}

fn authorized<T>(message: T, token: &str) -> Request<T> {
    let mut request = Request::new(message);
    let value = format!("Bearer {token}").parse().expect("header text");
    request.metadata_mut().insert("authorization", value);
    request
}

fn options() -> Option<CommandOptions> {
    Some(CommandOptions {
        command_id: uuid::Uuid::now_v7().to_string(),
        ..CommandOptions::default()
    })
}

/// Lists orders as `token`'s holder: OK or the status code.
async fn list_orders(channel: &Channel, token: &str) -> Result<(), Code> {
    OrderQueriesClient::new(channel.clone())
        .list_orders(authorized(ListOrdersRequest::default(), token))
        .await
        .map(|_| ())
        .map_err(|s| s.code())
}

/// Waits until `token` is accepted by the process behind `channel` (bounded): a process reads
/// a key it does not know yet from the shared directory at most once a second.
async fn until_accepted(channel: &Channel, token: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match list_orders(channel, token).await {
            Ok(()) => return,
            Err(code) => {
                assert_eq!(code, Code::Unauthenticated, "refused for another reason");
                assert!(Instant::now() < deadline, "the new key was never accepted");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

async fn jwks_kids(channel: &Channel) -> Vec<String> {
    let mut kids: Vec<String> = TokenKeysClient::new(channel.clone())
        .get_jwks(GetJwksRequest {})
        .await
        .expect("GetJwks is public")
        .into_inner()
        .keys
        .into_iter()
        .map(|k| k.kid)
        .collect();
    kids.sort();
    kids
}

async fn login(channel: &Channel) -> String {
    let request = LoginRequest {
        email: "ada@example.com".into(),
        password: "correct horse".into(),
    };
    SessionsClient::new(channel.clone())
        .login(request)
        .await
        .expect("signed in")
        .into_inner()
        .access_token
}

#[tokio::test(flavor = "multi_thread")]
async fn tokens_verify_on_every_process_and_survive_a_key_rotation() {
    let dir = tempfile::tempdir().expect("temp dir");
    // The first admin's token, minted offline before any server ran: it creates the keys.
    let bootstrap = tool(
        dir.path(),
        &[
            "token",
            "--subject",
            "ops",
            "--role",
            "admin",
            "--ttl",
            "1h",
        ],
    );
    let first_kid = kid_of(&bootstrap);

    let all = serve(dir.path(), "all");
    let query = serve(dir.path(), "query");
    let (all_channel, query_channel) = (all.channel().await, query.channel().await);
    assert_eq!(list_orders(&all_channel, &bootstrap).await, Ok(()));
    assert_eq!(
        list_orders(&query_channel, &bootstrap).await,
        Ok(()),
        "verified on the query process too"
    );
    assert_eq!(
        list_orders(&query_channel, "not-a-token").await,
        Err(Code::Unauthenticated)
    );

    let mut identity = IdentityCommandsClient::new(all_channel.clone());
    let register = RegisterUserRequest {
        options: options(),
        email: "ada@example.com".into(),
        display_name: "Ada".into(),
        password: "correct horse".into(),
    };
    let ada = identity
        .register_user(authorized(register, &bootstrap))
        .await
        .expect("registered")
        .into_inner()
        .user_id;
    let grant = GrantRoleRequest {
        options: options(),
        user_id: ada,
        role: "customer".into(),
    };
    identity
        .grant_role(authorized(grant, &bootstrap))
        .await
        .expect("granted");
    let before = login(&all_channel).await;
    assert_eq!(kid_of(&before), first_kid);
    assert_eq!(
        jwks_kids(&all_channel).await,
        std::slice::from_ref(&first_kid)
    );

    let second_kid = tool(dir.path(), &["rotate-keys"]);
    assert_ne!(second_kid, first_kid);
    let mut both = vec![first_kid.clone(), second_kid.clone()];
    both.sort();
    assert_eq!(
        jwks_kids(&all_channel).await,
        both,
        "the old key stays published"
    );

    // Tokens from before the rotation stay valid, on both processes.
    for token in [&bootstrap, &before] {
        assert_eq!(list_orders(&all_channel, token).await, Ok(()));
        assert_eq!(list_orders(&query_channel, token).await, Ok(()));
    }
    // New ones carry the new key, and every process accepts them.
    let after = login(&all_channel).await;
    assert_eq!(kid_of(&after), second_kid);
    let minted = tool(
        dir.path(),
        &["token", "--subject", "ops", "--role", "admin"],
    );
    assert_eq!(kid_of(&minted), second_kid);
    for channel in [&all_channel, &query_channel] {
        until_accepted(channel, &after).await;
        until_accepted(channel, &minted).await;
    }

    // A rotation without grace drops the key it replaces from the JWKS at once.
    let third_kid = tool(dir.path(), &["rotate-keys", "--grace", "0s"]);
    let mut published = vec![first_kid, third_kid];
    published.sort();
    assert_eq!(jwks_kids(&all_channel).await, published);
}
