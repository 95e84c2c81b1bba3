# oteltest 0.49.0 (PyPI): its OTLP sink, a real OpenTelemetry gRPC receiver, which the trace test
# (tests/tests/traces.rs through tests/otel/sink.py) starts on a loopback port it binds itself, to receive the spans
# the server and the gateway export. Sourced by scripts/setup-test-tools; idempotent.
OTELTEST_VERSION="0.49.0"
if ! "$venv/bin/pip" show oteltest 2>/dev/null | grep -q "^Version: $OTELTEST_VERSION$"; then
  "$venv/bin/pip" install --quiet --disable-pip-version-check "oteltest==$OTELTEST_VERSION"
fi
"$venv/bin/python" -c "import oteltest.sink" || { echo "oteltest did not install" >&2; exit 1; }
