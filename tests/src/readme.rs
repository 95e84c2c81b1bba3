//! The README's shell examples as a test: every fenced `sh` block preceded by the marker
//! `<!-- readme-test -->` runs, in order, in one bash session against a live server and gateway
//! on a fresh data directory, so the examples a newcomer copies cannot drift from what works.
//!
//! Conventions the README follows so its blocks run unchanged:
//! - the server is `127.0.0.1:50051` and the gateway `127.0.0.1:8080`, its data directory
//!   `--data-dir ./data`; the runner points all three at the servers it started;
//! - `causeway-server` and `grpcurl` are on `PATH` (the runner puts the built binary and the
//!   installed tool there);
//! - a comment line `# => text` after a command is output the block must print (compared with
//!   runs of whitespace collapsed, so grpcurl's indentation does not matter);
//! - shell state (variables such as an id or a position taken from an earlier answer) carries
//!   from block to block.

use std::{path::Path, process::Stdio};

use tokio::process::Command;

/// The marker line before a block that runs.
pub const MARKER: &str = "<!-- readme-test -->";

/// One runnable block of the README.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// 1-based line of the block's first command in the README.
    pub line: usize,
    /// The shell text, without the `# =>` lines.
    pub script: String,
    /// What its output must contain.
    pub expected: Vec<String>,
}

/// The marked blocks of `markdown`, in order.
pub fn blocks(markdown: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut lines = markdown.lines().enumerate().peekable();
    while let Some((_, line)) = lines.next() {
        if line.trim() != MARKER {
            continue;
        }
        while lines.peek().is_some_and(|(_, l)| l.trim().is_empty()) {
            lines.next();
        }
        match lines.next() {
            Some((_, fence)) if fence.trim() == "```sh" => {}
            _ => continue,
        }
        let mut block = Block {
            line: lines.peek().map_or(0, |(n, _)| n + 1),
            script: String::new(),
            expected: Vec::new(),
        };
        for (_, line) in lines.by_ref() {
            if line.trim() == "```" {
                break;
            }
            match line.trim_start().strip_prefix("# =>") {
                Some(output) => block.expected.push(squeeze(output)),
                None => {
                    block.script.push_str(line);
                    block.script.push('\n');
                }
            }
        }
        blocks.push(block);
    }
    blocks
}

/// `text` with every run of whitespace made one space, trimmed.
pub fn squeeze(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Where the runner sends the README's addresses.
#[derive(Debug, Clone)]
pub struct Targets {
    /// The gRPC server, `host:port`.
    pub server: String,
    /// The REST gateway, `host:port`.
    pub gateway: String,
    /// The server's data directory.
    pub data_dir: String,
}

/// Runs `blocks` in one bash session with `tools` (directories) first on `PATH`; returns the
/// first block that failed (non-zero exit or missing output) with what it printed.
pub async fn run(blocks: &[Block], targets: &Targets, tools: &[&Path]) -> Result<(), String> {
    let mut script = String::from("set -euo pipefail\n");
    for (index, block) in blocks.iter().enumerate() {
        let text = block
            .script
            .replace("127.0.0.1:50051", &targets.server)
            .replace("127.0.0.1:8080", &targets.gateway)
            .replace(
                "--data-dir ./data",
                &format!("--data-dir {}", targets.data_dir),
            );
        script.push_str(&format!("echo '@@block {index}@@'\n{text}\n"));
    }
    let mut path: Vec<String> = tools.iter().map(|t| t.display().to_string()).collect();
    path.push(std::env::var("PATH").unwrap_or_default());
    let path = path.join(":");
    let output = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .env("PATH", path)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| format!("cannot run bash: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let mut printed: Vec<String> = vec![String::new(); blocks.len()];
    let mut current = None;
    for line in stdout.lines() {
        if let Some(index) = line
            .strip_prefix("@@block ")
            .and_then(|rest| rest.strip_suffix("@@"))
            .and_then(|n| n.parse::<usize>().ok())
        {
            current = Some(index);
        } else if let Some(index) = current {
            printed[index].push_str(line);
            printed[index].push('\n');
        }
    }
    let reached = current.unwrap_or(0);
    if !output.status.success() {
        let block = &blocks[reached];
        return Err(format!(
            "README block at line {} failed ({}):\n{}\n--- stdout ---\n{}\n--- stderr ---\n{stderr}",
            block.line, output.status, block.script, printed[reached]
        ));
    }
    for (block, printed) in blocks.iter().zip(&printed) {
        let seen = squeeze(printed);
        for expected in &block.expected {
            if !seen.contains(expected.as_str()) {
                return Err(format!(
                    "README block at line {} did not print {expected:?}:\n{}\n--- stdout ---\n{printed}",
                    block.line, block.script
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_marked_blocks_with_their_expected_output() {
        let markdown = "intro\n```sh\nnot marked\n```\n<!-- readme-test -->\n\n```sh\n\
                        X=1\necho $X\n# => 1\n```\ntext\n";
        let found = blocks(markdown);
        assert_eq!(
            found,
            [Block {
                line: 8,
                script: "X=1\necho $X\n".into(),
                expected: vec!["1".into()],
            }]
        );
    }

    #[tokio::test]
    async fn a_block_that_fails_or_prints_something_else_is_reported() {
        let targets = Targets {
            server: "s".into(),
            gateway: "g".into(),
            data_dir: "d".into(),
        };
        let ok = blocks(
            "<!-- readme-test -->\n```sh\nX=127.0.0.1:8080\n```\n<!-- readme-test -->\n```sh\necho \"at  $X\"\n# => at g\n```\n",
        );
        run(&ok, &targets, &[Path::new("/nonexistent")])
            .await
            .unwrap();
        let wrong = blocks("<!-- readme-test -->\n```sh\necho other\n# => expected\n```\n");
        let err = run(&wrong, &targets, &[Path::new("/nonexistent")])
            .await
            .unwrap_err();
        assert!(err.contains("did not print"), "{err}");
        let failing = blocks("<!-- readme-test -->\n```sh\nfalse\n```\n");
        let err = run(&failing, &targets, &[Path::new("/nonexistent")])
            .await
            .unwrap_err();
        assert!(err.contains("failed"), "{err}");
    }
}
