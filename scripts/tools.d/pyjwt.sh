# PyJWT 2.15.1 with cryptography 50.0.2 (PyPI): a standard JWT library outside Rust, which the
# auth tests use as an external identity provider would (ES256/RS256 keys, a JWKS, tokens).
# Sourced by scripts/setup-test-tools with $venv set; idempotent.
PYJWT_VERSION="2.15.1"
CRYPTOGRAPHY_VERSION="50.0.2"
if ! "$venv/bin/pip" show pyjwt 2>/dev/null | grep -q "^Version: $PYJWT_VERSION$" \
  || ! "$venv/bin/pip" show cryptography 2>/dev/null | grep -q "^Version: $CRYPTOGRAPHY_VERSION$"; then
  "$venv/bin/pip" install --quiet --disable-pip-version-check \
    "pyjwt==$PYJWT_VERSION" "cryptography==$CRYPTOGRAPHY_VERSION"
fi
"$venv/bin/python" -c "import jwt, cryptography; from jwt.algorithms import ECAlgorithm" >/dev/null 2>&1 \
  || { echo "PyJWT with cryptography did not install" >&2; exit 1; }
