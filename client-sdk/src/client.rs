//! The [`Client`]: one connection to the platform and the call settings every context shares.

use std::{sync::Arc, time::Duration};

use tonic::transport::Channel;

use crate::{
    ClientBuilder, RetryPolicy, Session, TokenProvider, call::Caller, events::Events,
    identity::Identity, inventory::Inventory, orders::Orders,
};

/// What every call of one client shares: its deadline, retry policy and credentials.
#[derive(Debug)]
pub(crate) struct Settings {
    pub(crate) deadline: Option<Duration>,
    pub(crate) retry: RetryPolicy,
    pub(crate) tokens: Option<TokenProvider>,
}

/// A connection to Causeway with retries, idempotent commands, typed errors and credentials
/// built in. Cheap to clone (clones share the connection), so build one per process and hand
/// clones to tasks.
///
/// Commands and queries are grouped by bounded context: [`Client::orders`],
/// [`Client::inventory`], [`Client::identity`]. For read-your-writes use a [`Session`] from
/// [`Client::session`].
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use causeway_client::{Client, inventory::RegisterProductRequest};
///
/// let client = Client::builder("http://127.0.0.1:50051").build()?;
/// let ack = client
///     .inventory()
///     .register_product(RegisterProductRequest {
///         sku: "kettle".into(),
///         name: "Kettle".into(),
///         ..Default::default()
///     })
///     .await?;
/// println!("stored at position {}", ack.position);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Client {
    channel: Channel,
    settings: Arc<Settings>,
}

impl Client {
    /// Starts configuring a client for `endpoint`, e.g. `http://127.0.0.1:50051` or
    /// `https://causeway.internal:443`.
    pub fn builder(endpoint: impl Into<String>) -> ClientBuilder {
        ClientBuilder::new(endpoint)
    }

    pub(crate) fn new(channel: Channel, settings: Arc<Settings>) -> Self {
        Self { channel, settings }
    }

    /// Order commands and queries.
    pub fn orders(&self) -> Orders {
        Orders::new(Caller::new(self.clone(), None))
    }

    /// Product, stock and reservation commands and queries.
    pub fn inventory(&self) -> Inventory {
        Inventory::new(Caller::new(self.clone(), None))
    }

    /// User and role commands and queries.
    pub fn identity(&self) -> Identity {
        Identity::new(Caller::new(self.clone(), None))
    }

    /// The event feed: subscriptions to the log and one stream's history.
    pub fn events(&self) -> Events {
        Events::new(Caller::new(self.clone(), None))
    }

    /// A read-your-writes session: its queries see every change it was acknowledged. Start one
    /// per unit of work (a request, a job); sessions share this client's connection.
    pub fn session(&self) -> Session {
        Session::new(self.clone())
    }

    /// The same client with another deadline for each call (retries included), for the few
    /// calls that need more or less time than the default.
    pub fn with_deadline(&self, deadline: Duration) -> Self {
        self.with_settings(|s| s.deadline = Some(deadline))
    }

    /// The same client with another retry policy, e.g. [`RetryPolicy::never`] inside a caller's
    /// own retry loop.
    pub fn with_retry_policy(&self, policy: RetryPolicy) -> Self {
        self.with_settings(|s| s.retry = policy)
    }

    /// The underlying channel, for the generated clients of services the ergonomic layer does
    /// not wrap (e.g. `admin::projection_admin_client::ProjectionAdminClient`). Calls made on it
    /// get the user agent and TLS, but no retries, deadline or token.
    pub fn channel(&self) -> Channel {
        self.channel.clone()
    }

    /// The same client sending `tokens`' tokens.
    pub(crate) fn with_tokens(&self, tokens: Option<TokenProvider>) -> Self {
        self.with_settings(|s| s.tokens = tokens)
    }

    /// The same client sending no token (how a login provider signs in).
    pub(crate) fn without_tokens(&self) -> Self {
        self.with_tokens(None)
    }

    pub(crate) fn settings(&self) -> &Settings {
        &self.settings
    }

    fn with_settings(&self, change: impl FnOnce(&mut Settings)) -> Self {
        let mut settings = Settings {
            deadline: self.settings.deadline,
            retry: self.settings.retry.clone(),
            tokens: self.settings.tokens.clone(),
        };
        change(&mut settings);
        Self::new(self.channel.clone(), Arc::new(settings))
    }
}
