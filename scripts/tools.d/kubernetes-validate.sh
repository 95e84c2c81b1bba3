# kubernetes-validate 1.37.0 (PyPI): validates manifests against the Kubernetes OpenAPI schemas
# it ships (1.33 among them), offline. The chart tests (tests/tests/deploy) run every rendered
# manifest through it with --strict. Sourced by scripts/setup-test-tools; idempotent.
KUBERNETES_VALIDATE_VERSION="1.37.0"
if ! "$venv/bin/pip" show kubernetes-validate 2>/dev/null | grep -q "^Version: $KUBERNETES_VALIDATE_VERSION$"; then
  "$venv/bin/pip" install --quiet --disable-pip-version-check \
    "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
fi
"$venv/bin/kubernetes-validate" --version >/dev/null 2>&1 \
  || { echo "kubernetes-validate did not install" >&2; exit 1; }
