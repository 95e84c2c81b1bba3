# Prometheus and promtool 2.42 from Debian's package `prometheus`: the observability tests scrape a
# live server with a real Prometheus and check expositions and alert rules with promtool.
# Sourced by scripts/setup-test-tools; idempotent. Installs with apt (as root, or with sudo).
if ! command -v promtool >/dev/null 2>&1 || ! command -v prometheus >/dev/null 2>&1; then
  apt_get="apt-get"
  [ "$(id -u)" = 0 ] || apt_get="sudo apt-get"
  DEBIAN_FRONTEND=noninteractive $apt_get install -y --no-install-recommends prometheus >/dev/null \
    || { $apt_get update >/dev/null && DEBIAN_FRONTEND=noninteractive $apt_get install -y --no-install-recommends prometheus >/dev/null; }
fi
promtool --version >/dev/null 2>&1 || { echo "promtool did not install" >&2; exit 1; }
