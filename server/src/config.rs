//! Configuration from flags and `CAUSEWAY_*` environment variables. Everything is parsed and
//! checked before any port is bound, so bad configuration exits at once with a clear message.
//! The defaults run out of the box on a laptop: gRPC on 127.0.0.1:50051, data in `./data`.
//!
//! Layout: [`Config`] and its checks here; `values` (roles, modes, optional limits and
//! listeners, [`Secret`]); `size` ([`ByteSize`], memory bounds such as `64MiB`); `cli` (the
//! command line and the operator tools); `check` (`--check-config`: the same checks without
//! binding or creating anything); `tests`.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use clap::Args;

pub use causeway_telemetry::LogFormat;

mod check;
mod cli;
#[cfg(test)]
mod lease_tests;
mod size;
#[cfg(test)]
mod tests;
mod values;

pub use self::{
    cli::{Cli, HealthArgs, RotateArgs, TokenArgs, Tool},
    size::ByteSize,
    values::{AuthMode, DurabilityArg, FulfilmentMode, Limit, Listen, Role, Secret},
};

/// How long an order may take to be fulfilled by default: reserving a few lines takes
/// milliseconds, so this only ever passes when something is wrong (the store down for long).
pub const DEFAULT_FULFILMENT_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest `--fulfilment-timeout` accepted.
const MAX_FULFILMENT_TIMEOUT: Duration = Duration::from_secs(7 * 24 * 3600);

/// The shortest `--lease-ttl`: renewals every third of it must fit between pauses.
const MIN_LEASE_TTL: Duration = Duration::from_secs(1);
/// The longest `--lease-ttl`: a take-over should not wait longer.
const MAX_LEASE_TTL: Duration = Duration::from_secs(300);

/// Settings of one server process.
#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Address the gRPC server listens on.
    #[arg(long, env = "CAUSEWAY_LISTEN", default_value = "127.0.0.1:50051")]
    pub listen: SocketAddr,

    /// Directory of the embedded stores (created if missing).
    #[arg(
        long,
        env = "CAUSEWAY_DATA_DIR",
        default_value = "./data",
        global = true
    )]
    pub data_dir: PathBuf,

    /// Which services this process runs.
    #[arg(long, env = "CAUSEWAY_ROLE", value_enum, default_value_t = Role::All)]
    pub role: Role,

    /// Whether appends are synced to disk before they are acknowledged.
    #[arg(long, env = "CAUSEWAY_DURABILITY", value_enum, default_value_t = DurabilityArg::Full)]
    pub durability: DurabilityArg,

    /// KurrentDB connection string (`kurrentdb://host:2113?tls=false`); events are stored in
    /// the embedded store when absent.
    #[arg(long, env = "KURRENTDB_URL")]
    pub kurrentdb_url: Option<Secret>,

    /// MongoDB connection string (`mongodb://host:27017`); read models are kept in the
    /// embedded store when absent.
    #[arg(long, env = "MONGODB_URL")]
    pub mongodb_url: Option<Secret>,

    /// MongoDB database that holds the read models and checkpoints.
    #[arg(long, env = "CAUSEWAY_MONGODB_DATABASE", default_value = "causeway")]
    pub mongodb_database: String,

    /// Memory the aggregate cache may use, states and the event ids kept for deduplication
    /// together (`64MiB`; 0 turns it off, and every command reads its stream). Cached states
    /// only ever speed up appends; the store's expected-revision check catches any that another
    /// process made stale.
    #[arg(long, env = "CAUSEWAY_AGGREGATE_CACHE", default_value_t = crate::kernel::AggregateCache::DEFAULT_BYTES)]
    pub aggregate_cache: ByteSize,

    /// Store a snapshot of an aggregate's state once this many events were folded since its
    /// last one, so a command on a long stream reads the snapshot and the events after it
    /// rather than the whole stream (0 turns snapshots off; they are never needed for
    /// correctness: a missing, old or unreadable one means a full fold).
    #[arg(long, env = "CAUSEWAY_SNAPSHOT_EVERY", default_value_t = crate::kernel::snapshot::DEFAULT_EVERY)]
    pub snapshot_every: u64,

    /// Serve the REST routes (the same router as `causeway-gateway`) from this process too, on
    /// this address, calling the services in-process with no second hop; or `off`.
    #[arg(long, env = "CAUSEWAY_REST_LISTEN", default_value = "off")]
    pub rest_listen: Listen,

    /// Log filter: a level, or comma-separated `target=level` directives (the most specific
    /// target wins), e.g. `info` or `info,causeway_server=debug,h2=off`.
    #[arg(long, env = "CAUSEWAY_LOG", default_value = "info")]
    pub log: String,

    /// How log lines look: `text` (coloured only on a terminal) or `json` (one object a line).
    #[arg(long, env = "CAUSEWAY_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Where to serve Prometheus metrics (`GET /metrics`), or `off`.
    #[arg(
        long,
        env = "CAUSEWAY_METRICS_LISTEN",
        default_value = "127.0.0.1:9464"
    )]
    pub metrics_listen: Listen,

    /// How far behind the head (in seconds of event age) a projection may fall before it
    /// reports itself `lagging` (admin, metrics, and the `causeway.readiness` health name).
    #[arg(long, env = "CAUSEWAY_PROJECTION_LAG_SLO", default_value = "30s", value_parser = humantime::parse_duration)]
    pub projection_lag_slo: Duration,

    /// Refuse commands (`RESOURCE_EXHAUSTED`, retry later) while a projection in this process
    /// that reads their category is further behind than this; `off` by default.
    #[arg(long, env = "CAUSEWAY_MAX_PROJECTION_LAG", default_value = "off")]
    pub max_projection_lag: Limit,

    /// Whether callers must present a verified bearer token. `disabled` is for local
    /// experiments only: it logs a warning and lets anyone do anything.
    #[arg(long, env = "CAUSEWAY_AUTH", value_enum, default_value_t = AuthMode::Enabled)]
    pub auth: AuthMode,

    /// Directory of Causeway's signing keys (default: `<data-dir>/keys`); may be a mounted
    /// secret shared by every process.
    #[arg(long, env = "CAUSEWAY_KEYS_DIR", global = true)]
    pub keys_dir: Option<PathBuf>,

    /// The `iss` of the tokens Causeway issues (login, `token`).
    #[arg(
        long,
        env = "CAUSEWAY_TOKEN_ISSUER",
        default_value = "causeway",
        global = true
    )]
    pub token_issuer: String,

    /// The `aud` of the tokens Causeway issues and accepts from itself.
    #[arg(
        long,
        env = "CAUSEWAY_TOKEN_AUDIENCE",
        default_value = "causeway",
        global = true
    )]
    pub token_audience: String,

    /// Lifetime of a login's access token.
    #[arg(long, env = "CAUSEWAY_TOKEN_TTL", default_value = "15m", value_parser = humantime::parse_duration)]
    pub token_ttl: Duration,

    /// The `tenant` claim of the tokens this server issues at login, if any.
    #[arg(long, env = "CAUSEWAY_TENANT")]
    pub tenant: Option<String>,

    /// An external OpenID/OAuth2 issuer whose tokens are accepted too (its `iss`).
    #[arg(long, env = "CAUSEWAY_AUTH_ISSUER")]
    pub auth_issuer: Option<String>,

    /// The `aud` the external issuer's tokens must carry.
    #[arg(long, env = "CAUSEWAY_AUTH_AUDIENCE")]
    pub auth_audience: Option<String>,

    /// The external issuer's JWKS URL (`https://idp.example.com/.well-known/jwks.json`).
    #[arg(long, env = "CAUSEWAY_AUTH_JWKS_URL")]
    pub auth_jwks_url: Option<String>,

    /// The external issuer's JWKS as a file, instead of a URL.
    #[arg(long, env = "CAUSEWAY_AUTH_JWKS_FILE")]
    pub auth_jwks_file: Option<PathBuf>,

    /// Dotted path of the claim holding an external token's roles (`realm_access.roles`).
    #[arg(long, env = "CAUSEWAY_AUTH_ROLES_CLAIM", default_value = "roles")]
    pub auth_roles_claim: String,

    /// Connection limits and timeouts.
    #[command(flatten)]
    pub connections: crate::connection::Connections,

    /// Whether orders are fulfilled (stock reserved, then confirmed or rejected). Give every
    /// process of a deployment the same value.
    #[arg(long, env = "CAUSEWAY_FULFILMENT", value_enum, default_value_t = FulfilmentMode::Enabled)]
    pub fulfilment: FulfilmentMode,

    /// How long after placement an order may still be reserving stock; past it, it is
    /// rejected and what was reserved for it released.
    #[arg(long, env = "CAUSEWAY_FULFILMENT_TIMEOUT", default_value = "30s", value_parser = humantime::parse_duration)]
    pub fulfilment_timeout: Duration,

    /// How long a replica's lease on a projection or on fulfilment lasts unless renewed (every
    /// third of it); a standby takes over within about this long after the active replica
    /// stopped. Between 1 second and 5 minutes.
    #[arg(long, env = "CAUSEWAY_LEASE_TTL", default_value = "10s", value_parser = humantime::parse_duration)]
    pub lease_ttl: Duration,

    /// TLS, mTLS, and the roles of client certificate identities.
    #[command(flatten)]
    pub tls: crate::connection::TlsArgs,

    /// Calls per caller, by class.
    #[command(flatten)]
    pub rate_limits: crate::auth::limits::RateLimits,

    /// What one event feed subscription may cost and how it is paced.
    #[command(flatten)]
    pub feed: crate::feed::FeedLimits,
}

/// Configuration that parsed but cannot work.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The external issuer's settings are incomplete or contradict each other.
    #[error("{0}")]
    Auth(String),
    /// A token lifetime outside what the key ring's grace covers.
    #[error("--token-ttl must be between 1 second and 24 hours")]
    TokenTtl,
    /// A connection or event feed limit or timeout that cannot work.
    #[error("{0}")]
    Connections(String),
    /// A fulfilment timeout of zero, or too long to mean anything.
    #[error("--fulfilment-timeout must be between 1 millisecond and 7 days")]
    FulfilmentTimeout,
    /// A lease time to live too short to renew reliably, or too long to take over in.
    #[error("--lease-ttl must be between 1 second and 5 minutes")]
    LeaseTtl,
    /// TLS flags that do not fit together.
    #[error("{0}")]
    Tls(String),
    /// A store connection string that cannot be used.
    #[error("{0}")]
    Store(String),
    /// The data directory cannot be created or is not a directory.
    #[error("--data-dir {path}: {reason}")]
    DataDir {
        /// The configured path.
        path: String,
        /// Why it is unusable.
        reason: String,
    },
}

impl Config {
    /// Defaults for a server whose data lives in `data_dir`, as tests and embedders want it.
    /// Built field by field, not parsed, so the caller's environment cannot change it.
    pub fn with_data_dir(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 50051)),
            data_dir: data_dir.into(),
            role: Role::All,
            durability: DurabilityArg::Full,
            kurrentdb_url: None,
            mongodb_url: None,
            mongodb_database: "causeway".to_owned(),
            aggregate_cache: crate::kernel::AggregateCache::DEFAULT_BYTES,
            snapshot_every: crate::kernel::snapshot::DEFAULT_EVERY,
            rest_listen: Listen(None),
            log: "info".to_owned(),
            log_format: LogFormat::Text,
            metrics_listen: Listen(None),
            projection_lag_slo: Duration::from_secs(30),
            max_projection_lag: Limit(None),
            auth: AuthMode::Enabled,
            keys_dir: None,
            token_issuer: "causeway".to_owned(),
            token_audience: "causeway".to_owned(),
            token_ttl: Duration::from_secs(15 * 60),
            tenant: None,
            auth_issuer: None,
            auth_audience: None,
            auth_jwks_url: None,
            auth_jwks_file: None,
            auth_roles_claim: "roles".to_owned(),
            connections: crate::connection::Connections::default(),
            fulfilment: FulfilmentMode::Enabled,
            fulfilment_timeout: DEFAULT_FULFILMENT_TIMEOUT,
            lease_ttl: crate::lease::DEFAULT_TTL,
            tls: crate::connection::TlsArgs::default(),
            rate_limits: crate::auth::limits::RateLimits::default(),
            feed: crate::feed::FeedLimits::default(),
        }
    }

    /// Where the signing keys live.
    pub fn keys_dir(&self) -> PathBuf {
        self.keys_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("keys"))
    }

    /// Where the external issuer's keys come from, if one is configured.
    pub fn jwks_source(&self) -> Option<crate::auth::jwks::KeySource> {
        use crate::auth::jwks::KeySource;
        match (&self.auth_jwks_url, &self.auth_jwks_file) {
            (Some(url), _) => url.parse().ok().map(KeySource::Url),
            (None, Some(path)) => Some(KeySource::File(path.clone())),
            (None, None) => None,
        }
    }

    /// Checks what parsing cannot: that the data directory exists or can be created.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let fail = |reason: String| ConfigError::DataDir {
            path: self.data_dir.display().to_string(),
            reason,
        };
        std::fs::create_dir_all(&self.data_dir).map_err(|e| fail(e.to_string()))?;
        if !self.data_dir.is_dir() {
            return Err(fail("not a directory".into()));
        }
        self.validate_settings()
    }

    /// Every check of [`Config::validate`] but the data directory's, which creates it.
    pub fn validate_settings(&self) -> Result<(), ConfigError> {
        if self.token_ttl.is_zero() || self.token_ttl > crate::auth::tokens::MAX_TTL {
            return Err(ConfigError::TokenTtl);
        }
        self.connections
            .validate()
            .map_err(ConfigError::Connections)?;
        if self.fulfilment_timeout < Duration::from_millis(1)
            || self.fulfilment_timeout > MAX_FULFILMENT_TIMEOUT
        {
            return Err(ConfigError::FulfilmentTimeout);
        }
        if !(MIN_LEASE_TTL..=MAX_LEASE_TTL).contains(&self.lease_ttl) {
            return Err(ConfigError::LeaseTtl);
        }
        self.tls.validate().map_err(ConfigError::Tls)?;
        self.feed.validate().map_err(ConfigError::Connections)?;
        self.validate_external_issuer()
    }

    /// An external issuer needs an audience and exactly one JWKS source (an http(s) URL or a
    /// file), and those settings mean nothing without an issuer.
    fn validate_external_issuer(&self) -> Result<(), ConfigError> {
        let fail = |why: &str| Err(ConfigError::Auth(why.to_owned()));
        let sources =
            usize::from(self.auth_jwks_url.is_some()) + usize::from(self.auth_jwks_file.is_some());
        match &self.auth_issuer {
            None if sources > 0 || self.auth_audience.is_some() => {
                fail("--auth-audience, --auth-jwks-url and --auth-jwks-file need --auth-issuer")
            }
            None => Ok(()),
            Some(_) if self.auth_audience.is_none() => fail("--auth-issuer needs --auth-audience"),
            Some(_) if sources != 1 => {
                fail("--auth-issuer needs exactly one of --auth-jwks-url and --auth-jwks-file")
            }
            Some(_) => match &self.auth_jwks_url {
                Some(url)
                    if !url
                        .parse::<reqwest::Url>()
                        .is_ok_and(|u| matches!(u.scheme(), "http" | "https")) =>
                {
                    fail("--auth-jwks-url must be an http:// or https:// URL")
                }
                _ => Ok(()),
            },
        }
    }
}
