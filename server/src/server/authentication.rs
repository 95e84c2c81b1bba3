//! How a process authenticates callers: with tokens (its signing keys created or loaded at
//! start, and disabled users followed in the background), or, when told to, not at all.

use std::sync::Arc;

use tokio::task::JoinSet;
use tracing::warn;

use super::ServerError;
use crate::{
    auth::{Auth, Authentication},
    identity::revocations::DisabledUsers,
    query::ReadModel,
};

/// How this process authenticates: with tokens (its keys created or loaded now, and disabled
/// users followed in the background), or not at all, loudly.
pub(super) async fn authentication(
    auth: &Auth,
    users: Option<ReadModel>,
    background: &mut JoinSet<()>,
) -> Result<Authentication, ServerError> {
    let Some(verifier) = auth.verifier.clone() else {
        warn!(
            "authentication is DISABLED (--auth disabled): every caller may do anything; \
             use this for local experiments only"
        );
        return Ok(Authentication::Disabled);
    };
    let ring = auth.issuer.ring().clone();
    tokio::task::spawn_blocking(move || ring.load_or_create())
        .await
        .map_err(|e| ServerError::Keys(e.to_string()))?
        .map_err(|e| ServerError::Keys(e.to_string()))?;
    verifier.prime().await;
    let disabled = DisabledUsers::default();
    if let Some(users) = users {
        background.spawn(disabled.clone().follow(users));
    }
    Ok(Authentication::Tokens {
        verifier,
        revocations: Arc::new(disabled),
    })
}
