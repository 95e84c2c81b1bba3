//! TLS at both ends of the gateway: HTTPS for its own clients (`--tls-cert`, `--tls-key`), and
//! TLS to the server (`--upstream https://…` with `--upstream-ca`), with a client certificate
//! of its own for a server that demands one (`--upstream-client-cert`, `--upstream-client-key`:
//! mTLS). Every file is re-read when it changes, at the next handshake, as the server does
//! (`causeway_tls`): a rotated certificate needs no restart, and open connections keep theirs.
//!
//! The upstream connection is made here rather than by tonic's own TLS, which reads its files
//! once: [`UpstreamConnector`] takes the client configuration as it is at each new connection.

use std::{
    future::Future,
    io,
    path::PathBuf,
    pin::Pin,
    task::{Context, Poll},
};

use causeway_tls::{
    ClientFiles, ClientTls, Connected, ServerFiles, ServerName, ServerTls, TlsConnector, TlsError,
};
use clap::Args;
use http::Uri;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::config::ConfigError;

/// What the gateway's own clients may speak over TLS.
const CLIENT_ALPN: &[&[u8]] = &[b"h2", b"http/1.1"];
/// gRPC to the server is HTTP/2.
const UPSTREAM_ALPN: &[&[u8]] = &[b"h2"];

/// The gateway's TLS flags; certificates and keys are PEM.
#[derive(Debug, Clone, Default, PartialEq, Eq, Args)]
pub struct TlsArgs {
    /// Serve HTTPS with this certificate chain (PEM, leaf first); needs `--tls-key`.
    #[arg(long, env = "CAUSEWAY_GATEWAY_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,

    /// The private key of `--tls-cert` (PEM).
    #[arg(long, env = "CAUSEWAY_GATEWAY_TLS_KEY")]
    pub tls_key: Option<PathBuf>,

    /// The CA (PEM) that signs the server's certificate; needed for an `https://` upstream.
    #[arg(long, env = "CAUSEWAY_GATEWAY_UPSTREAM_CA")]
    pub upstream_ca: Option<PathBuf>,

    /// A client certificate (PEM) to present to the server (mTLS); needs
    /// `--upstream-client-key`.
    #[arg(long, env = "CAUSEWAY_GATEWAY_UPSTREAM_CLIENT_CERT")]
    pub upstream_client_cert: Option<PathBuf>,

    /// The private key of `--upstream-client-cert` (PEM).
    #[arg(long, env = "CAUSEWAY_GATEWAY_UPSTREAM_CLIENT_KEY")]
    pub upstream_client_key: Option<PathBuf>,

    /// The name the server's certificate must carry, when it is not the upstream's host (the
    /// gateway reaches the server by an address its certificate does not name).
    #[arg(long, env = "CAUSEWAY_GATEWAY_UPSTREAM_SERVER_NAME")]
    pub upstream_server_name: Option<String>,
}

impl TlsArgs {
    /// Checks that the files come in pairs and fit the upstream's scheme (`https` needs a CA;
    /// the upstream flags need `https`).
    pub fn validate(&self, upstream: &Uri) -> Result<(), ConfigError> {
        let tls = |reason: &str| Err(ConfigError::Tls(reason.to_owned()));
        match (&self.tls_cert, &self.tls_key) {
            (Some(_), None) => return tls("--tls-cert needs --tls-key"),
            (None, Some(_)) => return tls("--tls-key needs --tls-cert"),
            _ => {}
        }
        match (&self.upstream_client_cert, &self.upstream_client_key) {
            (Some(_), None) => return tls("--upstream-client-cert needs --upstream-client-key"),
            (None, Some(_)) => return tls("--upstream-client-key needs --upstream-client-cert"),
            _ => {}
        }
        let secure = upstream.scheme_str() == Some("https");
        if secure && self.upstream_ca.is_none() {
            return tls("an https:// upstream needs --upstream-ca (the CA of its certificate)");
        }
        let upstream_flags = self.upstream_ca.is_some()
            || self.upstream_client_cert.is_some()
            || self.upstream_server_name.is_some();
        if !secure && upstream_flags {
            return tls(
                "--upstream-ca, --upstream-client-cert and --upstream-server-name need an https:// upstream",
            );
        }
        if let Some(name) = &self.upstream_server_name
            && ServerName::try_from(name.as_str()).is_err()
        {
            return tls("--upstream-server-name is neither a DNS name nor an IP address");
        }
        Ok(())
    }

    /// The gateway's HTTPS, loaded now, or `None` for plain HTTP.
    pub fn server(&self) -> Result<Option<ServerTls>, TlsError> {
        let (Some(certificate), Some(key)) = (&self.tls_cert, &self.tls_key) else {
            return Ok(None);
        };
        let files = ServerFiles {
            certificate: certificate.clone(),
            key: key.clone(),
            client_ca: None,
        };
        ServerTls::load(files, CLIENT_ALPN).map(Some)
    }

    /// How `causeway-gateway health` reaches this gateway: TLS trusting exactly its
    /// `--tls-cert` when it serves HTTPS, or `None` for plain HTTP.
    pub fn probe(&self) -> Result<Option<TlsConnector>, TlsError> {
        self.tls_cert
            .as_deref()
            .map(|certificate| causeway_tls::pinned_connector(certificate, None, &[b"http/1.1"]))
            .transpose()
    }

    /// The connector to an `https://` `upstream`, loaded now, or `None` for plaintext.
    pub fn upstream(&self, upstream: &Uri) -> Result<Option<UpstreamConnector>, TlsError> {
        let Some(ca) = &self.upstream_ca else {
            return Ok(None);
        };
        let identity = self
            .upstream_client_cert
            .clone()
            .zip(self.upstream_client_key.clone());
        let files = ClientFiles {
            ca: ca.clone(),
            identity,
        };
        let host = self
            .upstream_server_name
            .clone()
            .unwrap_or_else(|| host(upstream).to_owned());
        let name = ServerName::try_from(host)
            .map_err(|e| TlsError::Config(format!("the upstream's name: {e}")))?;
        Ok(Some(UpstreamConnector {
            tls: ClientTls::load(files, UPSTREAM_ALPN)?,
            name,
        }))
    }
}

/// The host of `uri` without the brackets of an IPv6 literal.
fn host(uri: &Uri) -> &str {
    let host = uri.host().unwrap_or_default();
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
}

/// Opens TLS connections to the server for tonic's channel: TCP to the URI's host and port,
/// then a handshake with the client files as they are now, checking the server's certificate
/// for the upstream's name.
#[derive(Debug, Clone)]
pub struct UpstreamConnector {
    tls: ClientTls,
    name: ServerName<'static>,
}

impl tower::Service<Uri> for UpstreamConnector {
    type Response = TokioIo<Connected<TcpStream>>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<Self::Response>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let connector = self.tls.connector();
        let name = self.name.clone();
        let address = (host(&uri).to_owned(), uri.port_u16().unwrap_or(443));
        Box::pin(async move {
            let tcp = TcpStream::connect(address).await?;
            // gRPC writes small frames and waits for the answer.
            tcp.set_nodelay(true)?;
            let session = connector.connect(name, tcp).await?;
            Ok(TokioIo::new(session))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_come_in_pairs_and_upstream_flags_need_https() {
        let path = |p: &str| Some(PathBuf::from(p));
        let https: Uri = "https://causeway.internal:50051".parse().unwrap();
        let http: Uri = "http://127.0.0.1:50051".parse().unwrap();
        let cases = [
            (
                TlsArgs {
                    tls_cert: path("c.pem"),
                    ..Default::default()
                },
                &http,
                Some("--tls-cert needs --tls-key"),
            ),
            (
                TlsArgs {
                    tls_key: path("k.pem"),
                    ..Default::default()
                },
                &http,
                Some("--tls-key needs"),
            ),
            (TlsArgs::default(), &https, Some("needs --upstream-ca")),
            (
                TlsArgs {
                    upstream_ca: path("ca.pem"),
                    ..Default::default()
                },
                &http,
                Some("need an https://"),
            ),
            (
                TlsArgs {
                    upstream_ca: path("ca.pem"),
                    upstream_client_cert: path("c.pem"),
                    ..Default::default()
                },
                &https,
                Some("--upstream-client-cert needs --upstream-client-key"),
            ),
            (
                TlsArgs {
                    upstream_ca: path("ca.pem"),
                    upstream_server_name: Some("not a name".into()),
                    ..Default::default()
                },
                &https,
                Some("neither a DNS name"),
            ),
            (
                TlsArgs {
                    upstream_ca: path("ca.pem"),
                    ..Default::default()
                },
                &https,
                None,
            ),
            (TlsArgs::default(), &http, None),
        ];
        for (args, upstream, complaint) in cases {
            match (args.validate(upstream), complaint) {
                (Ok(()), None) => {}
                (Err(ConfigError::Tls(e)), Some(complaint)) => {
                    assert!(e.contains(complaint), "{e}")
                }
                (got, want) => panic!("{args:?} to {upstream}: got {got:?}, wanted {want:?}"),
            }
        }
    }

    #[test]
    fn the_upstream_name_is_its_host_unless_given() {
        let uri: Uri = "https://[::1]:50051".parse().unwrap();
        assert_eq!(host(&uri), "::1");
        let uri: Uri = "https://causeway.internal:50051".parse().unwrap();
        assert_eq!(host(&uri), "causeway.internal");
    }
}
