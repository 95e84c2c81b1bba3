//! Certificates made at test time with `rcgen`: a CA, server certificates for loopback, client
//! certificates naming a workload (a SPIFFE URI), expired ones, and files replaced the way
//! rotation tools replace them. Nothing here is committed: every run makes its own keys.

use std::{
    net::{IpAddr, Ipv4Addr},
    path::{Path, PathBuf},
};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose, SanType, date_time_ymd,
};

/// A certificate authority of one test, with the directory its files go to.
pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
    dir: PathBuf,
}

/// A certificate and its private key, in PEM.
#[derive(Debug, Clone)]
pub struct Leaf {
    /// The certificate (PEM).
    pub certificate: String,
    /// Its private key (PEM, PKCS#8).
    pub key: String,
    /// The certificate (DER), to compare with what a peer presented.
    pub der: Vec<u8>,
}

/// Where a leaf's files are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeafFiles {
    /// The certificate file.
    pub certificate: PathBuf,
    /// The key file.
    pub key: PathBuf,
}

impl TestCa {
    /// A new CA named `name`, writing its files to `dir`.
    pub fn new(name: &str, dir: &Path) -> Self {
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().expect("a CA key");
        let issuer = CertifiedIssuer::self_signed(params, key).expect("a self-signed CA");
        Self {
            issuer,
            dir: dir.to_owned(),
        }
    }

    /// The CA certificate (PEM).
    pub fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// Writes the CA certificate to `<dir>/<stem>.pem` and returns the path.
    pub fn write(&self, stem: &str) -> PathBuf {
        let path = self.dir.join(format!("{stem}.pem"));
        std::fs::write(&path, self.pem()).expect("write the CA certificate");
        path
    }

    /// A server certificate for `127.0.0.1` and `localhost`.
    pub fn server(&self) -> Leaf {
        self.server_for(&["localhost"])
    }

    /// A server certificate for `127.0.0.1` and the DNS names `names`.
    pub fn server_for(&self, names: &[&str]) -> Leaf {
        let mut sans = vec![SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST))];
        sans.extend(
            names
                .iter()
                .map(|n| SanType::DnsName((*n).try_into().expect("a DNS name"))),
        );
        self.issue(sans, ExtendedKeyUsagePurpose::ServerAuth, None)
    }

    /// A client certificate whose subject alternative name is the URI `uri` (a SPIFFE ID).
    pub fn client(&self, uri: &str) -> Leaf {
        let sans = vec![SanType::URI(uri.try_into().expect("a URI"))];
        self.issue(sans, ExtendedKeyUsagePurpose::ClientAuth, None)
    }

    /// A client certificate for `uri` that expired in 2020.
    pub fn expired_client(&self, uri: &str) -> Leaf {
        let sans = vec![SanType::URI(uri.try_into().expect("a URI"))];
        self.issue(
            sans,
            ExtendedKeyUsagePurpose::ClientAuth,
            Some((2019, 2020)),
        )
    }

    fn issue(
        &self,
        sans: Vec<SanType>,
        usage: ExtendedKeyUsagePurpose,
        valid_years: Option<(i32, i32)>,
    ) -> Leaf {
        let mut params = CertificateParams::default();
        params.subject_alt_names = sans;
        params.extended_key_usages = vec![usage];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.use_authority_key_identifier_extension = true;
        if let Some((from, until)) = valid_years {
            params.not_before = date_time_ymd(from, 1, 1);
            params.not_after = date_time_ymd(until, 1, 1);
        }
        let key = KeyPair::generate().expect("a leaf key");
        let certificate = params
            .signed_by(&key, &self.issuer)
            .expect("a certificate signed by the CA");
        Leaf {
            certificate: certificate.pem(),
            key: key.serialize_pem(),
            der: certificate.der().to_vec(),
        }
    }

    /// Writes `leaf` to `<dir>/<stem>.pem` and `<dir>/<stem>.key`.
    pub fn write_leaf(&self, leaf: &Leaf, stem: &str) -> LeafFiles {
        let files = LeafFiles {
            certificate: self.dir.join(format!("{stem}.pem")),
            key: self.dir.join(format!("{stem}.key")),
        };
        leaf.replace(&files);
        files
    }
}

impl Leaf {
    /// Puts this certificate and key in `files` as rotation tools do: each written to a new
    /// file that is renamed over the old one, the certificate first.
    pub fn replace(&self, files: &LeafFiles) {
        replace(&files.certificate, &self.certificate);
        replace(&files.key, &self.key);
    }
}

fn replace(path: &Path, text: &str) {
    let next = path.with_extension("next");
    std::fs::write(&next, text).expect("write the new file");
    std::fs::rename(&next, path).expect("rename it over the old one");
}
