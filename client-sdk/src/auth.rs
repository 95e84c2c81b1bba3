//! Bearer tokens, asked for on every attempt of every call, so short-lived tokens (OAuth access
//! tokens, workload identities) are refreshed by whatever the caller's provider does, and a
//! retry after an expiry picks up the new one. [`TokenProvider::login`] is the provider for
//! Causeway's own users: it signs in and keeps the token fresh (`login`).

use std::{error::Error as StdError, fmt, future::Future, sync::Arc};

use futures::future::BoxFuture;
use tonic::metadata::{AsciiMetadataValue, MetadataValue};

use crate::{
    Client, Error,
    login::{AccessToken, Login, Password},
};

/// The error a token callback returns: any error, boxed, so providers can use `?` on their own
/// error types.
pub type TokenError = Box<dyn StdError + Send + Sync + 'static>;

type Fetch = dyn Fn() -> BoxFuture<'static, Result<String, TokenError>> + Send + Sync;

/// Where the SDK gets the bearer token it sends as `authorization: Bearer <token>`. It is asked
/// once per attempt. A callback's token is never cached by the SDK, so the callback decides
/// how long a token lives; [`TokenProvider::login`] keeps its token and signs in again before
/// it expires.
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
    source: Source,
}

/// Where the tokens come from.
#[derive(Clone)]
enum Source {
    /// The caller's callback.
    Callback(Arc<Fetch>),
    /// Signing in to Causeway.
    Login(Arc<Login>),
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
            source: Source::Callback(Arc::new(move || {
                let token = callback();
                Box::pin(async move { token })
            })),
        }
    }

    /// An asynchronous callback, awaited before every attempt (within the call's deadline).
    pub fn from_async<F, Fut>(callback: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<String, TokenError>> + Send + 'static,
    {
        Self {
            source: Source::Callback(Arc::new(move || Box::pin(callback()))),
        }
    }

    /// Signs in as `email` with `password` (`causeway.identity.v1.Sessions/Login`, through
    /// `client`'s connection, deadline and retries) on first use, keeps the token, and signs in
    /// again shortly before it expires: in its last minute, or half-way through a shorter
    /// life. Concurrent calls share one login. A token the server refuses is dropped, so the
    /// next call signs in again. Neither the password nor the token appears in any error or
    /// `Debug` output.
    ///
    /// A wrong email or password, or a disabled account, is [`Error::Unauthenticated`] on the
    /// call that needed the token; too many failed logins for the email is
    /// [`Error::Other`] with `RESOURCE_EXHAUSTED`. [`crate::ClientBuilder::login`] is the same
    /// on the client being built.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// use causeway_client::{Client, TokenProvider};
    ///
    /// let client = Client::builder("http://127.0.0.1:50051").build()?;
    /// let ada = TokenProvider::login(&client, "ada@example.com", "correct horse");
    /// // The same token for a call of your own, e.g. to the REST gateway.
    /// let token = ada.access_token().await?;
    /// let header = format!("Bearer {}", token.secret());
    /// # let _ = header; Ok(()) }
    /// ```
    pub fn login(client: &Client, email: impl Into<String>, password: impl Into<String>) -> Self {
        Self::signing_in(client, email.into(), Password::new(password.into()))
    }

    pub(crate) fn signing_in(client: &Client, email: String, password: Password) -> Self {
        Self {
            source: Source::Login(Arc::new(Login::new(client, email, password))),
        }
    }

    /// The token the next call would send (signing in first, for a login provider).
    pub async fn access_token(&self) -> Result<AccessToken, Error> {
        match &self.source {
            Source::Callback(fetch) => fetch()
                .await
                .map(|token| AccessToken::new(token.trim().to_owned()))
                .map_err(|e| Error::Token {
                    message: e.to_string(),
                }),
            Source::Login(login) => login.token().await,
        }
    }

    /// The server refused `sent`: a login provider forgets it and signs in again next time.
    pub(crate) fn refused(&self, sent: &AsciiMetadataValue) {
        if let (Source::Login(login), Ok(text)) = (&self.source, sent.to_str())
            && let Some(token) = text.strip_prefix("Bearer ")
        {
            login.refused(token);
        }
    }

    /// The `authorization` header value for one attempt. The token never appears in an error.
    pub(crate) async fn authorization(&self) -> Result<AsciiMetadataValue, Error> {
        let token = self.access_token().await?;
        let token = token.secret();
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
