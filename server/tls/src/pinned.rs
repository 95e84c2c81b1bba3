//! A client that trusts exactly one certificate: the one in the file a process serves. A
//! health probe run inside the server's own container reads the server's `--tls-cert` and so
//! needs no CA bundle, no server name and no flag of its own to speak TLS to it: what it
//! checks is that the process answering is the one configured with that certificate.

use std::{path::Path, sync::Arc};

use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, Error, SignatureScheme,
    client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier},
    crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature},
    pki_types::{CertificateDer, ServerName, UnixTime},
};
use tokio_rustls::TlsConnector;

use crate::{TlsError, client::with_identity, pem, provider};

/// A connector that accepts only the leaf certificate of `certificate` (its first PEM
/// certificate), presenting `identity` (a certificate chain and its key) when the server
/// demands one, for a client that speaks `alpn`. The handshake's signatures are still
/// verified, so the peer must hold that certificate's key.
pub fn pinned_connector(
    certificate: &Path,
    identity: Option<(&Path, &Path)>,
    alpn: &[&[u8]],
) -> Result<TlsConnector, TlsError> {
    // A chain read from a file is never empty: `pem::certificates` refuses one.
    let leaf = pem::certificates(certificate)?.swap_remove(0);
    let verifier = Arc::new(Pinned {
        leaf,
        provider: provider(),
    });
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let mut config = with_identity(builder, identity)?;
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(TlsConnector::from(Arc::new(config)))
}

/// Accepts the one leaf it holds, whatever name was asked for and whoever signed it.
#[derive(Debug)]
struct Pinned {
    leaf: CertificateDer<'static>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        if end_entity.as_ref() == self.leaf.as_ref() {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(Error::InvalidCertificate(
                CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;
    use crate::{ServerFiles, ServerTls};

    /// A self-signed certificate and its key, written to `dir` as `<stem>.pem`/`<stem>.key`.
    fn self_signed(dir: &Path, stem: &str) -> (PathBuf, PathBuf) {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let paths = (
            dir.join(format!("{stem}.pem")),
            dir.join(format!("{stem}.key")),
        );
        std::fs::write(&paths.0, cert.pem()).unwrap();
        std::fs::write(&paths.1, key.serialize_pem()).unwrap();
        paths
    }

    /// Serves one TLS connection with `served` on loopback, echoing one byte; answers whether
    /// a client pinned to `pinned` got its byte back.
    async fn handshake(served: &(PathBuf, PathBuf), pinned: &Path) -> bool {
        let files = ServerFiles {
            certificate: served.0.clone(),
            key: served.1.clone(),
            client_ca: None,
        };
        let acceptor = ServerTls::load(files, &[b"h2"]).unwrap().acceptor();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            if let Ok(mut tls) = acceptor.accept(tcp).await {
                let mut byte = [0u8; 1];
                if tls.read_exact(&mut byte).await.is_ok() {
                    let _ = tls.write_all(&byte).await;
                    let _ = tls.flush().await;
                }
            }
        });
        let connector = pinned_connector(pinned, None, &[b"h2"]).unwrap();
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let name = ServerName::IpAddress(addr.ip().into());
        let answered = async {
            let mut tls = connector.connect(name, tcp).await.ok()?;
            tls.write_all(b"x").await.ok()?;
            let mut byte = [0u8; 1];
            tls.read_exact(&mut byte).await.ok()?;
            Some(byte == *b"x")
        };
        let answered = answered.await.unwrap_or(false);
        server.abort();
        answered
    }

    #[tokio::test]
    async fn trusts_the_pinned_certificate_and_no_other() {
        let dir = tempfile::tempdir().unwrap();
        let served = self_signed(dir.path(), "served");
        let other = self_signed(dir.path(), "other");
        // Given the server's own certificate file, the handshake succeeds though no CA signed
        // it and the name asked for (an IP address) is not among its names.
        assert!(handshake(&served, &served.0).await);
        // Given another certificate, the same server is refused.
        assert!(!handshake(&served, &other.0).await);
    }

    #[test]
    fn a_file_without_a_certificate_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "").unwrap();
        let Err(err) = pinned_connector(&empty, None, &[]) else {
            panic!("a connector pinned to no certificate");
        };
        let err = err.to_string();
        assert!(err.contains("empty.pem"), "{err}");
    }
}
