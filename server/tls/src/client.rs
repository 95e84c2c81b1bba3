//! The connecting side: the CA that must have signed the server's certificate and, for mTLS,
//! a client certificate of its own. Watched like the server's files, because a mesh rotates
//! client certificates (often hourly) as it rotates server ones.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

use rustls::{ClientConfig, ConfigBuilder, client::WantsClientCert};
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
    let identity = files
        .identity
        .as_ref()
        .map(|(c, k)| (c.as_path(), k.as_path()));
    let mut config = with_identity(builder, identity)?;
    config.alpn_protocols = alpn.to_vec();
    Ok(Arc::new(config))
}

/// Finishes a client config, presenting `identity` (a certificate chain and its key, read now)
/// to servers that demand one.
pub(crate) fn with_identity(
    builder: ConfigBuilder<ClientConfig, WantsClientCert>,
    identity: Option<(&Path, &Path)>,
) -> Result<ClientConfig, TlsError> {
    match identity {
        Some((chain, key)) => builder
            .with_client_auth_cert(pem::certificates(chain)?, pem::private_key(key)?)
            .map_err(|e| {
                TlsError::Config(format!("{} with {}: {e}", chain.display(), key.display()))
            }),
        None => Ok(builder.with_no_client_auth()),
    }
}
