//! Tokens of an external OpenID/OAuth2 issuer, minted outside Rust by PyJWT with
//! `cryptography` (as any identity provider's would be): accepted with their roles when the
//! provider's JWKS comes from a file or a URL, refused when their audience is wrong; the JWKS
//! is cached, fetched again for an unknown key id at most once per minimum interval, and a
//! provider that is down does not stop the tokens its cached keys verify.

use std::{
    path::Path,
    time::{Duration, Instant},
};

use causeway_proto::{
    common::CommandOptions,
    inventory::{
        GetProductRequest, RegisterProductRequest,
        inventory_commands_client::InventoryCommandsClient,
        inventory_queries_client::InventoryQueriesClient,
    },
};
use causeway_server::{
    auth::jwks::{KeyCache, KeySource, Refresh},
    config::Config,
    kernel::EventMetadata,
};
use causeway_tests::{
    TestServer, command_id,
    external_issuer::ProviderKey,
    jwks_host::{JwksHost, jwks},
    tokens::{OwnKeys, authorized, now},
};
use serde_json::{Value, json};
use tonic::{Code, transport::Channel};

const ISSUER: &str = "https://idp.example.test/realms/platform";
const AUDIENCE: &str = "causeway-api";

/// The provider's claims for `subject` with `roles` under `roles_at` (a top-level claim, or
/// Keycloak's `realm_access.roles`).
fn provider_claims(subject: &str, roles: &[&str], nested: bool) -> Value {
    let now = now();
    let mut claims = json!({
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": subject,
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "scope": "openid profile",
    });
    if nested {
        claims["realm_access"] = json!({ "roles": roles });
    } else {
        claims["roles"] = json!(roles);
    }
    claims
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

/// Registers `sku` as `token`'s holder: `Ok` or the status code.
async fn register_as(channel: &Channel, token: &str, sku: &str) -> Result<(), Code> {
    InventoryCommandsClient::new(channel.clone())
        .register_product(authorized(register(sku), Some(token)))
        .await
        .map(|_| ())
        .map_err(|status| status.code())
}

/// A secured server that also trusts the provider, whose JWKS `source` names.
async fn server_trusting(source: KeySource, roles_claim: &str) -> TestServer {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let mut config = Config::with_data_dir(data_dir.path());
    config.auth_issuer = Some(ISSUER.into());
    config.auth_audience = Some(AUDIENCE.into());
    config.auth_roles_claim = roles_claim.into();
    match source {
        KeySource::File(path) => config.auth_jwks_file = Some(path),
        KeySource::Url(url) => config.auth_jwks_url = Some(url.to_string()),
        KeySource::Ring(_) => unreachable!("the provider is not Causeway"),
    }
    config.validate().expect("a complete external issuer");
    TestServer::start_with(config, data_dir).await
}

fn keys(dir: &Path) -> [ProviderKey; 3] {
    [
        ProviderKey::generate(dir, "ES256", "es-1"),
        ProviderKey::generate(dir, "RS256", "rs-1"),
        ProviderKey::generate(dir, "EdDSA", "ed-1"),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn tokens_minted_by_pyjwt_are_accepted_with_their_roles_from_a_jwks_file() {
    let provider = tempfile::tempdir().expect("temp dir");
    let keys = keys(provider.path());
    let file = provider.path().join("jwks.json");
    let published: Vec<Value> = keys.iter().map(|k| k.jwk.clone()).collect();
    std::fs::write(&file, jwks(&published)).expect("write the JWKS");
    let server = server_trusting(KeySource::File(file), "roles").await;
    let own = OwnKeys::of_server(&server).await;
    let channel = server.channel().await;

    for key in &keys {
        let sku = format!("kettle-{}", key.kid);
        let staff = key.mint(&provider_claims(
            &format!("ext-{}", key.kid),
            &["inventory.staff"],
            false,
        ));
        assert_eq!(
            register_as(&channel, &staff, &sku).await,
            Ok(()),
            "{}",
            key.algorithm
        );
        let events = server
            .event_store()
            .read_stream(&format!("product-{sku}"), 0)
            .await
            .expect("read");
        let metadata = EventMetadata::from_json(&events[0].metadata).expect("metadata");
        assert_eq!(metadata.actor, Some(format!("ext-{}", key.kid)));

        // The roles are the token's: a customer may read products but not register them.
        let customer = key.mint(&provider_claims("ext-customer", &["customer"], false));
        assert_eq!(
            register_as(&channel, &customer, "teapot").await,
            Err(Code::PermissionDenied),
            "{}",
            key.algorithm
        );
        let read = InventoryQueriesClient::new(channel.clone())
            .get_product(authorized(
                GetProductRequest {
                    sku: "teapot".into(),
                    consistency: None,
                    ..Default::default()
                },
                Some(&customer),
            ))
            .await
            .expect_err("no such product");
        assert_eq!(read.code(), Code::NotFound, "let through to the query");

        // The provider's token for another audience, or claiming Causeway's own issuer.
        let mut elsewhere = provider_claims("ext-1", &["admin"], false);
        elsewhere["aud"] = json!("another-api");
        let refused = register_as(&channel, &key.mint(&elsewhere), "mug").await;
        assert_eq!(refused, Err(Code::Unauthenticated), "{}", key.algorithm);
        let mut impostor = provider_claims("ext-1", &["admin"], false);
        impostor["iss"] = json!("causeway");
        impostor["aud"] = json!("causeway");
        let refused = register_as(&channel, &key.mint(&impostor), "mug").await;
        assert_eq!(refused, Err(Code::Unauthenticated), "{}", key.algorithm);
    }
    // Causeway's own tokens keep working beside the provider's.
    let admin = own.token("ops", &["admin"]);
    assert_eq!(register_as(&channel, &admin, "mug").await, Ok(()));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_jwks_url_is_fetched_once_cached_and_outlives_its_provider() {
    let provider = tempfile::tempdir().expect("temp dir");
    let known = ProviderKey::generate(provider.path(), "ES256", "es-1");
    let unpublished = ProviderKey::generate(provider.path(), "ES256", "es-2");
    let host = JwksHost::start(jwks(std::slice::from_ref(&known.jwk))).await;
    let started = Instant::now();
    let url = host.url.parse().expect("the host's url");
    let server = server_trusting(KeySource::Url(url), "realm_access.roles").await;
    OwnKeys::of_server(&server).await;
    let channel = server.channel().await;
    assert_eq!(host.requests(), 1, "fetched once at start");

    let staff = known.mint(&provider_claims("ext-1", &["inventory.staff"], true));
    for n in 0..5 {
        let sku = format!("kettle-{n}");
        assert_eq!(register_as(&channel, &staff, &sku).await, Ok(()));
    }
    assert_eq!(host.requests(), 1, "known keys come from the cache");

    // A flood of tokens naming a key the provider never published.
    let forged = unpublished.mint_as("es-unknown", &provider_claims("ext-1", &["admin"], true));
    for _ in 0..25 {
        let refused = register_as(&channel, &forged, "mug").await;
        assert_eq!(refused, Err(Code::Unauthenticated));
    }
    // At most one fetch per 30 s minimum interval since the server started.
    let intervals = started.elapsed().as_secs() / 30;
    let allowed = 1 + usize::try_from(intervals).expect("fits");
    assert!(
        host.requests() <= allowed,
        "{} fetches in {:?}",
        host.requests(),
        started.elapsed()
    );

    // Tokens minted now (never seen by the server) verify with the cached key while the
    // provider is down.
    host.stop().await;
    let fresh = known.mint(&provider_claims("ext-2", &["inventory.staff"], true));
    assert_eq!(
        register_as(&channel, &fresh, "kettle-after").await,
        Ok(()),
        "the cached key verifies while the provider is down"
    );
    let refused = register_as(&channel, &forged, "mug").await;
    assert_eq!(refused, Err(Code::Unauthenticated));
    let last = known.mint(&provider_claims("ext-3", &["inventory.staff"], true));
    assert_eq!(register_as(&channel, &last, "kettle-last").await, Ok(()));
}

/// Polls `find(kid)` until it holds a key (bounded): each poll within the minimum interval
/// answers from the cache, the first after it fetches.
async fn until_found(cache: &KeyCache, kid: &str, within: Duration) {
    let deadline = Instant::now() + within;
    while cache.find(kid).await.is_none() {
        assert!(Instant::now() < deadline, "{kid} never appeared");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_kid_fetches_again_once_per_minimum_interval() {
    let provider = tempfile::tempdir().expect("temp dir");
    let first = ProviderKey::generate(provider.path(), "RS256", "rs-1");
    let next = ProviderKey::generate(provider.path(), "RS256", "rs-2");
    let host = JwksHost::start(jwks(std::slice::from_ref(&first.jwk))).await;
    let interval = Duration::from_millis(400);
    let refresh = Refresh {
        min_interval: interval,
        max_age: Duration::from_secs(3600),
    };
    let cache = KeyCache::new(KeySource::Url(host.url.parse().expect("url")), refresh);
    let primed = Instant::now();
    cache.prime().await;
    assert_eq!(host.requests(), 1);
    assert!(cache.find("rs-1").await.is_some());

    // The provider rotates: its new key appears after at most one interval, with one fetch
    // however many lookups asked for it meanwhile.
    host.publish(jwks(&[first.jwk.clone(), next.jwk.clone()]));
    for _ in 0..50 {
        let _ = cache.find("rs-2").await;
    }
    let intervals = primed.elapsed().as_millis() / interval.as_millis();
    let allowed = 1 + usize::try_from(intervals).expect("fits");
    assert!(host.requests() <= allowed, "{} fetches", host.requests());
    until_found(&cache, "rs-2", Duration::from_secs(20)).await;
    let fetches = host.requests();
    assert!(fetches >= 2);
    for _ in 0..50 {
        assert!(cache.find("rs-1").await.is_some() && cache.find("rs-2").await.is_some());
    }
    assert_eq!(host.requests(), fetches, "known keys never fetch");

    // Down: asking for an unknown key for two intervals makes the cache try the stopped
    // endpoint at least once; the failed fetch keeps what was cached.
    host.stop().await;
    let down = Instant::now();
    while down.elapsed() < interval * 2 {
        assert!(cache.find("rs-3").await.is_none());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(cache.find("rs-1").await.is_some() && cache.find("rs-2").await.is_some());
}
