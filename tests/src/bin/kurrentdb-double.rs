//! `kurrentdb-double`: the in-memory KurrentDB protocol double of `causeway_tests::kurrentdb`
//! as a process of its own, so any KurrentDB client (another language's, a CLI) can be pointed
//! at it:
//!
//! ```sh
//! cargo run -p causeway-tests --bin kurrentdb-double -- --port 2113
//! ```
//!
//! It listens on 127.0.0.1 only (no TLS, no authentication), prints the connection string on
//! the first line of stdout once it accepts connections, and serves until interrupted (Ctrl-C
//! or SIGTERM). `--port 0` takes any free port. Its data lives in memory and is gone when it
//! stops. Exits 2 when it cannot listen.

use std::process::ExitCode;

use causeway_tests::kurrentdb::KurrentDbDouble;
use clap::Parser;

/// Serves the KurrentDB protocol double on a loopback port.
#[derive(Debug, Parser)]
#[command(name = "kurrentdb-double", version)]
struct Args {
    /// The port on 127.0.0.1 to listen on; 0 for any free one.
    #[arg(long, default_value_t = 2113)]
    port: u16,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let (double, url) = match KurrentDbDouble::start_on(args.port).await {
        Ok(started) => started,
        Err(e) => {
            eprintln!(
                "kurrentdb-double: cannot listen on 127.0.0.1:{}: {e}",
                args.port
            );
            return ExitCode::from(2);
        }
    };
    println!("{url}");
    eprintln!(
        "kurrentdb-double: serving on {} (in memory; Ctrl-C stops it)",
        double.addr()
    );
    stopped().await;
    drop(double);
    ExitCode::SUCCESS
}

/// Resolves on Ctrl-C, or on SIGTERM where there is one.
async fn stopped() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
