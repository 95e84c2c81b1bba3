//! Causeway as an issuer: the claims of its access tokens, and minting them with the current
//! signing key (for `Sessions/Login` and the offline `causeway-server token` command).

use std::time::Duration;

use jsonwebtoken::{Header, encode};
use serde::{Deserialize, Serialize};

use super::keys::{ALGORITHM, KeyError, KeyRing, unix_now};

/// Longest lifetime a token may be minted with; rotated-out keys verify at least this long.
pub const MAX_TTL: Duration = Duration::from_secs(24 * 3600);

/// The claims Causeway puts in a token, and reads from any issuer's token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Issuer.
    pub iss: String,
    /// Subject: who the token speaks for.
    pub sub: String,
    /// Audience.
    pub aud: String,
    /// Expiry, Unix seconds.
    pub exp: u64,
    /// Not before, Unix seconds.
    pub nbf: u64,
    /// Issued at, Unix seconds.
    pub iat: u64,
    /// Roles granted.
    #[serde(default)]
    pub roles: Vec<String>,
    /// Tenant, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// This token's own id: two tokens are never the same bytes, and one can be named in an
    /// audit.
    #[serde(default)]
    pub jti: String,
}

/// Why a token could not be minted.
#[derive(Debug, thiserror::Error)]
pub enum MintError {
    /// The signing key could not be read.
    #[error(transparent)]
    Keys(#[from] KeyError),
    /// The lifetime is zero or beyond [`MAX_TTL`].
    #[error("a token lives between 1 second and {} hours", MAX_TTL.as_secs() / 3600)]
    Lifetime,
    /// Signing failed.
    #[error("signing failed: {0}")]
    Signing(String),
}

/// Mints tokens as Causeway's issuer.
#[derive(Debug, Clone)]
pub struct TokenIssuer {
    ring: KeyRing,
    issuer: String,
    audience: String,
}

/// A minted token and how long it lives.
#[derive(Clone)]
pub struct Minted {
    /// The JWT.
    pub token: String,
    /// Its lifetime.
    pub expires_in: Duration,
}

impl std::fmt::Debug for Minted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Minted")
            .field("token", &"[redacted]")
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

impl TokenIssuer {
    /// An issuer named `issuer` for `audience`, signing with `ring`'s current key.
    pub fn new(ring: KeyRing, issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        Self {
            ring,
            issuer: issuer.into(),
            audience: audience.into(),
        }
    }

    /// The issuer name (`iss`).
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The key ring it signs with.
    pub fn ring(&self) -> &KeyRing {
        &self.ring
    }

    /// A token for `subject` with `roles` (and `tenant`), valid for `ttl` from now. Reads the
    /// key ring each time, so a rotation takes effect at the next token.
    pub fn mint(
        &self,
        subject: &str,
        roles: Vec<String>,
        tenant: Option<String>,
        ttl: Duration,
    ) -> Result<Minted, MintError> {
        if ttl.is_zero() || ttl > MAX_TTL {
            return Err(MintError::Lifetime);
        }
        let keys = self.ring.load_or_create()?;
        let now = unix_now();
        let claims = Claims {
            iss: self.issuer.clone(),
            sub: subject.to_owned(),
            aud: self.audience.clone(),
            exp: now + ttl.as_secs(),
            nbf: now,
            iat: now,
            roles,
            tenant,
            jti: uuid::Uuid::new_v4().simple().to_string(),
        };
        let mut header = Header::new(ALGORITHM);
        header.kid = Some(keys.signing_kid.clone());
        let token = encode(&header, &claims, &keys.signing)
            .map_err(|e| MintError::Signing(e.to_string()))?;
        Ok(Minted {
            token,
            expires_in: ttl,
        })
    }
}
