//! The KurrentDB double checked by a second official client: KurrentDB's Node.js client
//! (`@kurrent/kurrentdb-client`, installed by `scripts/setup-test-tools` into
//! `.venv-tools/node/`), whose appends, deletes and subscriptions use its own gRPC code. It runs
//! `kurrentdb_node/double.cjs` against the standalone `kurrentdb-double` binary: appends and
//! expected-revision errors, delete and tombstone errors (read from their trailers), a filtered
//! subscription's checkpoints, system events and a subscription falling behind.

use std::{
    io::{BufRead, BufReader},
    path::PathBuf,
    process::{Child, Command, Output, Stdio},
    sync::mpsc,
    time::Duration,
};

use causeway_tests::tools::workspace_root;

/// Longest the Node.js run may take (the script also stops itself sooner).
const LIMIT: Duration = Duration::from_secs(120);

/// The installed client's `node_modules`; a missing install fails with the command to run.
fn node_modules() -> PathBuf {
    let modules = workspace_root().join(".venv-tools/node/node_modules");
    assert!(
        modules
            .join("@kurrent/kurrentdb-client/package.json")
            .exists(),
        "@kurrent/kurrentdb-client not found under {}: run scripts/setup-test-tools \
         (scripts/test does it for you)",
        modules.display()
    );
    modules
}

/// The standalone double on a free port, stopped on drop.
struct DoubleProcess {
    child: Child,
    url: String,
}

impl DoubleProcess {
    fn start() -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kurrentdb-double"))
            .args(["--port", "0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start kurrentdb-double");
        let stdout = child.stdout.take().expect("its stdout");
        // It prints its connection string once it accepts connections.
        let mut url = String::new();
        BufReader::new(stdout)
            .read_line(&mut url)
            .expect("read the connection string");
        let url = url.trim().to_owned();
        assert!(url.starts_with("kurrentdb://127.0.0.1:"), "printed {url:?}");
        Self { child, url }
    }
}

impl Drop for DoubleProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `node <script> <url>`, killing it if it outlives [`LIMIT`].
fn run_node(script: PathBuf, url: &str) -> Output {
    let child = Command::new("node")
        .arg(&script)
        .arg(url)
        .env("NODE_PATH", node_modules())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node on the PATH (Node.js 20 or later)");
    let pid = child.id();
    let (done, outcome) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(child.wait_with_output());
    });
    match outcome.recv_timeout(LIMIT) {
        Ok(output) => output.expect("node ran"),
        Err(_) => {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            panic!("node did not finish within {LIMIT:?}");
        }
    }
}

#[test]
fn the_nodejs_client_finds_the_double_behaving_like_kurrentdb() {
    let double = DoubleProcess::start();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/kurrentdb_node/double.cjs");
    let output = run_node(script, &double.url);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the Node.js checks failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    for check in [
        "appends",
        "deletes",
        "filteredCheckpoints",
        "systemEventsAndFallingBehind",
    ] {
        assert!(
            stdout.lines().any(|line| line == format!("ok {check}")),
            "{check} did not run:\n{stdout}"
        );
    }
}
