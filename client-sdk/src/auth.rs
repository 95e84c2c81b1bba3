//! Bearer tokens, asked for on every attempt of every call, so short-lived tokens (OAuth access
//! tokens, workload identities) are refreshed by whatever the caller's provider does, and a
//! retry after an expiry picks up the new one.

use std::{error::Error as StdError, fmt, future::Future, sync::Arc};

use futures::future::BoxFuture;
use tonic::metadata::{AsciiMetadataValue, MetadataValue};

use crate::Error;

/// The error a token callback returns: any error, boxed, so providers can use `?` on their own
/// error types.
pub type TokenError = Box<dyn StdError + Send + Sync + 'static>;

type Fetch = dyn Fn() -> BoxFuture<'static, Result<String, TokenError>> + Send + Sync;

/// Where the SDK gets the bearer token it sends as `authorization: Bearer <token>`. It is called
/// once per attempt, never cached by the SDK, so the provider decides how long a token lives.
///
/// ```
/// use std::sync::{Arc, atomic::{AtomicU32, Ordering}};
/// use causeway_client::TokenProvider;
///
/// // A token that never changes (an API key, a test token).
/// let fixed = TokenProvider::fixed("s3cr3t");
///
/// // A callback, e.g. reading a token file a sidecar keeps fresh; `?` works on any error.
/// let from_file = TokenProvider::from_fn(|| Ok(std::fs::read_to_string("/var/run/token")?));
///
/// // A callback that counts its refreshes.
/// let refreshes = Arc::new(AtomicU32::new(0));
/// let counted = refreshes.clone();
/// let callback = TokenProvider::from_fn(move || {
///     Ok(format!("token-{}", counted.fetch_add(1, Ordering::SeqCst)))
/// });
///
/// // An async fetch, e.g. from an identity provider.
/// let fetched = TokenProvider::from_async(|| async { Ok("from-the-idp".to_owned()) });
/// # let _ = (fixed, from_file, callback, fetched);
/// ```
#[derive(Clone)]
pub struct TokenProvider {
    fetch: Arc<Fetch>,
}

impl TokenProvider {
    /// Always the same token.
    pub fn fixed(token: impl Into<String>) -> Self {
        let token: String = token.into();
        Self::from_fn(move || Ok(token.clone()))
    }

    /// A synchronous callback, called before every attempt. Keep it cheap (read a cache or a
    /// file); use [`TokenProvider::from_async`] for network fetches.
    pub fn from_fn<F>(callback: F) -> Self
    where
        F: Fn() -> Result<String, TokenError> + Send + Sync + 'static,
    {
        Self {
            fetch: Arc::new(move || {
                let token = callback();
                Box::pin(async move { token })
            }),
        }
    }

    /// An asynchronous callback, awaited before every attempt (within the call's deadline).
    pub fn from_async<F, Fut>(callback: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<String, TokenError>> + Send + 'static,
    {
        Self {
            fetch: Arc::new(move || Box::pin(callback())),
        }
    }

    /// The `authorization` header value for one attempt. The token never appears in an error.
    pub(crate) async fn authorization(&self) -> Result<AsciiMetadataValue, Error> {
        let token = (self.fetch)().await.map_err(|e| Error::Token {
            message: e.to_string(),
        })?;
        let token = token.trim();
        if token.is_empty() {
            return Err(Error::Token {
                message: "the provider returned an empty token".to_owned(),
            });
        }
        let mut value =
            MetadataValue::try_from(format!("Bearer {token}")).map_err(|_| Error::Token {
                message: "the token is not a valid header value (visible ASCII only)".to_owned(),
            })?;
        value.set_sensitive(true);
        Ok(value)
    }
}

impl fmt::Debug for TokenProvider {
    /// Never prints a token.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenProvider(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn builds_a_sensitive_bearer_header_and_rejects_bad_tokens() {
        let value = TokenProvider::fixed("abc").authorization().await.unwrap();
        assert_eq!(value.to_str().unwrap(), "Bearer abc");
        assert!(value.is_sensitive());

        let bad = TokenProvider::fixed("line\nbreak").authorization().await;
        assert!(
            matches!(&bad, Err(Error::Token { message }) if !message.contains("line")),
            "{bad:?}"
        );
        let empty = TokenProvider::fixed("  ").authorization().await;
        assert!(matches!(empty, Err(Error::Token { .. })));
        let failing = TokenProvider::from_fn(|| Err("idp down".into()))
            .authorization()
            .await;
        assert!(matches!(failing, Err(Error::Token { message }) if message == "idp down"));
        assert_eq!(
            format!("{:?}", TokenProvider::fixed("abc")),
            "TokenProvider(..)"
        );
    }
}
