//! The image, the chart and the compose file, checked with the real tools: hadolint on the
//! Dockerfile; `helm lint --strict` and `helm template` of the chart with every values file in
//! its `ci/` folder, each manifest validated against Kubernetes 1.33's schemas
//! (`kubernetes-validate --strict`, offline: the schemas ship inside the package); and every
//! causeway container of the chart and of compose.yaml run through the real binary's
//! `--check-config` with its arguments and environment (the image's `ENV` included), the files
//! its secrets and volumes would mount stood in for by temporary ones.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
    process::Command,
};

use causeway_server::{config::Role, grpc::roles::SERVICES};
use causeway_tests::{pki::TestCa, tools::workspace_root};
use serde_json::Value;

use super::support::{
    Container, image_environment, succeed, tls_secret, venv_tool, yaml_documents,
};

fn chart() -> PathBuf {
    workspace_root().join("deploy/helm/causeway")
}

/// Every values file the chart is tested with.
fn values_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(chart().join("ci"))
        .expect("deploy/helm/causeway/ci")
        .map(|entry| entry.expect("an entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 3, "values files: {files:?}");
    files
}

#[test]
fn the_dockerfile_passes_hadolint() {
    let dockerfile = workspace_root().join("Dockerfile");
    succeed(Command::new(venv_tool("hadolint")).arg(&dockerfile));
    let text = std::fs::read_to_string(&dockerfile).expect("Dockerfile");
    assert!(text.contains("USER 65532"), "a non-root user");
    assert!(text.contains("HEALTHCHECK"), "a health check");
    assert!(workspace_root().join(".dockerignore").exists());
}

#[test]
fn the_chart_lints_strictly_with_every_values_file() {
    let helm = venv_tool("helm");
    succeed(Command::new(&helm).args(["lint", "--strict"]).arg(chart()));
    for values in values_files() {
        succeed(
            Command::new(&helm)
                .args(["lint", "--strict"])
                .arg(chart())
                .arg("--values")
                .arg(&values),
        );
    }
}

#[test]
fn the_schema_refuses_values_that_cannot_work() {
    let helm = venv_tool("helm");
    for (set, complaint) in [
        ("roles.command.replicas=0", "replicas"),
        ("stores.mongodbUrl=postgres://db", "mongodbUrl"),
        ("log.format=xml", "format"),
        (
            "securityContext.allowPrivilegeEscalation=true",
            "allowPrivilegeEscalation",
        ),
    ] {
        let output = Command::new(&helm)
            .args(["template", "causeway"])
            .arg(chart())
            .args(["--set", set])
            .output()
            .expect("helm runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{set} rendered");
        assert!(stderr.contains(complaint), "{set}: {stderr}");
    }
}

/// The chart rendered with `values`: its manifests, validated against Kubernetes 1.33.
fn render(values: &Path, dir: &Path) -> Vec<Value> {
    let rendered = succeed(
        Command::new(venv_tool("helm"))
            .args(["template", "causeway"])
            .arg(chart())
            .arg("--values")
            .arg(values),
    );
    let file = dir.join("rendered.yaml");
    std::fs::write(&file, &rendered).expect("rendered manifests");
    let report = succeed(
        Command::new(venv_tool("kubernetes-validate"))
            .args(["--strict", "--kubernetes-version", "1.33.0", "--quiet"])
            .arg(&file),
    );
    let manifests = yaml_documents(&rendered);
    // Only the Prometheus Operator's kinds have no schema in Kubernetes; nothing else may be
    // left unvalidated.
    for line in report.lines().filter(|l| !l.trim().is_empty()) {
        assert!(
            line.contains("Couldn't find schema for kind ServiceMonitor")
                || line.contains("Couldn't find schema for kind PrometheusRule"),
            "{}: {line}",
            values.display()
        );
    }
    manifests
}

/// What the operator creates beside the chart (named in its values): the databases' Secret.
fn outside_secret(name: &str) -> BTreeMap<String, String> {
    match name {
        "causeway-databases" => BTreeMap::from([
            (
                "KURRENTDB_URL".to_owned(),
                "kurrentdb://causeway:secret@kurrent-1.db.example.com:2113?tls=true".to_owned(),
            ),
            (
                "MONGODB_URL".to_owned(),
                "mongodb://causeway:secret@mongo-1.db.example.com:27017/?replicaSet=rs0&tls=true"
                    .to_owned(),
            ),
        ]),
        other => panic!("the chart refers to a Secret {other} no test provides"),
    }
}

/// The data of every ConfigMap and Secret rendered, by name.
fn config_data(manifests: &[Value]) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut data = BTreeMap::new();
    for manifest in manifests {
        let field = match manifest["kind"].as_str() {
            Some("ConfigMap") => "data",
            Some("Secret") => "stringData",
            _ => continue,
        };
        let values = manifest[field]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().expect("a string").to_owned()))
                    .collect()
            })
            .unwrap_or_default();
        let name = manifest["metadata"]["name"].as_str().expect("a name");
        data.insert(name.to_owned(), values);
    }
    data
}

/// Every container of every Deployment, with its environment resolved, and where its volumes
/// are mounted (volume name by path).
fn containers(manifests: &[Value]) -> Vec<(Container, BTreeMap<String, String>, Value)> {
    let data = config_data(manifests);
    let lookup = |source: &Value, key: Option<&str>| -> BTreeMap<String, String> {
        let name = source["name"].as_str().expect("a name");
        let found = data
            .get(name)
            .cloned()
            .unwrap_or_else(|| outside_secret(name));
        match key {
            Some(key) => BTreeMap::from([(
                key.to_owned(),
                found
                    .get(key)
                    .cloned()
                    .unwrap_or_else(|| panic!("{name} has no {key}")),
            )]),
            None => found,
        }
    };
    let mut found = Vec::new();
    for deployment in manifests.iter().filter(|m| m["kind"] == "Deployment") {
        let pod = &deployment["spec"]["template"]["spec"];
        for spec in pod["containers"].as_array().expect("containers") {
            let mut env = image_environment();
            for from in spec["envFrom"].as_array().into_iter().flatten() {
                env.extend(lookup(&from["configMapRef"], None));
            }
            for var in spec["env"].as_array().into_iter().flatten() {
                let name = var["name"].as_str().expect("a name").to_owned();
                let value = match var["valueFrom"]["secretKeyRef"].as_object() {
                    Some(_) => {
                        let key = var["valueFrom"]["secretKeyRef"]["key"].as_str();
                        lookup(&var["valueFrom"]["secretKeyRef"], key)
                            .into_values()
                            .next()
                            .expect("a value")
                    }
                    None => var["value"].as_str().expect("a literal value").to_owned(),
                };
                env.insert(name, value);
            }
            let binary = match spec["name"].as_str() {
                Some("gateway") => "causeway-gateway",
                _ => "causeway-server",
            };
            let mounts = spec["volumeMounts"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|m| {
                    (
                        m["mountPath"].as_str().expect("a path").to_owned(),
                        m["name"].as_str().expect("a volume").to_owned(),
                    )
                })
                .collect();
            let args = spec["args"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|a| a.as_str().expect("an argument").to_owned())
                .collect();
            let container = Container {
                name: format!("{} {}", deployment["metadata"]["name"], spec["name"]),
                binary,
                args,
                env,
            };
            found.push((container, mounts, spec.clone()));
        }
    }
    found
}

/// Stand-ins for a pod's volumes: a TLS Secret's files, or an empty directory.
fn stand_ins(
    mounts: &BTreeMap<String, String>,
    ca: &TestCa,
    dir: &Path,
) -> BTreeMap<String, PathBuf> {
    mounts
        .iter()
        .map(|(path, volume)| {
            let at = dir.join(volume);
            let stand_in = match volume.as_str() {
                "tls" => tls_secret(ca, &at, false),
                "client-tls" => tls_secret(ca, &at, true),
                _ => {
                    std::fs::create_dir_all(&at).expect("a directory");
                    at
                }
            };
            (path.clone(), stand_in)
        })
        .collect()
}

/// Every exec probe (the servers' under TLS) is the image's own binary asking `health` with
/// arguments it accepts and files it can load: run with the container's environment against a
/// port nothing listens on, it fails for want of an answer there, not for its arguments or its
/// TLS files.
fn assert_exec_probes_reach_for_their_server(
    container: &Container,
    spec: &Value,
    mounts: &BTreeMap<String, PathBuf>,
) -> usize {
    let mut checked = 0;
    for probe in ["readinessProbe", "livenessProbe"] {
        let Some(command) = spec[probe]["exec"]["command"].as_array() else {
            continue;
        };
        let command: Vec<&str> = command
            .iter()
            .map(|a| a.as_str().expect("an argument"))
            .collect();
        assert_eq!(
            command[..2],
            ["/usr/local/bin/causeway", "health"],
            "{}",
            container.name
        );
        // Nothing listens there: the port was free a moment ago.
        let addr = format!("127.0.0.1:{}", causeway_tests::tools::free_port());
        let output = container.run(mounts, &command[1..], &["--addr", &addr, "--timeout", "2s"]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.code() == Some(1) && stderr.contains(&addr),
            "{} {probe} {command:?}: {} {stderr}",
            container.name,
            output.status
        );
        checked += 1;
    }
    checked
}

/// The security settings the issue asks of every container.
fn assert_locked_down(container: &Container, spec: &Value) {
    let security = &spec["securityContext"];
    assert_eq!(
        security["readOnlyRootFilesystem"], true,
        "{}",
        container.name
    );
    assert_eq!(
        security["allowPrivilegeEscalation"], false,
        "{}",
        container.name
    );
    assert_eq!(
        security["capabilities"]["drop"][0], "ALL",
        "{}",
        container.name
    );
    assert!(
        spec["resources"]["requests"].is_object(),
        "{}",
        container.name
    );
    assert!(spec["readinessProbe"].is_object(), "{}", container.name);
    assert!(spec["livenessProbe"].is_object(), "{}", container.name);
}

#[test]
fn every_rendered_manifest_is_valid_kubernetes_and_every_container_passes_check_config() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ca = TestCa::new("causeway chart test CA", dir.path());
    for values in values_files() {
        let stem = values
            .file_stem()
            .expect("a name")
            .to_string_lossy()
            .into_owned();
        let case = dir.path().join(&stem);
        std::fs::create_dir_all(&case).expect("case dir");
        let manifests = render(&values, &case);
        let kinds: BTreeSet<&str> = manifests
            .iter()
            .filter_map(|m| m["kind"].as_str())
            .collect();
        for kind in ["Deployment", "Service", "PodDisruptionBudget", "ConfigMap"] {
            assert!(kinds.contains(kind), "{stem}: no {kind} in {kinds:?}");
        }
        let containers = containers(&manifests);
        let mut exec_probes = 0;
        let roles: BTreeSet<String> = containers
            .iter()
            .filter(|(c, _, _)| c.binary == "causeway-server")
            .map(|(c, _, _)| c.args.join(" "))
            .collect();
        assert_eq!(
            roles,
            BTreeSet::from(
                ["--role command", "--role query", "--role projection"].map(String::from)
            ),
            "{stem}"
        );
        for (container, mounts, spec) in &containers {
            assert_locked_down(container, spec);
            let stand_ins = stand_ins(mounts, &ca, &case.join(&container.name));
            container.assert_valid(&stand_ins);
            exec_probes += assert_exec_probes_reach_for_their_server(container, spec, &stand_ins);
        }
        // With TLS on, every server container's two probes are the binary's own.
        let tls = stem.contains("tls");
        let servers = containers
            .iter()
            .filter(|(c, _, _)| c.binary == "causeway-server")
            .count();
        assert_eq!(
            exec_probes,
            if tls { 2 * servers } else { 0 },
            "{stem}: exec probes"
        );
        let gateway = &containers
            .iter()
            .find(|(c, _, _)| c.binary == "causeway-gateway")
            .expect("a gateway")
            .0;
        assert_routes_every_service_to_its_role(
            &stem,
            &gateway.env["CAUSEWAY_GATEWAY_UPSTREAM"],
            &gateway.env["CAUSEWAY_GATEWAY_UPSTREAM_FOR"],
        );
    }
}

/// The gateway sends every service to the role that serves it (`SERVICES`, the server's own
/// list): commands to the default upstream, the rest by `--upstream-for`.
fn assert_routes_every_service_to_its_role(case: &str, default: &str, routed: &str) {
    let routed: BTreeMap<&str, &str> = routed
        .split(',')
        .map(|entry| entry.split_once('=').expect("service=uri"))
        .collect();
    for (service, role) in SERVICES {
        let target = routed.get(service).copied().unwrap_or(default);
        let host = target.split("://").nth(1).and_then(|t| t.split(':').next());
        assert_eq!(
            host,
            Some(format!("causeway-{role}").as_str()),
            "{case}: {service} goes to {target}"
        );
        assert_eq!(
            routed.contains_key(service),
            *role != Role::Command,
            "{case}: {service}"
        );
    }
}

#[test]
fn the_charts_alert_rules_are_the_ones_promtool_tests() {
    let copy = std::fs::read_to_string(chart().join("files/alerts.yml")).expect("chart copy");
    let original = std::fs::read_to_string(workspace_root().join("deploy/prometheus/alerts.yml"))
        .expect("deploy/prometheus/alerts.yml");
    assert_eq!(
        copy, original,
        "deploy/helm/causeway/files/alerts.yml differs from deploy/prometheus/alerts.yml: copy it"
    );
}

#[test]
fn every_causeway_container_of_compose_yaml_passes_check_config() {
    let text = std::fs::read_to_string(workspace_root().join("compose.yaml")).expect("compose");
    let compose = yaml_documents(&text).remove(0);
    let services = compose["services"].as_object().expect("services");
    for needed in ["kurrentdb", "mongodb", "prometheus", "jaeger", "gateway"] {
        assert!(
            services.contains_key(needed),
            "compose.yaml has no {needed}"
        );
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let mut checked = BTreeSet::new();
    for (name, service) in services {
        let binary = match service["build"]["args"]["BINARY"].as_str() {
            Some("causeway-server") => "causeway-server",
            Some("causeway-gateway") => "causeway-gateway",
            Some(other) => panic!("{name} builds {other}"),
            None => continue,
        };
        let mut env = image_environment();
        for (key, value) in service["environment"].as_object().expect("an environment") {
            let value = match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            env.insert(key.clone(), value);
        }
        let args = service["command"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|a| a.as_str().expect("an argument").to_owned())
            .collect();
        let mounts = service["volumes"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|volume| {
                let spec = volume.as_str().expect("short volume syntax");
                let path = spec.split(':').nth(1).expect("volume:path").to_owned();
                let stand_in = dir.path().join(name).join(path.trim_start_matches('/'));
                std::fs::create_dir_all(&stand_in).expect("a directory");
                (path, stand_in)
            })
            .collect();
        let container = Container {
            name: format!("compose.yaml {name}"),
            binary,
            args,
            env,
        };
        container.assert_valid(&mounts);
        checked.insert(name.clone());
    }
    assert_eq!(
        checked,
        BTreeSet::from(["command", "gateway", "projection", "query"].map(String::from))
    );
}

#[test]
fn prometheus_for_compose_loads_the_alert_rules() {
    succeed(
        Command::new("promtool")
            .args(["check", "config"])
            .arg(workspace_root().join("deploy/prometheus/prometheus.yml")),
    );
}
