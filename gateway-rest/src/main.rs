//! `causeway-gateway`: parses configuration, binds the listener and serves until
//! SIGTERM/SIGINT; or checks the configuration (`--check-config`), or asks a running gateway
//! whether it is healthy (`health`), and exits.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use anyhow::Context;
use causeway_gateway::cli::{Cli, Tool};
use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let Cli {
        config,
        check_config,
        tool,
    } = Cli::parse();
    let _telemetry =
        causeway_telemetry::logs::init(&config.log, config.log_format, "causeway-gateway")?;
    if check_config {
        println!("{}", causeway_gateway::cli::check(&config)?);
        return Ok(());
    }
    if let Some(Tool::Health(args)) = tool {
        let addr = args.addr.unwrap_or_else(|| loopback(config.listen));
        println!(
            "{}",
            causeway_gateway::probe::check(addr, args.timeout, config.tls.probe()?).await?
        );
        return Ok(());
    }
    config.validate()?;

    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let metrics = match config.metrics_listen.0 {
        Some(address) => Some(
            tokio::net::TcpListener::bind(address)
                .await
                .with_context(|| format!("cannot serve metrics on {address}"))?,
        ),
        None => None,
    };
    let contracts = causeway_gateway::contracts()?;
    causeway_gateway::serve_observed(listener, config, contracts, shutdown_signal(), metrics)
        .await?;
    Ok(())
}

/// Where a gateway listening on `listen` is reached from inside its own container.
fn loopback(listen: SocketAddr) -> SocketAddr {
    match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => (Ipv4Addr::LOCALHOST, listen.port()).into(),
        IpAddr::V6(ip) if ip.is_unspecified() => (Ipv6Addr::LOCALHOST, listen.port()).into(),
        _ => listen,
    }
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM (Kubernetes), whichever comes first.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {},
        _ = terminate => {},
    }
    tracing::info!("shutdown signal received; draining");
}
