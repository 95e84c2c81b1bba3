# Schemathesis 4.32.5 (PyPI), which fuzzes the REST gateway through its own /openapi.json.
# Sourced by scripts/setup-test-tools with $venv set; idempotent.
SCHEMATHESIS_VERSION="4.32.5"
if ! "$venv/bin/pip" show schemathesis 2>/dev/null | grep -q "^Version: $SCHEMATHESIS_VERSION$"; then
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi
"$venv/bin/schemathesis" --version >/dev/null 2>&1 || { echo "schemathesis did not install" >&2; exit 1; }
