# SecantusDB 0.7.0b3 (PyPI): a MongoDB wire-protocol server on WiredTiger that the MongoDB
# read-store tests start on loopback, as a replica set and with --standalone. It is GPL-2.0 and
# only ever runs as a separate process. Its dependencies (pymongo, numpy, shapely, ...) sit
# beside the other tools without conflict, so it shares $venv.
# Sourced by scripts/setup-test-tools with $venv set; idempotent.
SECANTUSDB_VERSION="0.7.0b3"
if ! "$venv/bin/pip" show SecantusDB 2>/dev/null | grep -q "^Version: $SECANTUSDB_VERSION$"; then
  "$venv/bin/pip" install --quiet --disable-pip-version-check "SecantusDB==$SECANTUSDB_VERSION"
fi
"$venv/bin/secantusd-py" --help >/dev/null 2>&1 || { echo "secantusd-py did not install" >&2; exit 1; }
