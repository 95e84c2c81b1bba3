//! Building a [`Client`]: where the platform is, how to trust it, who is calling, and how long
//! and how often to try. Everything is checked here, so a `Client` that exists is usable.

use std::{sync::Arc, time::Duration};

#[cfg(feature = "tls")]
use tonic::transport::ClientTlsConfig;
use tonic::transport::{Channel, Endpoint};

use crate::{
    Client, RetryPolicy, TokenProvider, client::Settings, login::Password, tls::TlsSettings,
};

/// How long a call may take, retries included, when the caller does not say.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(10);
/// How long opening a connection may take before it counts as a transport failure (and is
/// retried like one).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a [`Client`] could not be built or connected.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The endpoint is not a URI such as `http://127.0.0.1:50051`.
    #[error("invalid endpoint {endpoint:?}: {reason}")]
    InvalidEndpoint {
        /// The endpoint as given.
        endpoint: String,
        /// Why it was refused.
        reason: String,
    },
    /// The user agent cannot be sent as a header value.
    #[error("invalid user agent: {0}")]
    InvalidUserAgent(String),
    /// TLS was asked for but cannot be set up (no `tls` feature, no trust roots, bad config).
    #[error("TLS: {0}")]
    Tls(String),
    /// [`ClientBuilder::build`] was called outside a Tokio runtime, which the connection's
    /// background task needs.
    #[error("no Tokio runtime: build the client from within one")]
    NoRuntime,
    /// [`ClientBuilder::connect`] could not reach the endpoint.
    #[error("cannot connect to {endpoint}: {reason}")]
    Connect {
        /// The endpoint as given.
        endpoint: String,
        /// What failed.
        reason: String,
    },
}

/// Who the client calls as.
#[derive(Debug, Clone)]
enum Credentials {
    /// Nobody: no `authorization` header.
    None,
    /// The caller's provider.
    Provider(TokenProvider),
    /// A Causeway user, signed in once the connection exists.
    Login {
        email: String,
        /// Redacted in `Debug`.
        password: Password,
    },
}

/// Configures a [`Client`]; start with [`Client::builder`].
///
/// Signed in as a Causeway user (the token is kept and renewed before it expires, see
/// [`TokenProvider::login`]):
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use causeway_client::{Client, orders::{OrderLine, PlaceOrderRequest}};
///
/// let client = Client::builder("http://127.0.0.1:50051")
///     .login("ada@example.com", std::env::var("ADA_PASSWORD")?)
///     .build()?;
/// // A customer's order is its own: `customer_id` is filled in from the token.
/// let placed = client.orders().place_order(PlaceOrderRequest {
///     currency: "EUR".into(),
///     lines: vec![OrderLine { sku: "kettle".into(), quantity: 1, unit_price_minor: 2999 }],
///     ..Default::default()
/// }).await?;
/// # let _ = placed; Ok(()) }
/// ```
///
/// Everything else:
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// use causeway_client::{Client, RetryPolicy, TokenProvider};
///
/// let client = Client::builder("https://causeway.internal:443")
///     .tls_ca_certificate(std::fs::read("ca.pem")?)
///     // Where the platform demands a client certificate (mTLS):
///     .tls_client_identity(std::fs::read("client.pem")?, std::fs::read("client.key")?)
///     .token_provider(TokenProvider::from_fn(|| Ok(std::fs::read_to_string("/var/run/token")?)))
///     .deadline(Duration::from_secs(5))
///     .retry_policy(RetryPolicy::default().max_attempts(6))
///     .user_agent("billing-service/1.4")
///     .connect()
///     .await?;
/// # let _ = client; Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `build` or `connect`"]
pub struct ClientBuilder {
    endpoint: String,
    tls: TlsSettings,
    credentials: Credentials,
    deadline: Option<Duration>,
    connect_timeout: Duration,
    retry: RetryPolicy,
    user_agent: Option<String>,
}

impl ClientBuilder {
    pub(crate) fn new(endpoint: impl Into<String>) -> Self {
        Self {
            endpoint: endpoint.into(),
            tls: TlsSettings::default(),
            credentials: Credentials::None,
            deadline: Some(DEFAULT_DEADLINE),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            retry: RetryPolicy::default(),
            user_agent: None,
        }
    }

    /// Trusts the CA in `pem` (PEM-encoded) for the server's certificate, instead of any root
    /// set: how a platform behind a private CA is reached. Turns TLS on; call it again to trust
    /// several CAs.
    pub fn tls_ca_certificate(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.tls.ca_certificates.push(pem.into());
        self
    }

    /// The name the server's certificate must carry, when it differs from the endpoint's host
    /// (e.g. connecting by IP address). Turns TLS on.
    pub fn tls_domain_name(mut self, name: impl Into<String>) -> Self {
        self.tls.domain_name = Some(name.into());
        self
    }

    /// Presents the client certificate `certificate` (PEM, leaf first) with its private key
    /// `key` (PEM) in the TLS handshake, for a platform that demands one (mTLS). The server
    /// may also give the certificate's identity (a `spiffe://` URI or DNS name) roles of its
    /// own, so a service can call without a bearer token. Turns TLS on.
    pub fn tls_client_identity(
        mut self,
        certificate: impl Into<Vec<u8>>,
        key: impl Into<Vec<u8>>,
    ) -> Self {
        self.tls.set_identity(certificate.into(), key.into());
        self
    }

    /// Full control over TLS (several roots, ALPN). CAs, the domain name and the client
    /// identity given with the other `tls_*` methods are added to it.
    #[cfg(feature = "tls")]
    pub fn tls_config(mut self, config: ClientTlsConfig) -> Self {
        self.tls.config = Some(config);
        self
    }

    /// Sends this token as `authorization: Bearer <token>` on every call.
    pub fn bearer_token(self, token: impl Into<String>) -> Self {
        self.token_provider(TokenProvider::fixed(token))
    }

    /// Asks `provider` for a token before every attempt of every call.
    pub fn token_provider(mut self, provider: TokenProvider) -> Self {
        self.credentials = Credentials::Provider(provider);
        self
    }

    /// Calls as the Causeway user `email`: signs in with `password` on the first call, keeps
    /// the token and signs in again before it expires ([`TokenProvider::login`] over this
    /// client's connection, deadline and retries). Replaces any token set before, as setting a
    /// token afterwards replaces this.
    pub fn login(mut self, email: impl Into<String>, password: impl Into<String>) -> Self {
        self.credentials = Credentials::Login {
            email: email.into(),
            password: Password::new(password.into()),
        };
        self
    }

    /// How long one call may take, retries and backoff included, unless overridden with
    /// [`Client::with_deadline`]. Sent to the server as `grpc-timeout`, so a read-your-writes
    /// query waits for its position within it. Default: [`DEFAULT_DEADLINE`].
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// No deadline: calls wait as long as the server lets them (queries then wait at most the
    /// server's own cap for their position). Only for batch jobs that must not give up.
    pub fn no_deadline(mut self) -> Self {
        self.deadline = None;
        self
    }

    /// How long opening a connection may take. Default: [`DEFAULT_CONNECT_TIMEOUT`].
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// When to retry failed calls. Default: [`RetryPolicy::default`].
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Names the calling application in the `user-agent` header (the SDK appends its own name
    /// and version), so the platform's logs can tell callers apart.
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = Some(user_agent.into());
        self
    }

    /// The client, connecting lazily on the first call: a platform that is still starting is
    /// then just a retried transport failure. Must run inside a Tokio runtime.
    pub fn build(self) -> Result<Client, BuildError> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(BuildError::NoRuntime);
        }
        let (endpoint, settings, credentials) = self.into_parts()?;
        Ok(signed_in(
            Client::new(endpoint.connect_lazy(), settings),
            credentials,
        ))
    }

    /// The client, after one successful connection: fails fast when the endpoint is wrong or the
    /// certificate is not trusted, which a service wants to know at startup.
    pub async fn connect(self) -> Result<Client, BuildError> {
        let given = self.endpoint.clone();
        let (endpoint, settings, credentials) = self.into_parts()?;
        let channel: Channel = endpoint.connect().await.map_err(|e| BuildError::Connect {
            endpoint: given,
            reason: error_chain(&e),
        })?;
        Ok(signed_in(Client::new(channel, settings), credentials))
    }

    fn into_parts(self) -> Result<(Endpoint, Arc<Settings>, Credentials), BuildError> {
        let invalid = |reason: String| BuildError::InvalidEndpoint {
            endpoint: self.endpoint.clone(),
            reason,
        };
        let mut endpoint =
            Endpoint::from_shared(self.endpoint.clone()).map_err(|e| invalid(error_chain(&e)))?;
        let scheme = endpoint.uri().scheme_str().map(str::to_ascii_lowercase);
        match scheme.as_deref() {
            Some("http" | "https") => {}
            _ => return Err(invalid("expected an http:// or https:// URI".to_owned())),
        }
        if endpoint.uri().host().is_none() {
            return Err(invalid("no host".to_owned()));
        }
        if scheme.as_deref() == Some("https") || self.tls.wanted() {
            endpoint = self.tls.apply(endpoint)?;
        }
        let user_agent = match &self.user_agent {
            Some(app) => format!("{app} {SDK_AGENT}"),
            None => SDK_AGENT.to_owned(),
        };
        let endpoint = endpoint
            .user_agent(user_agent)
            .map_err(|e| BuildError::InvalidUserAgent(error_chain(&e)))?
            .connect_timeout(self.connect_timeout);
        let settings = Settings {
            deadline: self.deadline,
            retry: self.retry,
            tokens: None,
        };
        Ok((endpoint, Arc::new(settings), self.credentials))
    }
}

/// `client` calling with `credentials`; a login signs in over the client's own connection.
fn signed_in(client: Client, credentials: Credentials) -> Client {
    match credentials {
        Credentials::None => client,
        Credentials::Provider(provider) => client.with_tokens(Some(provider)),
        Credentials::Login { email, password } => {
            let provider = TokenProvider::signing_in(&client, email, password);
            client.with_tokens(Some(provider))
        }
    }
}

/// What the SDK adds to every `user-agent`.
const SDK_AGENT: &str = concat!("causeway-client/", env!("CARGO_PKG_VERSION"));

/// An error and its causes on one line, as transport errors hide the useful part in a source.
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        let inner_text = inner.to_string();
        if !text.contains(&inner_text) {
            text = format!("{text}: {inner_text}");
        }
        cause = inner.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_it_cannot_use() {
        let parts = |b: ClientBuilder| b.into_parts().map(|_| ());
        assert!(matches!(
            parts(ClientBuilder::new("not a uri")),
            Err(BuildError::InvalidEndpoint { .. })
        ));
        assert!(matches!(
            parts(ClientBuilder::new("ftp://host:21")),
            Err(BuildError::InvalidEndpoint { .. })
        ));
        assert!(matches!(
            parts(ClientBuilder::new("http://127.0.0.1:1").user_agent("bad\nagent")),
            Err(BuildError::InvalidUserAgent(_))
        ));
        assert!(parts(ClientBuilder::new("http://127.0.0.1:50051")).is_ok());
        // Without a root set compiled in, https needs a CA to trust.
        let https = parts(ClientBuilder::new("https://causeway.example:443"));
        if cfg!(all(feature = "tls", not(feature = "tls-webpki-roots"))) {
            assert!(matches!(https, Err(BuildError::Tls(_))));
        }
    }

    #[test]
    fn debug_output_never_shows_the_password() {
        let builder = ClientBuilder::new("http://127.0.0.1:50051")
            .login("ada@example.com", "correct horse battery");
        let printed = format!("{builder:?}");
        assert!(printed.contains("ada@example.com"), "{printed}");
        assert!(!printed.contains("correct horse"), "{printed}");
    }

    #[test]
    fn build_needs_a_runtime_instead_of_panicking() {
        assert!(matches!(
            ClientBuilder::new("http://127.0.0.1:50051").build(),
            Err(BuildError::NoRuntime)
        ));
    }
}
