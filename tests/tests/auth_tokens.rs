//! Who is calling: every bad token is refused before anything happens, over gRPC
//! (`UNAUTHENTICATED`) and through the REST gateway (401), and nothing is written; and the
//! actor and tenant of what a good token does come from the token, never from headers.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use causeway_proto::{
    common::CommandOptions,
    inventory::{RegisterProductRequest, inventory_commands_client::InventoryCommandsClient},
};
use causeway_server::kernel::EventMetadata;
use causeway_tests::{
    TestServer, command_id,
    gateway::TestGateway,
    tokens::{OwnKeys, authorized, claims, foreign_key, now, segment, signed, tampered, unsigned},
};
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::json;
use tonic::Code;

/// One row of the table: what is wrong, and the `authorization` header that carries it.
struct BadToken {
    what: &'static str,
    authorization: Option<String>,
}

fn bearer(token: String) -> Option<String> {
    Some(format!("Bearer {token}"))
}

/// Every way a token can be bad. Each would otherwise be an admin's: if one got through, the
/// product it registers would be written.
fn bad_tokens(keys: &OwnKeys) -> Vec<BadToken> {
    let admin = || claims("ops", &["admin"]);
    let with = |change: serde_json::Value| {
        let mut claims = admin();
        for (name, value) in change.as_object().expect("an object of claims") {
            claims[name] = value.clone();
        }
        claims
    };
    let kid = keys.kid();
    let x = keys.public_x();
    let good = keys.sign(&admin());
    let (header, _) = good.split_once('.').expect("a JWT");
    let signature = good.rsplit('.').next().expect("a JWT");
    let now = now();
    vec![
        BadToken {
            what: "none",
            authorization: None,
        },
        BadToken {
            what: "malformed: not a JWT",
            authorization: bearer("not-a-jwt".into()),
        },
        BadToken {
            what: "malformed: another scheme",
            authorization: Some(format!("Basic {good}")),
        },
        BadToken {
            what: "malformed: two parts",
            authorization: bearer(format!("{header}.{}", segment(&admin()))),
        },
        BadToken {
            what: "bad base64 in the payload",
            authorization: bearer(format!("{header}.e30*&^%$.{signature}")),
        },
        BadToken {
            what: "bad base64 in the header",
            authorization: bearer(format!("@@@.{}.{signature}", segment(&admin()))),
        },
        BadToken {
            what: "alg: none",
            authorization: bearer(unsigned(&kid, &admin())),
        },
        BadToken {
            what: "HS256 keyed with the public key (JWK x)",
            authorization: bearer(signed(
                &EncodingKey::from_secret(x.as_bytes()).expect("an HMAC key"),
                Algorithm::HS256,
                &kid,
                &admin(),
            )),
        },
        BadToken {
            what: "HS256 keyed with the public key (raw bytes)",
            authorization: bearer(signed(
                &EncodingKey::from_secret(&URL_SAFE_NO_PAD.decode(&x).expect("x is base64url"))
                    .expect("an HMAC key"),
                Algorithm::HS256,
                &kid,
                &admin(),
            )),
        },
        BadToken {
            what: "unknown kid",
            authorization: bearer(keys.sign_as("no-such-key", &admin())),
        },
        BadToken {
            what: "no kid",
            authorization: bearer(keys.sign_as("", &admin())),
        },
        BadToken {
            what: "another issuer",
            authorization: bearer(keys.sign(&with(json!({"iss": "https://idp.elsewhere"})))),
        },
        BadToken {
            what: "another audience",
            authorization: bearer(keys.sign(&with(json!({"aud": "another-service"})))),
        },
        BadToken {
            what: "expired beyond the 30 s leeway",
            authorization: bearer(keys.sign(&with(
                json!({"iat": now - 3600, "nbf": now - 3600, "exp": now - 90}),
            ))),
        },
        BadToken {
            what: "nbf in the future beyond the leeway",
            authorization: bearer(keys.sign(&with(json!({"nbf": now + 300})))),
        },
        BadToken {
            what: "no exp",
            authorization: bearer(keys.sign(&{
                let mut claims = admin();
                claims.as_object_mut().expect("object").remove("exp");
                claims
            })),
        },
        BadToken {
            what: "tampered payload (a customer's token made admin)",
            authorization: bearer(tampered(&keys.token("ops", &["customer"]), &admin())),
        },
        BadToken {
            what: "signed by a key not in the JWKS, naming a key that is",
            authorization: bearer(signed(&foreign_key(), Algorithm::EdDSA, &kid, &admin())),
        },
    ]
}

fn register(sku: &str) -> RegisterProductRequest {
    RegisterProductRequest {
        options: Some(CommandOptions {
            command_id: command_id(),
            ..CommandOptions::default()
        }),
        sku: sku.into(),
        name: "Kettle".into(),
    }
}

/// The store's head position: it moves with every event written.
async fn head(server: &TestServer) -> Option<u64> {
    server
        .event_store()
        .head_position()
        .await
        .expect("the store answers")
}

#[tokio::test(flavor = "multi_thread")]
async fn every_bad_token_is_unauthenticated_over_grpc_and_nothing_is_written() {
    let server = TestServer::start_secured().await;
    let keys = OwnKeys::of_server(&server).await;
    let mut client = InventoryCommandsClient::new(server.channel().await);
    let before = head(&server).await;
    for (n, bad) in bad_tokens(&keys).into_iter().enumerate() {
        let mut request = tonic::Request::new(register(&format!("bad-{n}")));
        if let Some(value) = &bad.authorization {
            request
                .metadata_mut()
                .insert("authorization", value.parse().expect("header text"));
        }
        let status = client.register_product(request).await.expect_err(bad.what);
        assert_eq!(
            status.code(),
            Code::Unauthenticated,
            "{}: {status:?}",
            bad.what
        );
        let credentials = bad.authorization.as_deref().and_then(|v| v.split_once(' '));
        if let Some((_, token)) = credentials {
            assert!(
                !status.message().contains(token),
                "{}: the refusal repeats the token",
                bad.what
            );
        }
    }
    assert_eq!(head(&server).await, before, "a refused call wrote an event");

    // The same request with a good token does write: the refusals above were the tokens'.
    let good = keys.token("ops", &["admin"]);
    client
        .register_product(authorized(register("good"), Some(&good)))
        .await
        .expect("a good token is accepted");
    assert_ne!(head(&server).await, before);
}

#[tokio::test(flavor = "multi_thread")]
async fn every_bad_token_is_401_over_rest_and_nothing_is_written() {
    let server = TestServer::start_secured().await;
    let keys = OwnKeys::of_server(&server).await;
    let gateway = TestGateway::start(&server).await;
    let http = reqwest::Client::new();
    let post = |sku: String, authorization: Option<String>| {
        let mut request = http
            .post(gateway.at("/v1/products"))
            .header("content-type", "application/json")
            .header("idempotency-key", command_id())
            .body(json!({"sku": sku, "name": "Kettle"}).to_string());
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        request.send()
    };
    let before = head(&server).await;
    for (n, bad) in bad_tokens(&keys).into_iter().enumerate() {
        let response = post(format!("bad-{n}"), bad.authorization)
            .await
            .expect("the gateway answers");
        let status = response.status();
        let body = response.text().await.expect("a body");
        assert_eq!(status, 401, "{}: {body}", bad.what);
        let body: serde_json::Value = serde_json::from_str(&body).expect("a JSON error body");
        assert_eq!(
            body["error"]["status"], "UNAUTHENTICATED",
            "{}: {body}",
            bad.what
        );
    }
    assert_eq!(head(&server).await, before, "a refused call wrote an event");

    let good = keys.token("ops", &["admin"]);
    let response = post("good".into(), Some(format!("Bearer {good}")))
        .await
        .expect("the gateway answers");
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    assert_ne!(head(&server).await, before);
    gateway.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_actor_and_tenant_are_the_tokens_and_client_headers_are_ignored() {
    let server = TestServer::start_secured().await;
    let keys = OwnKeys::of_server(&server).await;
    let mut client = InventoryCommandsClient::new(server.channel().await);

    let token = keys.token_for_tenant("clerk-7", &["inventory.staff"], Some("acme"));
    let mut request = authorized(register("kettle"), Some(&token));
    request
        .metadata_mut()
        .insert("x-actor", "mallory".parse().unwrap());
    request
        .metadata_mut()
        .insert("x-tenant-id", "evil-corp".parse().unwrap());
    client.register_product(request).await.expect("registered");

    // A token without a tenant records none, whatever the header says.
    let untenanted = keys.token("clerk-8", &["inventory.staff"]);
    let mut request = authorized(register("teapot"), Some(&untenanted));
    request
        .metadata_mut()
        .insert("x-tenant-id", "evil-corp".parse().unwrap());
    client.register_product(request).await.expect("registered");

    let store = server.event_store();
    for (stream, actor, tenant) in [
        ("product-kettle", "clerk-7", Some("acme")),
        ("product-teapot", "clerk-8", None),
    ] {
        let events = store.read_stream(stream, 0).await.expect("read");
        assert_eq!(events.len(), 1, "{stream}");
        let metadata = EventMetadata::from_json(&events[0].metadata).expect("metadata");
        assert_eq!(metadata.actor.as_deref(), Some(actor), "{stream}");
        assert_eq!(metadata.tenant.as_deref(), tenant, "{stream}");
    }
}
