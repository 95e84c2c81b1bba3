//! Bearer tokens for the auth tests: good ones minted with a server's own signing keys (the
//! ones in its data directory, which it trusts), and bad ones forged on purpose: wrong
//! algorithm, unsigned, tampered, expired, for another issuer or audience, signed by a key the
//! server has never published.
//!
//! Everything here is built with the same JWT library the server verifies with, except the
//! forgeries no library would make (`alg: none`, a payload swapped under a signature), which
//! are put together by hand from their base64url parts.

use std::{
    path::Path,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use causeway_proto::auth::{GetJwksRequest, token_keys_client::TokenKeysClient};
use causeway_server::auth::{keys::KeyRing, tokens::TokenIssuer};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};
use tonic::{Request, metadata::MetadataValue};

use crate::TestServer;

/// The issuer and audience a server trusts for its own tokens by default.
pub const ISSUER: &str = "causeway";
/// See [`ISSUER`].
pub const AUDIENCE: &str = "causeway";
/// How long the good tokens minted here live.
pub const TTL: Duration = Duration::from_secs(15 * 60);

/// A server's own signing keys, read from its data directory (`<data-dir>/keys`): what the
/// server signs its tokens with and verifies them against.
#[derive(Debug, Clone)]
pub struct OwnKeys {
    ring: KeyRing,
    issuer: TokenIssuer,
}

impl OwnKeys {
    /// The keys of `server` (an all-roles or command-role server), once it serves: it creates
    /// its keys before it answers, so the test never races it to create the first one.
    pub async fn of_server(server: &TestServer) -> Self {
        let mut keys = TokenKeysClient::new(server.channel().await);
        keys.get_jwks(GetJwksRequest {})
            .await
            .expect("the server answers GetJwks");
        Self::of(server.data_dir())
    }

    /// The keys of the server whose data directory is `data_dir` (created when it has none
    /// yet, exactly as the server itself would).
    pub fn of(data_dir: &Path) -> Self {
        let ring = KeyRing::new(data_dir.join("keys"));
        ring.load_or_create()
            .expect("the data directory's signing keys");
        let issuer = TokenIssuer::new(ring.clone(), ISSUER, AUDIENCE);
        Self { ring, issuer }
    }

    /// A valid token for `subject` with `roles`, as `causeway-server token` would mint it.
    pub fn token(&self, subject: &str, roles: &[&str]) -> String {
        self.token_for_tenant(subject, roles, None)
    }

    /// [`OwnKeys::token`] with a `tenant` claim.
    pub fn token_for_tenant(&self, subject: &str, roles: &[&str], tenant: Option<&str>) -> String {
        let roles = roles.iter().map(|r| (*r).to_owned()).collect();
        self.issuer
            .mint(subject, roles, tenant.map(str::to_owned), TTL)
            .expect("minting with the server's key")
            .token
    }

    /// The id of the key that signs now.
    pub fn kid(&self) -> String {
        self.ring.load().expect("signing keys").signing_kid
    }

    /// The current public key as the JWKS publishes it (the JWK's `x`, base64url).
    pub fn public_x(&self) -> String {
        let keys = self.ring.load().expect("signing keys");
        keys.find(&keys.signing_kid)
            .expect("the signing key verifies")
            .x
            .clone()
    }

    /// `claims` signed with the current key under its own `kid`: a token whose signature is
    /// good, so only its claims decide.
    pub fn sign(&self, claims: &Value) -> String {
        self.sign_as(&self.kid(), claims)
    }

    /// `claims` signed with the current key, but naming key `kid` in the header.
    pub fn sign_as(&self, kid: &str, claims: &Value) -> String {
        let keys = self.ring.load().expect("signing keys");
        signed(&keys.signing, Algorithm::EdDSA, kid, claims)
    }
}

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is past 1970");
    i64::try_from(since.as_secs()).expect("seconds fit")
}

/// The claims of a good token of Causeway's own issuer for `subject` with `roles`: valid from
/// now for [`TTL`]. Tests change one claim at a time.
pub fn claims(subject: &str, roles: &[&str]) -> Value {
    let now = now();
    json!({
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": subject,
        "iat": now,
        "nbf": now,
        "exp": now + i64::try_from(TTL.as_secs()).expect("ttl fits"),
        "roles": roles,
    })
}

/// `claims` signed by `key` with `algorithm`, naming `kid`.
pub fn signed(key: &EncodingKey, algorithm: Algorithm, kid: &str, claims: &Value) -> String {
    let mut header = Header::new(algorithm);
    header.kid = Some(kid.to_owned());
    encode(&header, claims, key).expect("signing a test token")
}

/// An unsigned token: header `alg: none`, the claims, an empty signature.
pub fn unsigned(kid: &str, claims: &Value) -> String {
    let header = json!({"alg": "none", "typ": "JWT", "kid": kid});
    format!("{}.{}.", segment(&header), segment(claims))
}

/// `token` with its payload replaced by `claims` and its header and signature kept: what an
/// attacker who edits a token's roles sends.
pub fn tampered(token: &str, claims: &Value) -> String {
    let mut parts = token.split('.');
    let (Some(header), Some(_), Some(signature)) = (parts.next(), parts.next(), parts.next())
    else {
        panic!("not a JWT: three dot-separated parts expected");
    };
    format!("{header}.{}.{signature}", segment(claims))
}

/// A JSON value as a JWT segment (base64url, no padding).
pub fn segment(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

/// Another key pair, never published by any server: its tokens verify nowhere.
pub fn foreign_key() -> EncodingKey {
    let dir = tempfile::tempdir().expect("temp dir");
    let ring = KeyRing::new(dir.path());
    ring.load_or_create().expect("a fresh key").signing
}

/// The `authorization` header value for `token`.
pub fn bearer(token: &str) -> MetadataValue<tonic::metadata::Ascii> {
    format!("Bearer {token}")
        .parse()
        .expect("a token is header-safe text")
}

/// `message` as a request carrying `token` (none when `None`).
pub fn authorized<T>(message: T, token: Option<&str>) -> Request<T> {
    let mut request = Request::new(message);
    if let Some(token) = token {
        request
            .metadata_mut()
            .insert("authorization", bearer(token));
    }
    request
}

/// The header of `token`, read without verifying it (a test looking at what a server minted).
pub fn header_of(token: &str) -> Value {
    part(token, 0)
}

/// The claims of `token`, read without verifying it.
pub fn claims_of(token: &str) -> Value {
    part(token, 1)
}

fn part(token: &str, n: usize) -> Value {
    let segment = token.split('.').nth(n).expect("a JWT has three parts");
    let bytes = URL_SAFE_NO_PAD.decode(segment).expect("base64url");
    serde_json::from_slice(&bytes).expect("a JSON segment")
}
