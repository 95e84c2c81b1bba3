//! `causeway-bench`: runs Causeway's benchmark scenarios against their same-run baselines and
//! prints (and with `--out`, writes) the markdown table of ratios. `scripts/bench` builds it in
//! release and runs the full benchmark, then the read side again with read models in a
//! SecantusDB it starts (`--mongodb`); `--smoke` runs every scenario with tiny counts.
//!
//! Exits 1 when a scenario failed (its row says why), 2 when the run could not start.

use std::process::ExitCode;

use causeway_tests::bench::{Options, run};
use clap::Parser;

fn main() -> ExitCode {
    let options = Options::parse();
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    match run(&options, &command) {
        Ok(report) => {
            print!("{}", report.to_markdown());
            if let Some(out) = &options.out {
                eprintln!("written to {}", out.display());
            }
            if report.failures().is_empty() {
                ExitCode::SUCCESS
            } else {
                eprintln!("{} scenario(s) failed", report.failures().len());
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("causeway-bench: {e}");
            ExitCode::from(2)
        }
    }
}
