//! The binaries with their TLS flags, as an operator starts them: `causeway-server` with a
//! certificate, a client CA and a certificate identity's roles on its command line, and
//! `causeway-gateway` serving HTTPS and reaching the server over mTLS with settings from its
//! environment. A client calls through the gateway over HTTPS, and straight to the server as
//! the certificate identity, without a token.

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::Duration,
};

use causeway_client::{Client, RetryPolicy, inventory::RegisterProductRequest};
use causeway_tests::{
    pki::{LeafFiles, TestCa},
    tools::{KillOnDrop, free_port, health, workspace_binary},
};
use reqwest::StatusCode;

/// No environment at all for a probe: it speaks plaintext.
const NO_ENV: [(&str, &str); 0] = [];

/// The batch job the server's command line gives a role.
const IMPORTER: &str = "spiffe://causeway.test/ns/stock/sa/importer";

fn spawn(binary: &str, args: &[&str], env: &[(&str, &Path)]) -> KillOnDrop {
    let child = Command::new(workspace_binary(binary))
        .args(args)
        .args(["--metrics-listen", "off"])
        .envs(env.iter().map(|(k, v)| (*k, v.as_os_str())))
        .env("CAUSEWAY_LOG", "warn")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the binary starts");
    KillOnDrop(child)
}

/// A server with a certificate, a client CA and a certificate identity's roles on its command
/// line, and a gateway serving HTTPS that reaches it over mTLS with settings from its
/// environment, both answering.
struct Deployment {
    ca: TestCa,
    ca_file: PathBuf,
    server: LeafFiles,
    https: LeafFiles,
    server_listen: String,
    gateway_listen: String,
    http: reqwest::Client,
    _processes: [KillOnDrop; 2],
    _dirs: [tempfile::TempDir; 2],
}

impl Deployment {
    async fn start() -> Self {
        let pki = tempfile::tempdir().expect("temp dir");
        let data = tempfile::tempdir().expect("temp dir");
        let ca = TestCa::new("Causeway Test CA", pki.path());
        let ca_file = ca.write("ca");
        let server = ca.write_leaf(&ca.server(), "server");
        let https = ca.write_leaf(&ca.server(), "gateway");
        let upstream = ca.write_leaf(
            &ca.client("spiffe://causeway.test/ns/edge/sa/gateway"),
            "up",
        );
        let (server_port, gateway_port) = (free_port(), free_port());
        let server_listen = format!("127.0.0.1:{server_port}");
        let role = format!("{IMPORTER}=inventory.staff");
        let (cert, key, client_ca) = (path(&server.certificate), path(&server.key), path(&ca_file));
        let server_process = spawn(
            "causeway-server",
            &[
                "--listen",
                &server_listen,
                "--data-dir",
                &path(data.path()),
                "--tls-cert",
                &cert,
                "--tls-key",
                &key,
                "--tls-client-ca",
                &client_ca,
                "--tls-client-role",
                &role,
            ],
            &[],
        );
        let gateway_listen = format!("127.0.0.1:{gateway_port}");
        let upstream_url = format!("https://127.0.0.1:{server_port}");
        let gateway_process = spawn(
            "causeway-gateway",
            &["--listen", &gateway_listen, "--upstream", &upstream_url],
            &[
                ("CAUSEWAY_GATEWAY_TLS_CERT", &https.certificate),
                ("CAUSEWAY_GATEWAY_TLS_KEY", &https.key),
                ("CAUSEWAY_GATEWAY_UPSTREAM_CA", &ca_file),
                (
                    "CAUSEWAY_GATEWAY_UPSTREAM_CLIENT_CERT",
                    &upstream.certificate,
                ),
                ("CAUSEWAY_GATEWAY_UPSTREAM_CLIENT_KEY", &upstream.key),
            ],
        );

        let http = reqwest::Client::builder()
            .use_rustls_tls()
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(ca.pem().as_bytes()).expect("CA"))
            .build()
            .expect("an HTTPS client");
        let gateway = format!("https://{gateway_listen}");
        let serving = async {
            loop {
                let health = http.get(format!("{gateway}/healthz")).send().await;
                if health.is_ok_and(|h| h.status() == StatusCode::OK) {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(60), serving)
            .await
            .expect("the gateway answers over HTTPS, its upstream over mTLS, within 60 s");
        Self {
            ca,
            ca_file,
            server,
            https,
            server_listen,
            gateway_listen,
            http,
            _processes: [server_process, gateway_process],
            _dirs: [pki, data],
        }
    }
}

fn path(p: &Path) -> String {
    p.to_str().expect("a UTF-8 path").to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_binaries_serve_tls_and_mtls_from_their_flags_and_environment() {
    let deployment = Deployment::start().await;
    let (http, ca) = (&deployment.http, &deployment.ca);
    let gateway = format!("https://{}", deployment.gateway_listen);
    let upstream_url = format!("https://{}", deployment.server_listen);
    let jwks = http
        .get(format!("{gateway}/.well-known/jwks.json"))
        .send()
        .await
        .expect("GET");
    assert_eq!(jwks.status(), StatusCode::OK);
    assert!(jwks.text().await.expect("a body").contains("Ed25519"));

    let importer = ca.client(IMPORTER);
    let job = Client::builder(&upstream_url)
        .tls_ca_certificate(ca.pem())
        .tls_client_identity(importer.certificate, importer.key)
        .retry_policy(RetryPolicy::default().max_attempts(1))
        .connect()
        .await
        .expect("mTLS to the server");
    job.inventory()
        .register_product(RegisterProductRequest {
            sku: "process-kettle".into(),
            name: "Kettle".into(),
            ..Default::default()
        })
        .await
        .expect("the role from --tls-client-role, no token");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_health_subcommands_speak_tls_to_the_processes_they_run_beside() {
    let deployment = Deployment::start().await;
    let served = || {
        vec![
            ("CAUSEWAY_TLS_CERT", deployment.server.certificate.clone()),
            ("CAUSEWAY_TLS_KEY", deployment.server.key.clone()),
            ("CAUSEWAY_TLS_CLIENT_CA", deployment.ca_file.clone()),
        ]
    };
    let server = deployment.server_listen.as_str();

    // Without the server's TLS settings the probe speaks plaintext, and a TLS server does not
    // answer it.
    let (ok, printed) = health("causeway-server", server, NO_ENV).await;
    assert!(!ok, "a plaintext probe of a TLS server: {printed}");

    // With them, but the server demands a client certificate: refused before connecting,
    // saying what is missing.
    let (ok, printed) = health("causeway-server", server, served()).await;
    assert!(!ok, "{printed}");
    assert!(printed.contains("--client-cert"), "{printed}");

    // With a client certificate the CA signed: SERVING. Only the server's own certificate
    // is trusted, and its file is what the probe read.
    let probe = deployment.ca.write_leaf(
        &deployment.ca.client("spiffe://causeway.test/probe"),
        "probe",
    );
    let mut env = served();
    env.push(("CAUSEWAY_HEALTH_CLIENT_CERT", probe.certificate.clone()));
    env.push(("CAUSEWAY_HEALTH_CLIENT_KEY", probe.key.clone()));
    let (ok, printed) = health("causeway-server", server, env.clone()).await;
    assert!(ok, "{printed}");
    assert!(printed.contains("SERVING"), "{printed}");

    // Pinned to another certificate (the gateway's, from the same CA), the probe refuses the
    // server.
    env[0].1 = deployment.https.certificate.clone();
    let (ok, printed) = health("causeway-server", server, env).await;
    assert!(!ok, "a probe pinned to another certificate: {printed}");

    // The gateway serves HTTPS; its probe reads the gateway's certificate setting.
    let gateway = deployment.gateway_listen.as_str();
    let (ok, printed) = health("causeway-gateway", gateway, NO_ENV).await;
    assert!(!ok, "a plain HTTP probe of an HTTPS gateway: {printed}");
    let https = vec![
        (
            "CAUSEWAY_GATEWAY_TLS_CERT",
            deployment.https.certificate.clone(),
        ),
        ("CAUSEWAY_GATEWAY_TLS_KEY", deployment.https.key.clone()),
    ];
    let (ok, printed) = health("causeway-gateway", gateway, https).await;
    assert!(ok, "{printed}");
}
