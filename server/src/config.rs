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

    /// Log filter (tracing `EnvFilter` syntax), e.g. `info` or `causeway_server=debug`.
    #[arg(long, env = "CAUSEWAY_LOG", default_value = "info")]
    pub log: String,
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
    pub fn with_data_dir(data_dir: impl Into<PathBuf>) -> Self {
        let mut config = Self::parse_from(["causeway-server"]);
        config.data_dir = data_dir.into();
        config
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
    }

    #[test]
    fn bad_values_are_rejected_with_the_flag_named() {
        let err = Config::try_parse_from(["causeway-server", "--listen", "nope"]).unwrap_err();
        assert!(err.to_string().contains("--listen"), "{err}");
        let err = Config::try_parse_from(["causeway-server", "--role", "boss"]).unwrap_err();
        assert!(err.to_string().contains("--role"), "{err}");
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
