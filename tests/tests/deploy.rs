//! Deployment: the gateway in front of a deployment split by role, `--check-config` of both
//! binaries, the Dockerfile (hadolint), the Helm chart (helm lint, manifests validated against
//! Kubernetes 1.33, every container's settings through `--check-config`) and compose.yaml.

mod split_roles;
