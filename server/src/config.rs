//! Configuration from flags and `CAUSEWAY_*` environment variables. Everything is parsed and
//! checked before any port is bound, so bad configuration exits at once with a clear message.
//! The defaults run out of the box on a laptop: gRPC on 127.0.0.1:50051, data in `./data`.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use clap::{Args, Parser, Subcommand, ValueEnum};

pub use causeway_telemetry::LogFormat;

use crate::store::embedded::Durability;

mod size;
pub use size::ByteSize;

/// How long an order may take to be fulfilled by default: reserving a few lines takes
/// milliseconds, so this only ever passes when something is wrong (the store down for long).
pub const DEFAULT_FULFILMENT_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest `--fulfilment-timeout` accepted.
const MAX_FULFILMENT_TIMEOUT: Duration = Duration::from_secs(7 * 24 * 3600);

/// What one `causeway-server` process serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Role {
    /// Everything in one process: the laptop default.
    All,
    /// Only the command services (scale writers on their own).
    Command,
    /// Only the query services, reading read models another process keeps up to date.
    Query,
    /// Only the projection runners (and their admin service).
    Projection,
}

impl Role {
    /// Whether this role serves the command services.
    pub fn commands(self) -> bool {
        matches!(self, Self::All | Self::Command)
    }

    /// Whether this role serves the query services.
    pub fn queries(self) -> bool {
        matches!(self, Self::All | Self::Query)
    }

    /// Whether this role runs the projections.
    pub fn projections(self) -> bool {
        matches!(self, Self::All | Self::Projection)
    }

    /// Whether a process of this role serves the services of role `other`.
    pub fn serves(self, other: Role) -> bool {
        self == Self::All || self == other
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::All => "all",
            Self::Command => "command",
            Self::Query => "query",
            Self::Projection => "projection",
        })
    }
}

/// A duration (`30s`, `2m`), or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit(pub Option<Duration>);

impl std::str::FromStr for Limit {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value.trim() {
            "off" => Ok(Self(None)),
            text => humantime::parse_duration(text)
                .map(|d| Self(Some(d)))
                .map_err(|e| format!("{text:?} is neither a duration (30s, 2m) nor `off`: {e}")),
        }
    }
}

/// An address to listen on, or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listen(pub Option<SocketAddr>);

impl std::str::FromStr for Listen {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value.trim() {
            "off" => Ok(Self(None)),
            address => address.parse().map(|a| Self(Some(a))).map_err(|e| {
                format!("{address:?} is neither an address (host:port) nor `off`: {e}")
            }),
        }
    }
}

/// Whether callers are authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuthMode {
    /// Every RPC needs a verified bearer token unless its contract declares it public.
    Enabled,
    /// Nobody is checked and everything is allowed: for local experiments only.
    Disabled,
}

/// Whether orders are fulfilled: stock reserved, then confirmed or rejected, by the process
/// in `crate::fulfilment`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FulfilmentMode {
    /// New orders await fulfilment; processes of role `projection` (or `all`) run it.
    Enabled,
    /// Orders never touch stock; staff confirm them by hand.
    Disabled,
}

/// How durable an acknowledged append is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DurabilityArg {
    /// Synced to disk before the acknowledgement (the default).
    Full,
    /// Written but not synced: the last commits may be lost on power failure. Never the default.
    Relaxed,
}

impl From<DurabilityArg> for Durability {
    fn from(value: DurabilityArg) -> Self {
        match value {
            DurabilityArg::Full => Durability::Full,
            DurabilityArg::Relaxed => Durability::Relaxed,
        }
    }
}

/// The command line: serve (the default), or one of the operator tools.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "causeway-server",
    version,
    about = "Causeway: event-sourced gRPC services"
)]
pub struct Cli {
    /// The server's settings (the tools read the data and keys directories from them).
    #[command(flatten)]
    pub config: Config,
    /// An operator tool instead of serving.
    #[command(subcommand)]
    pub tool: Option<Tool>,
}

/// Operator tools that work offline, on the data directory.
#[derive(Debug, Clone, Subcommand)]
pub enum Tool {
    /// Mints an access token signed with the data directory's current key and prints it: the
    /// first admin's token, or a script's.
    Token(TokenArgs),
    /// Makes a new signing key current; the previous one keeps verifying for `--grace`.
    RotateKeys(RotateArgs),
}

/// What `causeway-server token` mints.
#[derive(Debug, Clone, Args)]
pub struct TokenArgs {
    /// The token's subject (`sub`), e.g. `ops` or a user id.
    #[arg(long)]
    pub subject: String,
    /// A role to grant; repeat for several (`--role admin --role orders.staff`).
    #[arg(long = "role")]
    pub roles: Vec<String>,
    /// The tenant claim, if any.
    #[arg(long)]
    pub tenant: Option<String>,
    /// How long the token lives (at most 24h).
    #[arg(long, default_value = "1h", value_parser = humantime::parse_duration)]
    pub ttl: Duration,
}

/// How `causeway-server rotate-keys` rotates.
#[derive(Debug, Clone, Args)]
pub struct RotateArgs {
    /// How long the previous key keeps verifying (at least the longest token lifetime).
    #[arg(long, default_value = "24h", value_parser = humantime::parse_duration)]
    pub grace: Duration,
}

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

    /// Log filter (tracing `EnvFilter` syntax), e.g. `info` or `causeway_server=debug`.
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
}

/// A value that may carry credentials (a connection string with a password): usable, but never
/// printed by `Debug` or `Display`, so it cannot leak into logs or error messages.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The value itself, for the one place that connects with it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

impl std::str::FromStr for Secret {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let value = value.trim();
        if value.is_empty() {
            return Err("must not be empty".into());
        }
        Ok(Self(value.to_owned()))
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
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
    /// A connection limit or timeout that cannot work.
    #[error("{0}")]
    Connections(String),
    /// A fulfilment timeout of zero, or too long to mean anything.
    #[error("--fulfilment-timeout must be between 1 millisecond and 7 days")]
    FulfilmentTimeout,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse<const N: usize>(args: [&str; N]) -> Result<Config, clap::Error> {
        Cli::try_parse_from(args).map(|cli| cli.config)
    }

    #[test]
    fn authentication_is_on_by_default_and_an_external_issuer_must_be_complete() {
        let config = parse(["causeway-server"]).unwrap();
        assert_eq!(config.auth, AuthMode::Enabled);
        assert_eq!(config.keys_dir(), PathBuf::from("./data/keys"));
        assert_eq!(config.token_ttl, Duration::from_secs(900));
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().to_str().unwrap();
        for (args, complaint) in [
            (vec!["--auth-issuer", "https://idp"], "--auth-audience"),
            (
                vec!["--auth-issuer", "https://idp", "--auth-audience", "c"],
                "exactly one",
            ),
            (vec!["--auth-jwks-file", "/k.json"], "need --auth-issuer"),
            (
                vec![
                    "--auth-issuer",
                    "i",
                    "--auth-audience",
                    "c",
                    "--auth-jwks-url",
                    "ftp://x",
                ],
                "http:// or https://",
            ),
            (vec!["--token-ttl", "2days"], "--token-ttl"),
            (vec!["--fulfilment-timeout", "0s"], "--fulfilment-timeout"),
            (
                vec!["--fulfilment-timeout", "30days"],
                "--fulfilment-timeout",
            ),
        ] {
            let mut argv = vec!["causeway-server", "--data-dir", data];
            argv.extend(args);
            let config = Cli::try_parse_from(argv).unwrap().config;
            let err = config.validate().unwrap_err().to_string();
            assert!(err.contains(complaint), "{err}");
        }
        let ok = Cli::try_parse_from([
            "causeway-server",
            "--data-dir",
            data,
            "--auth-issuer",
            "https://idp",
            "--auth-audience",
            "causeway",
            "--auth-jwks-url",
            "https://idp/jwks.json",
        ])
        .unwrap();
        ok.config.validate().unwrap();
    }

    #[test]
    fn the_token_tool_takes_the_data_directory_after_its_name() {
        let cli = Cli::try_parse_from([
            "causeway-server",
            "token",
            "--subject",
            "ops",
            "--role",
            "admin",
            "--ttl",
            "2h",
            "--data-dir",
            "/srv/causeway",
        ])
        .unwrap();
        let Some(Tool::Token(args)) = cli.tool else {
            panic!("not the token tool");
        };
        assert_eq!(
            (args.subject.as_str(), args.roles.as_slice()),
            ("ops", &["admin".to_owned()][..])
        );
        assert_eq!(args.ttl, Duration::from_secs(7200));
        assert_eq!(cli.config.keys_dir(), PathBuf::from("/srv/causeway/keys"));
    }

    #[test]
    fn defaults_run_out_of_the_box() {
        let config = parse(["causeway-server"]).unwrap();
        assert_eq!(config.listen.to_string(), "127.0.0.1:50051");
        assert_eq!(config.data_dir, PathBuf::from("./data"));
        assert_eq!(config.role, Role::All);
        assert_eq!(config.durability, DurabilityArg::Full);
        assert_eq!(config.aggregate_cache, ByteSize::mib(16));
        assert_eq!(config.snapshot_every, 100);
        assert_eq!(config.rest_listen, Listen(None));
        assert_eq!(config.fulfilment, FulfilmentMode::Enabled);
        assert_eq!(config.fulfilment_timeout, Duration::from_secs(30));
        let config = parse(["causeway-server", "--fulfilment", "disabled"]).unwrap();
        assert_eq!(config.fulfilment, FulfilmentMode::Disabled);
    }

    #[test]
    fn bad_values_are_rejected_with_the_flag_named() {
        let err = parse(["causeway-server", "--listen", "nope"]).unwrap_err();
        assert!(err.to_string().contains("--listen"), "{err}");
        let err = parse(["causeway-server", "--role", "boss"]).unwrap_err();
        assert!(err.to_string().contains("--role"), "{err}");
        let err = parse(["causeway-server", "--aggregate-cache", "lots"]).unwrap_err();
        assert!(err.to_string().contains("--aggregate-cache"), "{err}");
        let err = parse(["causeway-server", "--snapshot-every", "often"]).unwrap_err();
        assert!(err.to_string().contains("--snapshot-every"), "{err}");
        let err = parse(["causeway-server", "--rest-listen", "everywhere"]).unwrap_err();
        assert!(err.to_string().contains("--rest-listen"), "{err}");
    }

    #[test]
    fn connection_strings_never_print() {
        let config = parse([
            "causeway-server",
            "--kurrentdb-url",
            "kurrentdb://admin:hunter2@db:2113",
            "--mongodb-url",
            "mongodb://u:hunter3@db",
        ])
        .unwrap();
        let printed = format!("{config:?}");
        assert!(
            !printed.contains("hunter2") && !printed.contains("hunter3"),
            "{printed}"
        );
        assert_eq!(
            config.kurrentdb_url.as_ref().map(Secret::expose),
            Some("kurrentdb://admin:hunter2@db:2113")
        );
    }

    #[test]
    fn a_data_dir_that_is_a_file_is_refused() {
        let file = tempfile::NamedTempFile::new().unwrap();
        let config = Config::with_data_dir(file.path());
        assert!(matches!(
            config.validate(),
            Err(ConfigError::DataDir { .. })
        ));
    }
}
