# @kurrent/kurrentdb-client 1.3.1 (npm): KurrentDB's official Node.js client. The KurrentDB double
# test (tests/tests/kurrentdb_node.rs) drives the double with it, a client other than the Rust
# crate the adapter uses. Installed with npm into $venv/node (git-ignored with the rest of
# .venv-tools); needs Node.js 20 or later and npm on the PATH.
# Sourced by scripts/setup-test-tools with $venv set; idempotent.
KURRENTDB_NODE_CLIENT_VERSION="1.3.1"
kurrentdb_node_dir="$venv/node"
kurrentdb_node_package="$kurrentdb_node_dir/node_modules/@kurrent/kurrentdb-client/package.json"
if ! grep -q "\"version\": \"$KURRENTDB_NODE_CLIENT_VERSION\"" "$kurrentdb_node_package" 2>/dev/null; then
  command -v npm >/dev/null 2>&1 || { echo "npm is needed for @kurrent/kurrentdb-client" >&2; exit 1; }
  mkdir -p "$kurrentdb_node_dir"
  npm install --prefix "$kurrentdb_node_dir" --no-audit --no-fund --silent \
    "@kurrent/kurrentdb-client@$KURRENTDB_NODE_CLIENT_VERSION"
fi
(cd "$kurrentdb_node_dir" && node -e "require('@kurrent/kurrentdb-client')") \
  || { echo "@kurrent/kurrentdb-client did not install" >&2; exit 1; }
