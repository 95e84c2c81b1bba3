//! Deployment: the gateway in front of a deployment split by role, `--check-config` and
//! `health` of both binaries, the Dockerfile (hadolint), the Helm chart (helm lint, manifests
//! validated against Kubernetes 1.33, every container's settings through `--check-config`) and
//! compose.yaml.

mod check_config;
mod packaging;
mod split_roles;
mod support;
