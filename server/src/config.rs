//! Configuration from flags and `CAUSEWAY_*` environment variables. Everything is parsed and
//! checked before any port is bound, so bad configuration exits at once with a clear message.
//! The defaults run out of the box on a laptop: gRPC on 127.0.0.1:50051, data in `./data`.

use std::{net::SocketAddr, path::PathBuf};

use clap::{Parser, ValueEnum};

use crate::store::embedded::Durability;

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

/// Settings of one server process.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "causeway-server",
    version,
    about = "Causeway: event-sourced gRPC services"
)]
pub struct Config {
    /// Address the gRPC server listens on.
    #[arg(long, env = "CAUSEWAY_LISTEN", default_value = "127.0.0.1:50051")]
    pub listen: SocketAddr,

    /// Directory of the embedded stores (created if missing).
    #[arg(long, env = "CAUSEWAY_DATA_DIR", default_value = "./data")]
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

    /// Event ids the aggregate cache may hold across all cached streams (0 turns it off, and
    /// every command reads its stream). Cached states only ever speed up appends; the store's
    /// expected-revision check catches any that another process made stale.
    #[arg(long, env = "CAUSEWAY_AGGREGATE_CACHE_EVENTS", default_value_t = crate::kernel::AggregateCache::DEFAULT_CAPACITY)]
    pub aggregate_cache_events: usize,

    /// Log filter (tracing `EnvFilter` syntax), e.g. `info` or `causeway_server=debug`.
    #[arg(long, env = "CAUSEWAY_LOG", default_value = "info")]
    pub log: String,
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
            aggregate_cache_events: crate::kernel::AggregateCache::DEFAULT_CAPACITY,
            log: "info".to_owned(),
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
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_run_out_of_the_box() {
        let config = Config::try_parse_from(["causeway-server"]).unwrap();
        assert_eq!(config.listen.to_string(), "127.0.0.1:50051");
        assert_eq!(config.data_dir, PathBuf::from("./data"));
        assert_eq!(config.role, Role::All);
        assert_eq!(config.durability, DurabilityArg::Full);
        assert_eq!(config.aggregate_cache_events, 100_000);
    }

    #[test]
    fn bad_values_are_rejected_with_the_flag_named() {
        let err = Config::try_parse_from(["causeway-server", "--listen", "nope"]).unwrap_err();
        assert!(err.to_string().contains("--listen"), "{err}");
        let err = Config::try_parse_from(["causeway-server", "--role", "boss"]).unwrap_err();
        assert!(err.to_string().contains("--role"), "{err}");
        let err = Config::try_parse_from(["causeway-server", "--aggregate-cache-events", "lots"])
            .unwrap_err();
        assert!(
            err.to_string().contains("--aggregate-cache-events"),
            "{err}"
        );
    }

    #[test]
    fn connection_strings_never_print() {
        let config = Config::try_parse_from([
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
