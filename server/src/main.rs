//! `causeway-server`: parses the command line; serves until SIGTERM/SIGINT, checks the
//! configuration (`--check-config`) and exits, or runs an operator tool (`token`,
//! `rotate-keys` on the data directory; `health` against a running server) and exits.

use anyhow::Context;
use causeway_server::{
    auth::{keys::KeyRing, tokens::TokenIssuer},
    config::{Cli, Config, Tool},
    probe::local_address,
    server::Extras,
};
use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let Cli {
        config,
        tool,
        check_config,
    } = Cli::parse();
    let _telemetry =
        causeway_telemetry::logs::init(&config.log, config.log_format, "causeway-server")?;
    if check_config {
        println!("{}", config.check()?);
        return Ok(());
    }
    match tool {
        Some(tool) => run_tool(&config, tool).await,
        None => {
            config.validate()?;
            serve(config).await
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
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
    let rest = match config.rest_listen.0 {
        Some(address) => Some(
            tokio::net::TcpListener::bind(address)
                .await
                .with_context(|| format!("cannot serve REST on {address}"))?,
        ),
        None => None,
    };
    let extras = Extras {
        metrics,
        rest,
        ..Extras::default()
    };
    causeway_server::server::run_with(listener, config, shutdown_signal(), extras).await?;
    Ok(())
}

/// The tools: print a token, or rotate the signing keys and print the new key id (both on the
/// data directory); or ask a running server whether it is healthy (touching nothing local).
async fn run_tool(config: &Config, tool: Tool) -> anyhow::Result<()> {
    let ring = || -> anyhow::Result<KeyRing> {
        config.validate()?;
        Ok(KeyRing::new(config.keys_dir()))
    };
    match tool {
        Tool::Health(args) => {
            let addr = args.addr.unwrap_or_else(|| local_address(config.listen));
            let identity = args.client_cert.as_deref().zip(args.client_key.as_deref());
            let tls = causeway_server::probe::transport(
                config.tls.tls_cert.as_deref(),
                config.tls.tls_client_ca.is_some(),
                identity,
            )?;
            causeway_server::probe::check(addr, &args.service, args.timeout, tls).await?;
            println!("{addr}: SERVING");
        }
        Tool::Token(args) => {
            let issuer = TokenIssuer::new(ring()?, &config.token_issuer, &config.token_audience);
            let minted = issuer
                .mint(&args.subject, args.roles, args.tenant, args.ttl)
                .context("cannot mint a token")?;
            println!("{}", minted.token);
        }
        Tool::RotateKeys(args) => {
            let kid = ring()?
                .rotate(args.grace)
                .context("cannot rotate the signing keys")?;
            println!("{kid}");
        }
    }
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
