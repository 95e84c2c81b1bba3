//! `contract-check`: the contract gate from the command line (`scripts/contract-check`).
//!
//! - `contract-check` (or `check`): prints what the gate finds about this checkout, file by file;
//!   the same check runs in the test suite (`tests/tests/contract.rs`).
//! - `contract-check accept <version>`: records today's `proto/` and event schema versions as the
//!   baseline of `<version>` and prints the `CHANGELOG.md` line that announces it.
//!
//! Exits 1 when the check fails or `accept` refuses, 2 when it could not run.

use std::process::ExitCode;

use causeway_server::server::upcasters;
use causeway_tests::contract::{Repository, accept, check};
use clap::{Parser, Subcommand};
use semver::Version;

/// Causeway's contract gate.
#[derive(Parser)]
#[command(name = "contract-check")]
struct Cli {
    /// The workspace root (default: the checkout this was built from).
    #[arg(long)]
    root: Option<std::path::PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Check today's contracts (the default).
    Check,
    /// Record today's contracts as the baseline of a new release.
    Accept {
        /// The SDK version that releases them, e.g. 0.2.0.
        version: Version,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let repo = cli
        .root
        .map_or_else(Repository::workspace, |root| Repository { root });
    let upcasters = upcasters();
    if let Some(Command::Accept { version }) = &cli.command {
        match accept(&repo, version, &upcasters) {
            Ok(accepted) => {
                println!("wrote proto/baselines/{version}.binpb and {version}.events.json");
                for change in &accepted.breaking {
                    println!("  breaking: {} {change}", change.file);
                }
                for addition in &accepted.additions {
                    println!("  added: {} {addition}", addition.file);
                }
                println!("\nAdd under `## {version}` in CHANGELOG.md, with what changed:");
                println!("{}\n", accepted.changelog_entry);
            }
            Err(e) => {
                eprintln!("contract-check: {e}");
                return ExitCode::from(1);
            }
        }
    }
    match check(&repo, &upcasters) {
        Ok(report) => {
            print!("{report}");
            if report.passed() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("contract-check: {e}");
            ExitCode::from(2)
        }
    }
}
