//! The verifier against tokens made the ways an attacker or a broken client would make them.

use std::sync::Arc;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{EncodingKey, Header, encode};

use super::*;
use crate::auth::{
    jwks::{KeySource, Refresh},
    keys::{KeyRing, unix_now},
    tokens::TokenIssuer,
};

const REFRESH: Refresh = Refresh {
    min_interval: std::time::Duration::ZERO,
    max_age: std::time::Duration::from_secs(60),
};

struct Setup {
    _dir: tempfile::TempDir,
    issuer: TokenIssuer,
    verifier: Verifier,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let ring = KeyRing::new(dir.path());
    ring.load_or_create().unwrap();
    let issuer = TokenIssuer::new(ring.clone(), "causeway", "causeway");
    let verifier = Verifier::new(vec![Trust {
        issuer: "causeway".into(),
        audiences: vec!["causeway".into()],
        keys: Arc::new(KeyCache::new(KeySource::Ring(ring), REFRESH)),
        roles_claim: "roles".into(),
    }]);
    Setup {
        _dir: dir,
        issuer,
        verifier,
    }
}

fn mint(setup: &Setup) -> String {
    setup
        .issuer
        .mint(
            "user-1",
            vec!["customer".into()],
            Some("acme".into()),
            std::time::Duration::from_secs(60),
        )
        .unwrap()
        .token
}

#[tokio::test]
async fn a_token_causeway_minted_proves_its_subject_roles_and_tenant() {
    let setup = setup();
    let principal = setup.verifier.verify(&mint(&setup)).await.unwrap();
    assert_eq!(principal.subject, "user-1");
    assert!(principal.roles.contains("customer"));
    assert_eq!(principal.tenant.as_deref(), Some("acme"));
    assert_eq!(principal.issuer, "causeway");
}

#[tokio::test]
async fn forged_and_broken_tokens_are_refused_each_with_its_reason() {
    let setup = setup();
    let good = mint(&setup);
    let parts: Vec<&str> = good.split('.').collect();
    let header = |json: &str| URL_SAFE_NO_PAD.encode(json);
    let kid = jsonwebtoken::decode_header(&good).unwrap().kid.unwrap();
    let claims = |extra: &str| {
        let now = unix_now();
        URL_SAFE_NO_PAD.encode(format!(
            r#"{{"iss":"causeway","aud":"causeway","sub":"u","exp":{},"nbf":{}{extra}}}"#,
            now + 60,
            now
        ))
    };
    let none = format!("{}.{}.", header(r#"{"alg":"none"}"#), claims(""));
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        claims(r#","roles":["admin"]"#),
        parts[2]
    );
    // HS256 keyed with the public key: the classic algorithm confusion.
    let keys = setup.issuer.ring().load().unwrap();
    let public = URL_SAFE_NO_PAD.decode(&keys.verifying[0].x).unwrap();
    let mut hs = Header::new(jsonwebtoken::Algorithm::HS256);
    hs.kid = Some(kid.clone());
    let confused: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(claims("")).unwrap()).unwrap();
    let confused = encode(&hs, &confused, &EncodingKey::from_secret(&public).unwrap()).unwrap();
    let cases = [
        ("", AuthError::Malformed),
        ("not-a-jwt", AuthError::Malformed),
        ("a!b.c!d.e", AuthError::Malformed),
        (none.as_str(), AuthError::Malformed),
        (confused.as_str(), AuthError::Algorithm),
        (tampered.as_str(), AuthError::Signature),
    ];
    for (token, expected) in cases {
        assert_eq!(
            setup.verifier.verify(token).await.unwrap_err(),
            expected,
            "{token}"
        );
    }
}

#[tokio::test]
async fn a_verified_token_is_remembered_and_a_changed_one_is_checked_again() {
    let setup = setup();
    let good = mint(&setup);
    let first = setup.verifier.verify(&good).await.unwrap();
    assert_eq!(setup.verifier.verify(&good).await.unwrap(), first);
    // The same signature under other claims is a different text: checked, and refused.
    let parts: Vec<&str> = good.split('.').collect();
    let now = unix_now();
    let claims = URL_SAFE_NO_PAD.encode(format!(
        r#"{{"iss":"causeway","aud":"causeway","sub":"user-1","exp":{},"nbf":{now},"roles":["admin"]}}"#,
        now + 60
    ));
    let tampered = format!("{}.{claims}.{}", parts[0], parts[2]);
    assert_eq!(
        setup.verifier.verify(&tampered).await.unwrap_err(),
        AuthError::Signature
    );
}
