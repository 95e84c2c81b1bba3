//! `causeway-gateway`: parses configuration, binds the listener and serves until
//! SIGTERM/SIGINT.

use anyhow::Context;
use causeway_gateway::config::Config;
use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    let _telemetry =
        causeway_telemetry::logs::init(&config.log, config.log_format, "causeway-gateway")?;
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
