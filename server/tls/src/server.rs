//! The accepting side: a certificate and key, and with a client CA a verified client
//! certificate demanded of every peer (mTLS). All three files are watched together, so a new
//! CA bundle (a CA rotation) is picked up as a new certificate is.

use std::{path::PathBuf, sync::Arc};

use rustls::{ServerConfig, server::WebPkiClientVerifier};
use tokio_rustls::TlsAcceptor;

use crate::{TlsError, pem, provider, watched::Watched};

/// The PEM files of a server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerFiles {
    /// The certificate chain, leaf first.
    pub certificate: PathBuf,
    /// The certificate's private key.
    pub key: PathBuf,
    /// The CA(s) a client certificate must chain to; none: no client certificate is asked for.
    pub client_ca: Option<PathBuf>,
}

/// A server's TLS, re-read when its files change; cheap to clone.
#[derive(Debug, Clone)]
pub struct ServerTls {
    config: Arc<Watched<Arc<ServerConfig>>>,
}

impl ServerTls {
    /// Loads `files` now (an error names the file at fault) for a server that speaks the
    /// application protocols `alpn` (`h2` for gRPC; `h2` and `http/1.1` for REST).
    pub fn load(files: ServerFiles, alpn: &[&[u8]]) -> Result<Self, TlsError> {
        let alpn: Vec<Vec<u8>> = alpn.iter().map(|p| p.to_vec()).collect();
        let mut watched = vec![files.certificate.clone(), files.key.clone()];
        watched.extend(files.client_ca.clone());
        let config = Watched::new(watched, move || build(&files, &alpn))?;
        Ok(Self {
            config: Arc::new(config),
        })
    }

    /// An acceptor with the files as they are now (see [`Watched::current`]): take one per
    /// connection, so every new handshake uses the newest certificate and connections already
    /// open keep theirs.
    pub fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(self.config.current())
    }
}

fn build(files: &ServerFiles, alpn: &[Vec<u8>]) -> Result<Arc<ServerConfig>, TlsError> {
    let chain = pem::certificates(&files.certificate)?;
    let key = pem::private_key(&files.key)?;
    let builder = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?;
    let builder = match &files.client_ca {
        Some(ca) => {
            let verifier =
                WebPkiClientVerifier::builder_with_provider(Arc::new(pem::roots(ca)?), provider())
                    .build()
                    .map_err(|e| TlsError::Config(format!("{}: {e}", ca.display())))?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut config = builder.with_single_cert(chain, key).map_err(|e| {
        TlsError::Config(format!(
            "{} with {}: {e}",
            files.certificate.display(),
            files.key.display()
        ))
    })?;
    config.alpn_protocols = alpn.to_vec();
    Ok(Arc::new(config))
}
