//! Who is calling and what they may do. Secure by default: every RPC needs a verified bearer
//! token unless its contract declares it public; `--auth disabled` switches checking off for
//! local experiments only.
//!
//! Layout:
//! - `principal`: `Caller` and `Principal`, what the edge knows about a caller.
//! - `keys`: Causeway's own Ed25519 signing keys, rotation with a grace period.
//! - `tokens`: the claims Causeway issues, minting them (login, the `token` command).
//! - `jwks`: cached verification keys per issuer (own ring, JWKS file or URL).
//! - `verify`: checking a bearer token into a `Principal`; `AuthError`.
//! - `verified`: tokens already verified, remembered for a short while.
//! - `access`: every RPC's access rule from the contracts' `(causeway.auth.v1.access)` option.
//! - `certificates`: client certificate identities an operator gave roles, as principals.
//! - `limits`: calls per principal (token buckets per role class), as a tower layer.
//! - `layer`: the authentication and authorization tower layers.
//! - `keys_service`: `causeway.auth.v1.TokenKeys`, the public JWKS.

pub mod access;
pub mod certificates;
pub mod jwks;
pub mod keys;
pub mod keys_service;
pub mod layer;
pub mod limits;
pub mod principal;
pub mod tokens;
pub mod verified;
pub mod verify;

use std::{sync::Arc, time::Duration};

pub use access::{AccessTable, Rule};
pub use layer::{Authentication, AuthenticationLayer, AuthorizationLayer, Refusals, Revocations};
pub use principal::{Caller, Principal};
pub use verify::{AuthError, Verifier};

use crate::config::{AuthMode, Config};
use jwks::{KeyCache, KeySource, Refresh};
use keys::KeyRing;
use tokens::TokenIssuer;
use verify::Trust;

/// How often Causeway's own key ring is re-read at most, and when it is read again anyway (a
/// rotation by another process is seen within `max_age`).
const RING_REFRESH: Refresh = Refresh {
    min_interval: Duration::from_secs(1),
    max_age: Duration::from_secs(30),
};
/// The same for an external issuer's JWKS: at most one fetch per 30 s, and a fetch when the
/// cache is an hour old.
const JWKS_REFRESH: Refresh = Refresh {
    min_interval: Duration::from_secs(30),
    max_age: Duration::from_secs(3600),
};

/// The auth parts of one process, built from its configuration.
pub struct Auth {
    /// Whether and how callers are authenticated.
    pub mode: AuthMode,
    /// The verifier (absent when authentication is disabled).
    pub verifier: Option<Arc<Verifier>>,
    /// Causeway as an issuer: login and the `token` command sign with it.
    pub issuer: TokenIssuer,
}

impl Auth {
    /// The issuers `config` trusts: Causeway's own (its key ring) and, when configured, one
    /// external OpenID/OAuth2 issuer.
    pub fn from_config(config: &Config) -> Self {
        let ring = KeyRing::new(config.keys_dir());
        let issuer = TokenIssuer::new(ring.clone(), &config.token_issuer, &config.token_audience);
        let verifier = (config.auth == AuthMode::Enabled).then(|| {
            let mut trusted = vec![Trust {
                issuer: config.token_issuer.clone(),
                audiences: vec![config.token_audience.clone()],
                keys: Arc::new(KeyCache::new(KeySource::Ring(ring), RING_REFRESH)),
                roles_claim: "roles".to_owned(),
            }];
            if let (Some(external), Some(source)) = (&config.auth_issuer, config.jwks_source()) {
                trusted.push(Trust {
                    issuer: external.clone(),
                    audiences: config.auth_audience.iter().cloned().collect(),
                    keys: Arc::new(KeyCache::new(source, JWKS_REFRESH)),
                    roles_claim: config.auth_roles_claim.clone(),
                });
            }
            Arc::new(Verifier::new(trusted))
        });
        Self {
            mode: config.auth,
            verifier,
            issuer,
        }
    }
}
