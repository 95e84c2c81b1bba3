//! The `causeway-server` command line: serve (the default), check the configuration
//! (`--check-config`), or an operator tool that mints a token or rotates the signing keys
//! offline, or asks a running server whether it is healthy.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use clap::{Args, Parser, Subcommand};

use super::Config;

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
    /// Load and validate the flags and environment as startup does, print one line (OK, or
    /// what is wrong, exiting non-zero) and exit without binding any port.
    #[arg(long)]
    pub check_config: bool,
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
    /// Asks a running server's gRPC health service and exits 0 only if it answers SERVING: a
    /// container's health check, for images with no other gRPC client in them.
    Health(HealthArgs),
}

/// What `causeway-server health` asks.
#[derive(Debug, Clone, Args)]
pub struct HealthArgs {
    /// The server to ask (default: this configuration's `--listen`, on loopback when that is
    /// the unspecified address).
    #[arg(long)]
    pub addr: Option<SocketAddr>,
    /// The health name to ask about; the whole process by default.
    #[arg(long, default_value = "")]
    pub service: String,
    /// How long to wait for the answer.
    #[arg(long, default_value = "3s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
    /// A client certificate chain (PEM) to present to a server that demands one
    /// (`--tls-client-ca`); needs `--client-key`. A server that serves TLS is asked over TLS,
    /// trusting exactly its `--tls-cert`.
    #[arg(long, env = "CAUSEWAY_HEALTH_CLIENT_CERT", requires = "client_key")]
    pub client_cert: Option<PathBuf>,
    /// The private key of `--client-cert`.
    #[arg(long, env = "CAUSEWAY_HEALTH_CLIENT_KEY", requires = "client_cert")]
    pub client_key: Option<PathBuf>,
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
