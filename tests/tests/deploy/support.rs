//! What the deployment tests share: the outside tools in `.venv-tools/`, YAML read through
//! PyYAML (the venv has it; no YAML crate is needed for tests), and a container's command and
//! environment run through a real binary's `--check-config`, its mounted files stood in for by
//! temporary ones.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
};

use causeway_tests::tools::{workspace_binary, workspace_root};
use serde_json::Value;

/// A tool installed by `scripts/setup-test-tools`; a missing one fails with the command to run.
pub fn venv_tool(name: &str) -> PathBuf {
    let path = workspace_root().join(".venv-tools/bin").join(name);
    assert!(
        path.exists(),
        "{name} not found at {}: run scripts/setup-test-tools (scripts/test does it for you)",
        path.display()
    );
    path
}

/// Runs `command`, failing the test with its output when it does not succeed.
pub fn succeed(command: &mut Command) -> String {
    let output = command
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{command:?} does not run: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Every document of a YAML stream, as JSON values (empty documents left out).
pub fn yaml_documents(yaml: &str) -> Vec<Value> {
    let mut child = Command::new(venv_tool("python"))
        .args([
            "-c",
            "import json, sys, yaml; \
             json.dump([d for d in yaml.safe_load_all(sys.stdin) if d is not None], sys.stdout)",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python runs");
    std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), yaml.as_bytes())
        .expect("YAML written");
    let output = child.wait_with_output().expect("python ends");
    assert!(
        output.status.success(),
        "the YAML does not parse: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON from python")
}

/// The environment the Dockerfile's `ENV` instruction gives every container of the image.
pub fn image_environment() -> BTreeMap<String, String> {
    let dockerfile =
        std::fs::read_to_string(workspace_root().join("Dockerfile")).expect("Dockerfile");
    let joined = dockerfile.replace("\\\n", " ");
    let line = joined
        .lines()
        .find(|l| l.starts_with("ENV "))
        .expect("the Dockerfile sets an environment");
    line["ENV ".len()..]
        .split_whitespace()
        .map(|pair| {
            let (name, value) = pair.split_once('=').expect("ENV name=value");
            (name.to_owned(), value.to_owned())
        })
        .collect()
}

/// A causeway container as a deployment describes it.
#[derive(Debug, Clone)]
pub struct Container {
    /// Where it is described (`chart default: causeway-command`), for messages.
    pub name: String,
    /// `causeway-server` or `causeway-gateway`.
    pub binary: &'static str,
    /// Its arguments.
    pub args: Vec<String>,
    /// Its environment, the image's included.
    pub env: BTreeMap<String, String>,
}

impl Container {
    /// Runs `<binary> <args> --check-config` with exactly this environment (nothing inherited),
    /// every path under a key of `mounts` moved to the value's directory.
    pub fn check_config(&self, mounts: &BTreeMap<String, PathBuf>) -> Output {
        let args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        self.run(mounts, &args, &["--check-config"])
    }

    /// Runs `<binary> <args> <extra>` with exactly this environment (nothing inherited), every
    /// path under a key of `mounts`, in the environment and in `args`, moved to the value's
    /// directory.
    pub fn run(&self, mounts: &BTreeMap<String, PathBuf>, args: &[&str], extra: &[&str]) -> Output {
        let moved = |value: &str| {
            mounts
                .iter()
                .find(|(at, _)| value.starts_with(at.as_str()))
                .map_or_else(
                    || value.to_owned(),
                    |(at, dir)| format!("{}{}", dir.display(), &value[at.len()..]),
                )
        };
        Command::new(workspace_binary(self.binary))
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, moved(v))))
            .env("RUST_BACKTRACE", "0")
            .env("NO_COLOR", "1")
            .args(args.iter().map(|a| moved(a)))
            .args(extra)
            .stdin(Stdio::null())
            .output()
            .expect("the binary runs")
    }

    /// [`Container::check_config`], failing the test unless it says OK.
    pub fn assert_valid(&self, mounts: &BTreeMap<String, PathBuf>) {
        let output = self.check_config(mounts);
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success() && stdout.starts_with("configuration OK"),
            "{} does not pass --check-config ({}):\n{stdout}\n{}\nargs {:?}\nenv {:?}",
            self.name,
            output.status,
            String::from_utf8_lossy(&output.stderr),
            self.args,
            self.env
        );
    }
}

/// A directory with the files a TLS secret holds: `tls.crt` and `tls.key` (a server
/// certificate for `names`, or a client one), and `ca.crt`.
pub fn tls_secret(ca: &causeway_tests::pki::TestCa, dir: &Path, client: bool) -> PathBuf {
    std::fs::create_dir_all(dir).expect("secret dir");
    let leaf = match client {
        true => ca.client("spiffe://causeway.test/gateway"),
        false => ca.server_for(&["causeway.internal", "localhost"]),
    };
    std::fs::write(dir.join("tls.crt"), &leaf.certificate).expect("tls.crt");
    std::fs::write(dir.join("tls.key"), &leaf.key).expect("tls.key");
    std::fs::write(dir.join("ca.crt"), ca.pem()).expect("ca.crt");
    dir.to_path_buf()
}
