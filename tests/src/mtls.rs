//! A secured server that demands client certificates (mTLS), with its test CA, and the clients
//! the TLS tests talk to it with: the SDK, and rustls on its own to see what a handshake shows.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    time::Duration,
};

use causeway_client::{
    Client, ClientBuilder, RetryPolicy,
    tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity},
};
use causeway_server::{auth::limits::RateLimits, config::Config};
use causeway_tls::{ClientFiles, ClientTls, Connected, ServerName};
use tempfile::TempDir;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

use crate::{
    TestServer,
    pki::{Leaf, LeafFiles, TestCa},
    tokens::OwnKeys,
};

/// A secured server on `127.0.0.1:0` that demands client certificates from [`MtlsServer::ca`].
pub struct MtlsServer {
    /// The server.
    pub server: TestServer,
    /// The CA of its certificate and of its clients'.
    pub ca: TestCa,
    /// The files it serves its certificate from (replace them to rotate).
    pub served: LeafFiles,
    /// The CA's certificate file.
    pub ca_file: PathBuf,
    pki: TempDir,
}

impl MtlsServer {
    /// Starts it with `client_roles` (`--tls-client-role` entries) and no rate limits, and
    /// waits until it answers.
    pub async fn start(client_roles: Vec<String>) -> Self {
        Self::start_with(|config| {
            config.tls.tls_client_roles = client_roles;
            config.rate_limits = RateLimits::OFF;
        })
        .await
    }

    /// Starts it with its TLS files, then `configure`, and waits until it answers.
    pub async fn start_with(configure: impl FnOnce(&mut Config)) -> Self {
        let pki = tempfile::tempdir().expect("temp dir");
        let ca = TestCa::new("Causeway Test CA", pki.path());
        let ca_file = ca.write("ca");
        let served = ca.write_leaf(&ca.server(), "server");
        let data_dir = tempfile::tempdir().expect("temp dir");
        let mut config = Config::with_data_dir(data_dir.path());
        config.tls.tls_cert = Some(served.certificate.clone());
        config.tls.tls_key = Some(served.key.clone());
        config.tls.tls_client_ca = Some(ca_file.clone());
        configure(&mut config);
        let server = TestServer::start_with(config, data_dir).await;
        let this = Self {
            server,
            ca,
            served,
            ca_file,
            pki,
        };
        this.wait_until_serving().await;
        this
    }

    /// `https://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("https://{}", self.server.addr)
    }

    /// A directory for more certificate files, removed with the server.
    pub fn pki_dir(&self) -> &std::path::Path {
        self.pki.path()
    }

    /// An SDK client trusting the test CA, presenting `identity` when given, trying once.
    pub fn sdk(&self, identity: Option<&Leaf>) -> ClientBuilder {
        let builder = Client::builder(self.url())
            .tls_ca_certificate(self.ca.pem())
            .retry_policy(RetryPolicy::default().max_attempts(1));
        match identity {
            Some(leaf) => builder.tls_client_identity(leaf.certificate.clone(), leaf.key.clone()),
            None => builder,
        }
    }

    /// Health checks over mTLS until the server says SERVING (it creates its keys first).
    async fn wait_until_serving(&self) {
        let leaf = self.ca.client("spiffe://causeway.test/ns/test/sa/probe");
        let tls = ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(self.ca.pem()))
            .identity(Identity::from_pem(&leaf.certificate, &leaf.key));
        let endpoint = Endpoint::from_shared(self.url())
            .expect("url")
            .tls_config(tls)
            .expect("client TLS");
        let serving = async {
            loop {
                if let Ok(channel) = endpoint.connect().await {
                    let answer = HealthClient::new(channel)
                        .check(HealthCheckRequest::default())
                        .await;
                    if answer.is_ok_and(|a| a.into_inner().status() == ServingStatus::Serving) {
                        return;
                    }
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(30), serving)
            .await
            .expect("the TLS server answers within 30 s");
    }

    /// A token for `subject` with `roles`, from the server's own keys (it has created them:
    /// it answered before [`MtlsServer::start_with`] returned).
    pub fn token(&self, subject: &str, roles: &[&str]) -> String {
        OwnKeys::of(self.server.data_dir()).token(subject, roles)
    }

    /// A TLS session with the server, presenting `leaf` when given (rustls, no HTTP/2).
    pub async fn handshake(&self, leaf: Option<&LeafFiles>) -> Connected<TcpStream> {
        handshake(self.server.addr, &self.ca_file, leaf).await
    }

    /// The DER of the certificate a new handshake is served, as a client with `leaf` sees it.
    pub async fn served_certificate(&self, leaf: &LeafFiles) -> Vec<u8> {
        served_certificate(&self.handshake(Some(leaf)).await)
    }

    /// Why the server ended the handshake of a client presenting `leaf`: under TLS 1.3 the
    /// client finishes its side first and reads the server's alert next.
    pub async fn refusal(&self, leaf: Option<&LeafFiles>) -> String {
        let mut session = self.handshake(leaf).await;
        session
            .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
            .await
            .ok();
        let mut buffer = [0u8; 64];
        let read = tokio::time::timeout(Duration::from_secs(10), session.read(&mut buffer))
            .await
            .expect("the server answers within 10 s");
        match read {
            Err(e) => e.to_string(),
            Ok(n) => panic!("the server accepted the connection and sent {n} bytes"),
        }
    }
}

/// A TLS session with `addr` trusting the CA in `ca`, presenting `leaf` when given (rustls, no
/// HTTP/2), the server named `127.0.0.1`.
pub async fn handshake(
    addr: SocketAddr,
    ca: &Path,
    leaf: Option<&LeafFiles>,
) -> Connected<TcpStream> {
    let client = ClientTls::load(
        ClientFiles {
            ca: ca.to_owned(),
            identity: leaf.map(|l| (l.certificate.clone(), l.key.clone())),
        },
        &[b"h2"],
    )
    .expect("client TLS files");
    let tcp = TcpStream::connect(addr).await.expect("connect");
    let name = ServerName::try_from("127.0.0.1").expect("a server name");
    client
        .connector()
        .connect(name, tcp)
        .await
        .expect("the client's side of the handshake")
}

/// The DER of the certificate `session`'s server presented.
pub fn served_certificate(session: &Connected<TcpStream>) -> Vec<u8> {
    let (_, connection) = session.get_ref();
    connection
        .peer_certificates()
        .expect("a server certificate")[0]
        .to_vec()
}
