//! An external identity provider outside Rust: PyJWT with `cryptography` (installed into
//! `.venv-tools` by `scripts/tools.d/pyjwt.sh`) makes its key pairs and signs its tokens,
//! through `tests/fixtures/auth/external_issuer.py`. What Causeway accepts from it, it would
//! accept from any standard OpenID/OAuth2 issuer.

use std::{
    io::Write,
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

use serde_json::Value;

use crate::tools::workspace_root;

/// One signing key of the provider.
#[derive(Debug, Clone)]
pub struct ProviderKey {
    /// Its algorithm (`ES256`, `RS256` or `EdDSA`).
    pub algorithm: String,
    /// Its key id.
    pub kid: String,
    /// The private key (PKCS#8 PEM) the provider signs with.
    pub private_pem: PathBuf,
    /// The public key as the provider's JWKS lists it.
    pub jwk: Value,
}

impl ProviderKey {
    /// A new key pair of `algorithm` named `kid`, its private half written into `dir`.
    pub fn generate(dir: &Path, algorithm: &str, kid: &str) -> Self {
        let private_pem = dir.join(format!("{kid}.pem"));
        let output = script(&["keygen", algorithm, kid], &private_pem, None);
        let jwk = serde_json::from_str(output.trim()).expect("keygen prints a JWK");
        Self {
            algorithm: algorithm.to_owned(),
            kid: kid.to_owned(),
            private_pem,
            jwk,
        }
    }

    /// A token with `claims`, signed by PyJWT with this key and naming its `kid`.
    pub fn mint(&self, claims: &Value) -> String {
        self.mint_as(&self.kid, claims)
    }

    /// A token with `claims` signed with this key but naming key `kid`.
    pub fn mint_as(&self, kid: &str, claims: &Value) -> String {
        let args = ["mint", self.algorithm.as_str(), kid];
        script(&args, &self.private_pem, Some(&claims.to_string()))
            .trim()
            .to_owned()
    }
}

/// The Python of `.venv-tools`, or `$CAUSEWAY_PYTHON`.
pub fn python() -> PathBuf {
    let path = std::env::var_os("CAUSEWAY_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(".venv-tools/bin/python"));
    assert!(
        path.exists(),
        "python not found at {}: run scripts/setup-test-tools (it installs PyJWT)",
        path.display()
    );
    path
}

/// Runs the provider script with `args` and the key file, feeding `stdin`; its stdout.
fn script(args: &[&str], key: &Path, stdin: Option<&str>) -> String {
    let script = workspace_root().join("tests/fixtures/auth/external_issuer.py");
    let mut child = Command::new(python())
        .arg(script)
        .args(args)
        .arg(key)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python starts");
    if let Some(mut input) = child.stdin.take() {
        input
            .write_all(stdin.unwrap_or_default().as_bytes())
            .expect("write the claims");
    }
    let output = child.wait_with_output().expect("python ends");
    assert!(
        output.status.success(),
        "external_issuer.py {args:?} failed (run scripts/setup-test-tools?): {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8 output")
}
