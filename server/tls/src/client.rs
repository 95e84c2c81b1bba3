//! The connecting side: the CA that must have signed the server's certificate and, for mTLS,
//! a client certificate of its own. Watched like the server's files, because a mesh rotates
//! client certificates (often hourly) as it rotates server ones.

use std::{path::PathBuf, sync::Arc};

use rustls::ClientConfig;
use tokio_rustls::TlsConnector;

use crate::{TlsError, pem, provider, watched::Watched};

/// The PEM files of a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientFiles {
    /// The CA(s) the server's certificate must chain to.
    pub ca: PathBuf,
    /// A client certificate chain and its key, for servers that demand one.
    pub identity: Option<(PathBuf, PathBuf)>,
}

/// A client's TLS, re-read when its files change; cheap to clone.
#[derive(Debug, Clone)]
pub struct ClientTls {
    config: Arc<Watched<Arc<ClientConfig>>>,
}

impl ClientTls {
    /// Loads `files` now (an error names the file at fault) for a client that speaks `alpn`.
    pub fn load(files: ClientFiles, alpn: &[&[u8]]) -> Result<Self, TlsError> {
        let alpn: Vec<Vec<u8>> = alpn.iter().map(|p| p.to_vec()).collect();
        let mut watched = vec![files.ca.clone()];
        if let Some((certificate, key)) = &files.identity {
            watched.extend([certificate.clone(), key.clone()]);
        }
        let config = Watched::new(watched, move || build(&files, &alpn))?;
        Ok(Self {
            config: Arc::new(config),
        })
    }

    /// A connector with the files as they are now: take one per connection.
    pub fn connector(&self) -> TlsConnector {
        TlsConnector::from(self.config.current())
    }
}

fn build(files: &ClientFiles, alpn: &[Vec<u8>]) -> Result<Arc<ClientConfig>, TlsError> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_root_certificates(pem::roots(&files.ca)?);
    let mut config = match &files.identity {
        Some((certificate, key)) => builder
            .with_client_auth_cert(pem::certificates(certificate)?, pem::private_key(key)?)
            .map_err(|e| {
                TlsError::Config(format!(
                    "{} with {}: {e}",
                    certificate.display(),
                    key.display()
                ))
            })?,
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = alpn.to_vec();
    Ok(Arc::new(config))
}
