//! Verifying a bearer token: which issuer it claims, that issuer's key for its `kid`, the
//! signature under the one algorithm that key is for (EdDSA, ES256 or RS256; never `none`,
//! never HMAC), then `exp`/`nbf` with a small leeway, `iss` and `aud`. The result is the
//! [`Principal`]; every failure is an [`AuthError`] whose text tells the caller what to fix
//! without repeating the token. A token that verified is remembered for a short while
//! ([`VerifiedTokens`]), so the same token on the next call is not checked again.

use std::{collections::BTreeSet, sync::Arc, time::Duration};

use jsonwebtoken::{Algorithm, Validation, decode, decode_header, errors::ErrorKind};
use serde::Deserialize;
use serde_json::Value;

use super::{jwks::KeyCache, keys::unix_now, principal::Principal, verified::VerifiedTokens};

/// Seconds of clock skew tolerated on `exp` and `nbf`.
pub const LEEWAY_SECS: u64 = 30;

/// The only algorithms a token may be signed with.
const ALLOWED: [Algorithm; 3] = [Algorithm::EdDSA, Algorithm::ES256, Algorithm::RS256];

/// Why a bearer token was refused; the edge answers UNAUTHENTICATED with this text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No `authorization: Bearer …` header on an RPC that needs one.
    #[error("this RPC needs a bearer token (authorization: Bearer <token>)")]
    Missing,
    /// Not a JWT, or not readable.
    #[error("the bearer token is malformed")]
    Malformed,
    /// Signed with an algorithm Causeway does not accept, or one its key is not for.
    #[error("the bearer token's algorithm is not accepted (EdDSA, ES256 or RS256 only)")]
    Algorithm,
    /// No `kid` in the header.
    #[error("the bearer token names no signing key (kid)")]
    NoKeyId,
    /// `iss` names no trusted issuer.
    #[error("the bearer token's issuer is not trusted")]
    UnknownIssuer,
    /// The issuer has no key with that `kid`.
    #[error("the bearer token's signing key is unknown")]
    UnknownKey,
    /// The signature does not verify.
    #[error("the bearer token's signature is invalid")]
    Signature,
    /// Past `exp`.
    #[error("the bearer token has expired")]
    Expired,
    /// Before `nbf`.
    #[error("the bearer token is not valid yet")]
    NotYetValid,
    /// `aud` is not this service.
    #[error("the bearer token is for another audience")]
    Audience,
    /// A required claim is missing or of the wrong type.
    #[error("the bearer token lacks a required claim ({0})")]
    Claim(String),
    /// The subject's account was disabled after the token was issued.
    #[error("the bearer token's user is disabled")]
    Disabled,
}

/// One issuer a verifier trusts.
pub struct Trust {
    /// Its `iss`.
    pub issuer: String,
    /// Accepted `aud` values (any one).
    pub audiences: Vec<String>,
    /// Its keys.
    pub keys: Arc<KeyCache>,
    /// Dotted path of the claim holding roles (`roles`; e.g. `realm_access.roles`).
    pub roles_claim: String,
}

/// Verifies bearer tokens from the trusted issuers.
pub struct Verifier {
    trusted: Vec<Trust>,
    verified: VerifiedTokens,
}

#[derive(Deserialize)]
struct Peek {
    iss: Option<String>,
}

impl Verifier {
    /// A verifier for `trusted` issuers.
    pub fn new(trusted: Vec<Trust>) -> Self {
        Self {
            trusted,
            verified: VerifiedTokens::default(),
        }
    }

    /// Fetches every issuer's keys once.
    pub async fn prime(&self) {
        for trust in &self.trusted {
            trust.keys.prime().await;
        }
    }

    /// The principal `token` proves, or why it proves nothing.
    pub async fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        if let Some(principal) = self.verified.get(token) {
            return Ok(principal);
        }
        let header = decode_header(token).map_err(|_| AuthError::Malformed)?;
        if !ALLOWED.contains(&header.alg) {
            return Err(AuthError::Algorithm);
        }
        let kid = header.kid.ok_or(AuthError::NoKeyId)?;
        let peek: Peek = jsonwebtoken::dangerous::insecure_decode_claims(token)
            .map_err(|_| AuthError::Malformed)?;
        let issuer = peek.iss.ok_or_else(|| AuthError::Claim("iss".into()))?;
        let trust = self
            .trusted
            .iter()
            .find(|t| t.issuer == issuer)
            .ok_or(AuthError::UnknownIssuer)?;
        let key = trust.keys.find(&kid).await.ok_or(AuthError::UnknownKey)?;
        if key.algorithm != header.alg {
            return Err(AuthError::Algorithm);
        }
        let mut validation = Validation::new(key.algorithm);
        validation.leeway = LEEWAY_SECS;
        validation.validate_nbf = true;
        validation.set_issuer(&[&trust.issuer]);
        validation.set_audience(&trust.audiences);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let data = decode::<Value>(token, &key.key, &validation).map_err(classify)?;
        let principal = principal(&data.claims, trust)?;
        if let Some(exp) = data.claims.get("exp").and_then(Value::as_u64) {
            let left = Duration::from_secs(exp.saturating_sub(unix_now()));
            self.verified.insert(token, principal.clone(), left);
        }
        Ok(principal)
    }
}

fn classify(error: jsonwebtoken::errors::Error) -> AuthError {
    match error.kind() {
        ErrorKind::InvalidSignature => AuthError::Signature,
        ErrorKind::ExpiredSignature => AuthError::Expired,
        ErrorKind::ImmatureSignature => AuthError::NotYetValid,
        ErrorKind::InvalidAudience => AuthError::Audience,
        ErrorKind::InvalidIssuer => AuthError::UnknownIssuer,
        ErrorKind::InvalidAlgorithm | ErrorKind::MissingAlgorithm => AuthError::Algorithm,
        ErrorKind::MissingRequiredClaim(claim) | ErrorKind::InvalidClaimFormat(claim) => {
            AuthError::Claim(claim.clone())
        }
        _ => AuthError::Malformed,
    }
}

/// The principal in verified `claims`.
fn principal(claims: &Value, trust: &Trust) -> Result<Principal, AuthError> {
    let subject = claims
        .get("sub")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| AuthError::Claim("sub".into()))?;
    let roles = trust
        .roles_claim
        .split('.')
        .try_fold(claims, |value, key| value.get(key))
        .map(roles_in)
        .unwrap_or_default();
    let tenant = claims
        .get("tenant")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .map(str::to_owned);
    Ok(Principal {
        subject: subject.to_owned(),
        roles,
        tenant,
        issuer: trust.issuer.clone(),
    })
}

/// Roles as a JSON array of strings, or one space-separated string (OAuth2 `scope` style).
fn roles_in(value: &Value) -> BTreeSet<String> {
    match value {
        Value::Array(items) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        Value::String(text) => text.split_whitespace().map(str::to_owned).collect(),
        _ => BTreeSet::new(),
    }
}

#[cfg(test)]
mod tests;
