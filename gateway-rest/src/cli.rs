//! The `causeway-gateway` command line: serve (the default), check the configuration
//! (`--check-config`) without binding anything, or ask a running gateway whether it is healthy
//! (`health`, a container's health check).

use std::{net::SocketAddr, time::Duration};

use clap::{Args, Parser, Subcommand};

use crate::{GatewayError, config::Config, contracts, routes::RouteTable, upstreams::Upstreams};

/// The command line.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "causeway-gateway",
    version,
    about = "Causeway's REST/JSON gateway: routes from the contracts' google.api.http annotations"
)]
pub struct Cli {
    /// The gateway's settings.
    #[command(flatten)]
    pub config: Config,
    /// Load and validate the flags and environment as startup does, print one line (OK, or
    /// what is wrong, exiting non-zero) and exit without binding any port.
    #[arg(long)]
    pub check_config: bool,
    /// A tool instead of serving.
    #[command(subcommand)]
    pub tool: Option<Tool>,
}

/// What the gateway binary does besides serving.
#[derive(Debug, Clone, Subcommand)]
pub enum Tool {
    /// Asks a running gateway's `/healthz` and exits 0 only on 200 (every upstream serving).
    Health(HealthArgs),
}

/// What `causeway-gateway health` asks.
#[derive(Debug, Clone, Args)]
pub struct HealthArgs {
    /// The gateway to ask (default: this configuration's `--listen`, on loopback when that is
    /// the unspecified address).
    #[arg(long)]
    pub addr: Option<SocketAddr>,
    /// How long to wait for the answer.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
}

/// Everything startup checks before it binds: the flags, every upstream (its service known to
/// the contracts, its TLS files readable), the HTTPS certificate and the routes. Says in one
/// line what would be served.
pub fn check(config: &Config) -> Result<String, GatewayError> {
    config.validate()?;
    let pool = contracts()?;
    let upstreams = Upstreams::new(config, &pool)?;
    let https = config.tls.server()?.is_some();
    let routes = RouteTable::from_pool(&pool)?;
    Ok(format!(
        "configuration OK: {} on {}, {} routes, upstreams {}",
        if https { "HTTPS" } else { "HTTP" },
        config.listen,
        routes.routes().len(),
        upstreams.describe()
    ))
}
