//! REST over HTTPS to the gateway, and gRPC over mTLS from the gateway to the server, with
//! certificates made by `rcgen` for each test: a client (reqwest) -> gateway (HTTPS) -> server
//! (mTLS with the gateway's client certificate). The gateway's certificate holds no roles, so
//! what a call may do is what its bearer token says; without a client certificate, or trusting
//! the wrong CA, the gateway cannot reach the server at all.

use std::path::PathBuf;

use causeway_gateway::config::Config as GatewayConfig;
use causeway_tests::{
    mtls::{MtlsServer, handshake, served_certificate},
    pki::{LeafFiles, TestCa},
};
use reqwest::StatusCode;
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};

/// The gateway's workload identity, as the mesh would name it.
const GATEWAY: &str = "spiffe://causeway.test/ns/edge/sa/gateway";

/// A gateway in this process, serving HTTPS on `127.0.0.1:0`.
struct Gateway {
    url: String,
    addr: std::net::SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), causeway_gateway::GatewayError>>,
}

impl Gateway {
    async fn start(config: GatewayConfig) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let url = format!("https://{addr}");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(causeway_gateway::run(listener, config, async {
            let _ = stopped.await;
        }));
        Self {
            url,
            addr,
            stop,
            task,
        }
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.expect("gateway task").expect("gateway");
    }
}

/// Gateway settings for `mtls`: HTTPS with a certificate from the test CA, and the upstream
/// over TLS trusting `upstream_ca`, presenting the gateway's client certificate when
/// `identity`.
fn gateway_config(mtls: &MtlsServer, upstream_ca: PathBuf, identity: bool) -> GatewayConfig {
    let mut config = GatewayConfig::with_upstream(mtls.url().parse().expect("upstream"));
    let https = mtls.ca.write_leaf(&mtls.ca.server(), "gateway-https");
    config.tls.tls_cert = Some(https.certificate);
    config.tls.tls_key = Some(https.key);
    config.tls.upstream_ca = Some(upstream_ca);
    if identity {
        let client = mtls
            .ca
            .write_leaf(&mtls.ca.client(GATEWAY), "gateway-client");
        config.tls.upstream_client_cert = Some(client.certificate);
        config.tls.upstream_client_key = Some(client.key);
    }
    config
}

/// An HTTPS client trusting only the test CA.
fn https_client(mtls: &MtlsServer) -> reqwest::Client {
    let ca = reqwest::Certificate::from_pem(mtls.ca.pem().as_bytes()).expect("the CA");
    reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(ca)
        .build()
        .expect("an HTTPS client")
}

#[tokio::test(flavor = "multi_thread")]
async fn rest_over_https_reaches_the_server_over_mtls_as_the_callers_token() {
    let mtls = MtlsServer::start(Vec::new()).await;
    let gateway = Gateway::start(gateway_config(&mtls, mtls.ca_file.clone(), true)).await;
    let http = https_client(&mtls);

    let health = http
        .get(format!("{}/healthz", gateway.url))
        .send()
        .await
        .expect("HTTPS to the gateway");
    assert_eq!(
        health.status(),
        StatusCode::OK,
        "the upstream answers over mTLS"
    );

    let clerk = mtls.token("stock-clerk", &["inventory.staff"]);
    let created = http
        .post(format!("{}/v1/products", gateway.url))
        .bearer_auth(&clerk)
        .header("content-type", "application/json")
        .header("idempotency-key", "tls-kettle-1")
        .body(r#"{"sku":"tls-kettle","name":"Kettle"}"#)
        .send()
        .await
        .expect("POST");
    let at = created
        .headers()
        .get("x-position")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    assert_eq!(
        created.status(),
        StatusCode::OK,
        "{:?}",
        created.text().await
    );
    let at = at.expect("a command answers its position");
    // At the registration's position, so the read model holds the product.
    let read = http
        .get(format!("{}/v1/products/tls-kettle", gateway.url))
        .bearer_auth(&clerk)
        .header("x-min-position", at)
        .send()
        .await
        .expect("GET");
    assert_eq!(read.status(), StatusCode::OK);
    let body: serde_json::Value =
        serde_json::from_str(&read.text().await.expect("a body")).expect("JSON");
    assert_eq!(body["product"]["sku"], "tls-kettle", "{body}");

    // The gateway's certificate proves the connection, not a caller: no token, no staff call.
    let anonymous = http
        .post(format!("{}/v1/products", gateway.url))
        .header("content-type", "application/json")
        .header("idempotency-key", "tls-mug-1")
        .body(r#"{"sku":"tls-mug","name":"Mug"}"#)
        .send()
        .await
        .expect("POST");
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);

    // Plain HTTP to the HTTPS port gets no answer.
    let plain = reqwest::Client::new()
        .get(format!(
            "{}/healthz",
            gateway.url.replacen("https", "http", 1)
        ))
        .send()
        .await;
    assert!(plain.is_err(), "{plain:?}");
    gateway.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn without_its_client_certificate_or_trusting_another_ca_the_gateway_cannot_reach_the_server()
{
    let mtls = MtlsServer::start(Vec::new()).await;
    let http = https_client(&mtls);
    let foreign = TestCa::new("Some Other CA", mtls.pki_dir()).write("foreign-ca");
    for (case, config) in [
        (
            "no client certificate",
            gateway_config(&mtls, mtls.ca_file.clone(), false),
        ),
        (
            "the server's certificate from a CA it does not trust",
            gateway_config(&mtls, foreign, true),
        ),
    ] {
        let gateway = Gateway::start(config).await;
        let health = http
            .get(format!("{}/healthz", gateway.url))
            .send()
            .await
            .expect("HTTPS to the gateway");
        assert_eq!(health.status(), StatusCode::SERVICE_UNAVAILABLE, "{case}");
        let call = http
            .get(format!("{}/v1/products/anything", gateway.url))
            .bearer_auth(mtls.token("stock-clerk", &["inventory.staff"]))
            .send()
            .await
            .expect("GET");
        assert_eq!(call.status(), StatusCode::SERVICE_UNAVAILABLE, "{case}");
        gateway.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_gateways_replaced_certificate_files_serve_its_next_handshakes() {
    let mtls = MtlsServer::start(Vec::new()).await;
    let config = gateway_config(&mtls, mtls.ca_file.clone(), true);
    let files = LeafFiles {
        certificate: config.tls.tls_cert.clone().expect("a certificate"),
        key: config.tls.tls_key.clone().expect("a key"),
    };
    let gateway = Gateway::start(config).await;
    let http = https_client(&mtls);
    let before = http.get(format!("{}/healthz", gateway.url)).send().await;
    assert_eq!(before.expect("HTTPS").status(), StatusCode::OK);

    let next = mtls.ca.server();
    next.replace(&files);
    let session = handshake(gateway.addr, &mtls.ca_file, None).await;
    assert_eq!(
        served_certificate(&session),
        next.der,
        "the new certificate is served"
    );
    // A new client connection (reqwest's pool is per client) works with it.
    let after = https_client(&mtls)
        .get(format!("{}/healthz", gateway.url))
        .send()
        .await;
    assert_eq!(after.expect("HTTPS").status(), StatusCode::OK);
    gateway.stop().await;
}
