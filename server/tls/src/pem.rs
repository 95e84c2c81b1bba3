//! Certificates, keys and CA bundles from PEM files. The whole file is read first, so that an
//! error names the file rather than a position in a stream, and a key never reaches a message.

use std::path::Path;

use rustls::RootCertStore;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};

use crate::TlsError;

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|e| TlsError::Read {
        path: path.to_owned(),
        reason: e.to_string(),
    })
}

/// Every certificate in `path`, leaf first (a chain as servers present it).
pub(crate) fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = read(path)?;
    let chain = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Malformed {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
    if chain.is_empty() {
        return Err(TlsError::Missing {
            path: path.to_owned(),
            what: "certificate",
        });
    }
    Ok(chain)
}

/// The private key in `path` (PKCS#8, PKCS#1 or SEC1).
pub(crate) fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let pem = read(path)?;
    // The parser's message could quote the file; only say what kind of failure it was.
    PrivateKeyDer::from_pem_slice(&pem).map_err(|e| match e {
        rustls_pki_types::pem::Error::NoItemsFound => TlsError::Missing {
            path: path.to_owned(),
            what: "private key",
        },
        _ => TlsError::Malformed {
            path: path.to_owned(),
            reason: "the private key does not decode".to_owned(),
        },
    })
}

/// The CA certificates in `path`, as trust anchors.
pub(crate) fn roots(path: &Path) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    for certificate in certificates(path)? {
        roots.add(certificate).map_err(|e| TlsError::Malformed {
            path: path.to_owned(),
            reason: format!("not a usable CA certificate: {e}"),
        })?;
    }
    Ok(roots)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_failure_names_the_file_and_never_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("absent.pem");
        let err = certificates(&missing).unwrap_err().to_string();
        assert!(err.contains("absent.pem"), "{err}");

        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "no pem here\n").unwrap();
        assert!(matches!(
            certificates(&empty),
            Err(TlsError::Missing {
                what: "certificate",
                ..
            })
        ));
        assert!(matches!(
            private_key(&empty),
            Err(TlsError::Missing {
                what: "private key",
                ..
            })
        ));

        let broken = dir.path().join("broken.key");
        std::fs::write(
            &broken,
            "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWJ5dGVz!!\n-----END PRIVATE KEY-----\n",
        )
        .unwrap();
        let err = private_key(&broken).unwrap_err().to_string();
        assert!(
            err.contains("broken.key") && !err.contains("c2VjcmV0"),
            "{err}"
        );
    }

    #[test]
    fn a_generated_pair_and_ca_load() {
        let dir = tempfile::tempdir().unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let (cert_path, key_path) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
        std::fs::write(&cert_path, cert.pem()).unwrap();
        std::fs::write(&key_path, key.serialize_pem()).unwrap();
        assert_eq!(certificates(&cert_path).unwrap().len(), 1);
        private_key(&key_path).unwrap();
    }
}
