//! Security at the REST edge, against a server that authenticates (as in production): a missing
//! or refused token is 401 with the RFC 6750 challenge and writes nothing, a token without the
//! role is 403, login throttling is 429 with `Retry-After`, the JWKS is a valid key set, and the
//! OpenAPI document's security matches the access option every RPC declares.

use crate::support;

use std::collections::BTreeMap;

use causeway_server::auth::keys::KeyRing;
use prost_reflect::Value as Reflected;
use serde_json::{Value, json};
use support::{Reply, Stack, bearer, key, token};

#[track_caller]
fn assert_unauthenticated(reply: &Reply, challenge: &str) {
    assert_eq!(reply.status.as_u16(), 401, "{}", reply.text);
    assert_eq!(reply.error_status(), "UNAUTHENTICATED", "{}", reply.text);
    assert_eq!(
        reply.header("www-authenticate"),
        Some(challenge),
        "{}",
        reply.text
    );
}

/// `Bearer realm="causeway", error="invalid_token", error_description="<the body's message>"`.
fn invalid_token(reply: &Reply) -> String {
    let message = reply.json["error"]["message"].as_str().unwrap_or_default();
    format!("Bearer realm=\"causeway\", error=\"invalid_token\", error_description=\"{message}\"")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_or_refused_token_is_401_with_a_bearer_challenge_and_writes_nothing() {
    let stack = Stack::start_secured().await;
    let http = &stack.http;
    let store = stack.server.event_store();
    let head = store.head_position().await.unwrap();
    let product = json!({"sku": "kettle", "name": "Kettle"});

    // No token: the challenge names no error (RFC 6750, 3.1).
    let none = http
        .post(
            "/v1/products",
            &[("idempotency-key", &key())],
            product.clone(),
        )
        .await;
    assert_unauthenticated(&none, "Bearer realm=\"causeway\"");
    // A scheme other than Bearer is no bearer token either.
    let basic = http
        .get(
            "/v1/products/kettle",
            &[("authorization", "Basic YWRhOnB3")],
        )
        .await;
    assert_unauthenticated(&basic, "Bearer realm=\"causeway\"");

    // Refused tokens: error="invalid_token" and the server's reason.
    let other_server = causeway_tests::TestServer::start_secured().await;
    support::answering(&other_server).await;
    for refused in [
        "not-a-jwt".to_owned(),
        "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZGEifQ.".to_owned(),
        // Signed by another server's key: unknown here.
        token(&other_server, "ops", &["admin"]),
    ] {
        let reply = http
            .post(
                "/v1/products",
                &[
                    ("idempotency-key", &key()),
                    ("authorization", &bearer(&refused)),
                ],
                product.clone(),
            )
            .await;
        assert_unauthenticated(&reply, &invalid_token(&reply));
        assert!(
            reply.text.contains("bearer token") && !reply.text.contains(&refused),
            "{}",
            reply.text
        );
    }
    // Public operations answer without a token, and refuse a bad one all the same.
    let jwks = http.get("/.well-known/jwks.json", &[]).await.expect(200);
    assert!(jwks.header("www-authenticate").is_none());
    let public = http
        .get(
            "/.well-known/jwks.json",
            &[("authorization", "Bearer nope")],
        )
        .await;
    assert_unauthenticated(&public, &invalid_token(&public));

    assert_eq!(
        store.head_position().await.unwrap(),
        head,
        "nothing was written"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_without_the_role_is_403_and_with_it_the_call_goes_through() {
    let stack = Stack::start_secured().await;
    let http = &stack.http;
    let customer = bearer(&token(&stack.server, "ada", &["customer"]));
    let staff = bearer(&token(&stack.server, "ops", &["inventory.staff"]));
    let product = json!({"sku": "kettle", "name": "Kettle"});

    let denied = http
        .post(
            "/v1/products",
            &[("idempotency-key", &key()), ("authorization", &customer)],
            product.clone(),
        )
        .await
        .expect(403);
    assert_eq!(denied.error_status(), "PERMISSION_DENIED");
    assert!(denied.header("www-authenticate").is_none());

    let created = http
        .post(
            "/v1/products",
            &[("idempotency-key", &key()), ("authorization", &staff)],
            product,
        )
        .await
        .expect(200);
    let at = created
        .header("x-position")
        .map(str::to_owned)
        .expect("a command answers its position");
    // Customers may read products (at the registration's position: the read model holds it).
    http.get(
        "/v1/products/kettle",
        &[("authorization", &customer), ("x-min-position", &at)],
    )
    .await
    .expect(200);
}

#[tokio::test(flavor = "multi_thread")]
async fn login_throttling_is_429_with_retry_after() {
    let stack = Stack::start_secured().await;
    let attempt = || {
        stack.http.post(
            "/v1/sessions:login",
            &[],
            json!({"email": "nobody@example.com", "password": "wrong horse"}),
        )
    };
    let mut answers = Vec::new();
    for _ in 0..6 {
        answers.push(attempt().await);
    }
    let (refused, throttled) = answers.split_at(5);
    for reply in refused {
        assert_unauthenticated(reply, "Bearer realm=\"causeway\"");
    }
    let throttled = &throttled[0];
    assert_eq!(throttled.status.as_u16(), 429, "{}", throttled.text);
    assert_eq!(throttled.error_status(), "RESOURCE_EXHAUSTED");
    let seconds: u64 = throttled
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("whole seconds");
    assert!((1..=900).contains(&seconds), "{seconds}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_jwks_is_a_key_set_without_empty_members_that_verifies_the_servers_tokens() {
    let stack = Stack::start_secured().await;
    let reply = stack
        .http
        .get("/.well-known/jwks.json", &[])
        .await
        .expect(200);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.header("cache-control"), Some("public, max-age=30"));
    let keys = reply.json["keys"].as_array().expect("{\"keys\": [...]}");
    assert_eq!(reply.json.as_object().unwrap().len(), 1, "{}", reply.text);
    assert!(!keys.is_empty());
    for key in keys {
        let members = key.as_object().unwrap();
        let mut names: Vec<&str> = members.keys().map(String::as_str).collect();
        names.sort_unstable();
        assert_eq!(
            names,
            ["alg", "crv", "kid", "kty", "use", "x"],
            "{}",
            reply.text
        );
        assert!(
            members
                .values()
                .all(|v| v.as_str().is_some_and(|s| !s.is_empty())),
            "{}",
            reply.text
        );
        assert_eq!(key["kty"], "OKP");
        assert_eq!(key["crv"], "Ed25519");
    }
    // The set is the server's key ring: the key that signs its tokens, by kid and public key.
    let ring = KeyRing::new(stack.server.data_dir().join("keys"))
        .load()
        .expect("the server made its keys");
    let signing = ring
        .find(&ring.signing_kid)
        .expect("the signing key verifies");
    assert!(
        keys.iter()
            .any(|k| k["kid"] == signing.kid.as_str() && k["x"] == signing.x.as_str()),
        "the signing key {} is not in {}",
        signing.kid,
        reply.text
    );
}

/// What every RPC declares, read from the descriptors here rather than by the gateway's code:
/// `None` for public, else the roles.
fn declared() -> BTreeMap<String, Option<Vec<String>>> {
    let pool = causeway_gateway::contracts().unwrap();
    let option = pool
        .get_extension_by_name("causeway.auth.v1.access")
        .expect("the contracts define the access option");
    let mut declared = BTreeMap::new();
    for service in pool.services() {
        for rpc in service.methods() {
            let access = rpc.options().get_extension(&option).into_owned();
            let Reflected::Message(access) = access else {
                panic!("{} has no access message", rpc.full_name());
            };
            let public = access.get_field_by_name("public").unwrap().as_bool() == Some(true);
            let roles: Vec<String> = access
                .get_field_by_name("roles")
                .unwrap()
                .as_list()
                .unwrap()
                .iter()
                .map(|r| r.as_str().unwrap().to_owned())
                .collect();
            declared.insert(rpc.full_name().to_owned(), (!public).then_some(roles));
        }
    }
    declared
}

#[tokio::test(flavor = "multi_thread")]
async fn every_operations_security_and_roles_are_the_ones_its_rpc_declares() {
    let stack = Stack::start_secured().await;
    let doc = stack.http.get("/openapi.json", &[]).await.expect(200).json;
    let scheme = &doc["components"]["securitySchemes"]["bearerAuth"];
    assert_eq!(scheme["type"], "http");
    assert_eq!(scheme["scheme"], "bearer");
    assert_eq!(scheme["bearerFormat"], "JWT");

    let declared = declared();
    let mut seen = 0;
    let mut public = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let id = operation["operationId"].as_str().unwrap();
            let description = operation["description"].as_str().unwrap_or_default();
            if path == "/healthz" {
                assert_eq!(operation["security"], json!([]));
                continue;
            }
            let rpc = id.split('_').next().unwrap();
            let rule = declared
                .get(rpc)
                .unwrap_or_else(|| panic!("{id}: no such RPC"));
            seen += 1;
            match rule {
                None => {
                    assert_eq!(operation["security"], json!([]), "{method} {path}");
                    assert!(
                        description.contains("Access: public"),
                        "{id}: {description}"
                    );
                    public.push(rpc.to_owned());
                }
                Some(roles) => {
                    assert_eq!(
                        operation["security"],
                        json!([{"bearerAuth": []}]),
                        "{method} {path}"
                    );
                    assert!(!roles.is_empty(), "{id} declares no role");
                    for role in roles {
                        assert!(
                            description.contains(&format!("`{role}`")),
                            "{id}: {role} not in {description}"
                        );
                    }
                }
            }
            // Every operation documents the 401 challenge and the 403, from the one mapping.
            let challenge = &operation["responses"]["401"]["headers"]["WWW-Authenticate"];
            assert_eq!(challenge["required"], true, "{id}");
            assert!(operation["responses"]["403"].is_object(), "{id}");
            let retry = &operation["responses"]["429"]["headers"]["Retry-After"];
            assert_eq!(retry["required"], false, "{id}");
        }
    }
    public.sort();
    assert_eq!(
        public,
        [
            "causeway.auth.v1.TokenKeys.GetJwks",
            "causeway.identity.v1.Sessions.Login"
        ]
    );
    assert!(seen >= 20, "{seen} operations");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_authorization_header_that_is_not_text_is_refused_at_the_edge() {
    let stack = Stack::start_secured().await;
    // Bytes beyond ASCII are legal in an HTTP header, but no token.
    let reply = reqwest::Client::new()
        .get(format!("{}/v1/products/kettle", stack.gateway.url()))
        .header(
            "authorization",
            reqwest::header::HeaderValue::from_bytes(b"Bearer \xff\xfe").unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status().as_u16(), 401);
    let challenge = reply.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    let body: Value = serde_json::from_str(&reply.text().await.unwrap()).unwrap();
    assert_eq!(body["error"]["status"], "UNAUTHENTICATED");
}
