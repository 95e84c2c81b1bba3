//! The `causeway-server` command line: serve (the default), or an operator tool that mints a
//! token or rotates the signing keys offline.

use std::time::Duration;

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
