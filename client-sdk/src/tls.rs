//! How the client trusts the platform and proves who it is at the TLS layer: the CAs that sign
//! the server, the name the server's certificate must carry, and a client certificate for
//! platforms that demand one (mTLS, `--tls-client-ca` on the server).

use std::fmt;

use tonic::transport::Endpoint;
#[cfg(feature = "tls")]
use tonic::transport::{Certificate, ClientTlsConfig, Identity};

use crate::builder::{BuildError, error_chain};

/// A client certificate and its private key, in PEM. Its `Debug` output never shows the key.
#[derive(Clone)]
pub(crate) struct ClientIdentity {
    certificate: Vec<u8>,
    key: Vec<u8>,
}

impl fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientIdentity")
            .field("certificate_bytes", &self.certificate.len())
            .field("key", &"[redacted]")
            .finish()
    }
}

/// What the builder was told about TLS; any of it turns TLS on.
#[derive(Debug, Clone, Default)]
pub(crate) struct TlsSettings {
    pub(crate) ca_certificates: Vec<Vec<u8>>,
    pub(crate) domain_name: Option<String>,
    pub(crate) identity: Option<ClientIdentity>,
    #[cfg(feature = "tls")]
    pub(crate) config: Option<ClientTlsConfig>,
}

impl TlsSettings {
    /// Presents `certificate` (PEM, leaf first) with `key` (PEM) to the server.
    pub(crate) fn set_identity(&mut self, certificate: Vec<u8>, key: Vec<u8>) {
        self.identity = Some(ClientIdentity { certificate, key });
    }

    /// Whether anything here asks for TLS.
    pub(crate) fn wanted(&self) -> bool {
        let wanted = !self.ca_certificates.is_empty()
            || self.domain_name.is_some()
            || self.identity.is_some();
        #[cfg(feature = "tls")]
        let wanted = wanted || self.config.is_some();
        wanted
    }

    /// `endpoint` speaking TLS as configured.
    #[cfg(feature = "tls")]
    pub(crate) fn apply(&self, endpoint: Endpoint) -> Result<Endpoint, BuildError> {
        let custom = self.config.is_some() || !self.ca_certificates.is_empty();
        let mut config = self.config.clone().unwrap_or_default();
        if !custom {
            if !cfg!(feature = "tls-webpki-roots") {
                return Err(BuildError::Tls(
                    "no CA to trust: give one with `tls_ca_certificate`, or enable the \
                     `tls-webpki-roots` feature for servers behind a public CA"
                        .to_owned(),
                ));
            }
            config = config.with_enabled_roots();
        }
        for pem in &self.ca_certificates {
            config = config.ca_certificate(Certificate::from_pem(pem));
        }
        if let Some(name) = &self.domain_name {
            config = config.domain_name(name.clone());
        }
        if let Some(identity) = &self.identity {
            config = config.identity(Identity::from_pem(&identity.certificate, &identity.key));
        }
        endpoint
            .tls_config(config)
            .map_err(|e| BuildError::Tls(error_chain(&e)))
    }

    /// Without the `tls` feature, asking for TLS is an error.
    #[cfg(not(feature = "tls"))]
    pub(crate) fn apply(&self, _endpoint: Endpoint) -> Result<Endpoint, BuildError> {
        Err(BuildError::Tls(
            "this build of causeway-client has no TLS: enable the `tls` feature".to_owned(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_the_key() {
        let mut settings = TlsSettings::default();
        settings.set_identity(
            b"CERT".to_vec(),
            b"-----BEGIN PRIVATE KEY-----secret".to_vec(),
        );
        assert!(settings.wanted());
        let printed = format!("{settings:?}");
        // The key's bytes would print as numbers: `-` is 45.
        assert!(printed.contains("[redacted]"), "{printed}");
        assert!(
            !printed.contains("secret") && !printed.contains("45, 45"),
            "{printed}"
        );
    }
}
