//! `--check-config` of both binaries: a good configuration prints one OK line and exits 0
//! without binding its ports (they are held by the test, so a bind would fail) or creating its
//! data directory; a bad one exits non-zero with the reason, naming the flag or variable and
//! never a secret. And the `health` subcommands the container images use.

use std::{collections::BTreeMap, net::TcpListener, path::PathBuf};

use causeway_tests::{
    TestServer,
    gateway::TestGateway,
    tools::{health, printed},
};

/// No environment at all for a probe: it finds its process by `--addr` alone.
const NO_ENV: [(&str, &str); 0] = [];

use super::support::Container;

fn server(args: &[&str], env: &[(&str, &str)]) -> Container {
    container("causeway-server", args, env)
}

fn gateway(args: &[&str], env: &[(&str, &str)]) -> Container {
    container("causeway-gateway", args, env)
}

fn container(binary: &'static str, args: &[&str], env: &[(&str, &str)]) -> Container {
    Container {
        name: binary.to_owned(),
        binary,
        args: args.iter().map(|a| (*a).to_owned()).collect(),
        env: env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    }
}

/// Runs the check; returns whether it passed, and stdout and stderr together.
fn check(container: &Container) -> (bool, String) {
    let output = container.check_config(&BTreeMap::new());
    (output.status.success(), printed(&output))
}

#[test]
fn a_good_server_configuration_is_ok_without_binding_or_creating_anything() {
    let held = TcpListener::bind("127.0.0.1:0").expect("a port");
    let port = held.local_addr().expect("addr").to_string();
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("not-yet");
    let data = data.to_str().expect("utf-8");
    let (ok, text) = check(&server(
        &["--role", "query", "--listen", &port, "--data-dir", data],
        &[
            ("CAUSEWAY_METRICS_LISTEN", &port),
            (
                "KURRENTDB_URL",
                "kurrentdb://events.internal:2113?tls=false",
            ),
            (
                "MONGODB_URL",
                "mongodb://reads.internal:27017/?replicaSet=rs0",
            ),
        ],
    ));
    assert!(ok, "{text}");
    assert_eq!(
        text.trim(),
        format!(
            "configuration OK: role query, gRPC on {port}, events in KurrentDB, read models in \
             MongoDB, authentication enabled"
        )
    );
    assert!(
        !PathBuf::from(data).exists(),
        "--check-config created {data}"
    );
}

/// Arguments, environment, and what the complaint must say.
type BadCase<'a> = (Vec<&'a str>, Vec<(&'a str, &'a str)>, &'a str);

#[test]
fn a_bad_server_configuration_fails_naming_what_is_wrong_and_no_secret() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().to_str().expect("utf-8");
    let file = dir.path().join("file");
    std::fs::write(&file, "x").expect("a file");
    let under_file = file.join("data");
    let missing_cert = dir.path().join("missing.crt");
    let cases: Vec<BadCase> = vec![
        (vec!["--token-ttl", "2days"], vec![], "--token-ttl"),
        (vec!["--role", "reader"], vec![], "--role"),
        (vec![], vec![("CAUSEWAY_LISTEN", "everywhere")], "--listen"),
        (
            vec!["--data-dir", under_file.to_str().expect("utf-8")],
            vec![],
            "is not a directory",
        ),
        (
            vec![],
            vec![("KURRENTDB_URL", "kurrentdb://admin:hunter2@:bad:port")],
            "KURRENTDB_URL",
        ),
        (
            vec![],
            vec![("MONGODB_URL", "mongodb://admin:hunter2@db:notaport/")],
            "MONGODB_URL",
        ),
        (
            vec![
                "--tls-cert",
                missing_cert.to_str().expect("utf-8"),
                "--tls-key",
                missing_cert.to_str().expect("utf-8"),
            ],
            vec![],
            "missing.crt",
        ),
        (
            vec!["--auth-issuer", "https://idp"],
            vec![],
            "--auth-audience",
        ),
    ];
    for (args, env, complaint) in cases {
        let mut argv = vec!["--metrics-listen", "off"];
        argv.extend(args.iter().copied());
        let mut vars = vec![("CAUSEWAY_DATA_DIR", data)];
        vars.extend(env.iter().copied());
        let (ok, text) = check(&server(&argv, &vars));
        assert!(!ok, "{args:?} {env:?} passed: {text}");
        assert!(text.contains(complaint), "{args:?} {env:?}: {text}");
        assert!(!text.contains("hunter2"), "a password in: {text}");
        assert!(!text.contains("configuration OK"), "{text}");
    }
}

#[test]
fn the_gateway_checks_its_upstreams_against_the_services_it_serves() {
    let held = TcpListener::bind("127.0.0.1:0").expect("a port");
    let port = held.local_addr().expect("addr").to_string();
    let (ok, text) = check(&gateway(
        &["--listen", &port, "--metrics-listen", &port],
        &[(
            "CAUSEWAY_GATEWAY_UPSTREAM_FOR",
            "causeway.orders.v1.OrderQueries=http://query:50051,\
             causeway.admin.v1.ProjectionAdmin=http://projection:50051",
        )],
    ));
    assert!(ok, "{text}");
    assert!(text.starts_with("configuration OK: HTTP on"), "{text}");
    assert!(
        text.contains("causeway.orders.v1.OrderQueries=http://query:50051/"),
        "{text}"
    );

    for (args, complaint) in [
        (
            vec!["--upstream-for", "causeway.orders.v1.OrderQuery=http://q:1"],
            "--upstream-for causeway.orders.v1.OrderQuery: the gateway serves no such service",
        ),
        (
            vec!["--upstream-for", "causeway.orders.v1.OrderQueries"],
            "--upstream-for",
        ),
        (
            vec!["--upstream-for", "causeway.orders.v1.OrderQueries=http://q"],
            "must be http://host:port",
        ),
        (vec!["--timeout", "0s"], "--timeout"),
    ] {
        let (ok, text) = check(&gateway(&args, &[]));
        assert!(!ok, "{args:?} passed: {text}");
        assert!(text.contains(complaint), "{args:?}: {text}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_health_subcommands_say_whether_a_process_serves() {
    let server = TestServer::start().await;
    let gateway = TestGateway::start(&server).await;
    let addr = server.url().trim_start_matches("http://").to_owned();
    let gateway_addr = gateway.url.trim_start_matches("http://").to_owned();
    let closed = TcpListener::bind("127.0.0.1:0")
        .expect("a port")
        .local_addr()
        .expect("addr")
        .to_string();
    let (ok, text) = health("causeway-server", &addr, NO_ENV).await;
    assert!(ok, "{text}");
    assert_eq!(text.trim(), format!("{addr}: SERVING"));
    let (ok, text) = health("causeway-gateway", &gateway_addr, NO_ENV).await;
    assert!(ok, "{text}");
    assert!(text.contains("\"SERVING\""), "{text}");
    for binary in ["causeway-server", "causeway-gateway"] {
        let (ok, text) = health(binary, &closed, NO_ENV).await;
        assert!(!ok, "{binary} found a closed port healthy: {text}");
        assert!(text.contains(&closed), "{text}");
    }
    gateway.stop().await;
}
