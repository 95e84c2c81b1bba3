//! Who a verified peer certificate says the peer is: the names in its subject alternative names
//! extension. URIs first (a SPIFFE ID, `spiffe://trust-domain/path`, is how a mesh names a
//! workload), then DNS names. The subject's common name is not used: it is free text and
//! deprecated for naming peers.

use rustls_pki_types::CertificateDer;
use webpki::EndEntityCert;

/// The names of a peer's verified certificate.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PeerIdentity {
    /// SAN URIs, in certificate order (`spiffe://corp.example/ns/billing/sa/reindexer`).
    pub uris: Vec<String>,
    /// SAN DNS names, in certificate order (`batch.corp.example`).
    pub dns_names: Vec<String>,
}

impl PeerIdentity {
    /// The names of the leaf of `chain` (as a TLS session reports a peer's certificates), or
    /// `None` without a certificate or when the leaf does not parse. Only call this on a
    /// chain the handshake verified.
    pub fn of(chain: &[CertificateDer<'_>]) -> Option<Self> {
        let leaf = EndEntityCert::try_from(chain.first()?).ok()?;
        Some(Self {
            uris: leaf.valid_uri_names().map(str::to_owned).collect(),
            dns_names: leaf.valid_dns_names().map(str::to_owned).collect(),
        })
    }

    /// Every name, URIs first.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.uris
            .iter()
            .chain(self.dns_names.iter())
            .map(String::as_str)
    }

    /// The name that stands for the peer (logs, rate-limit buckets): its first URI, else its
    /// first DNS name.
    pub fn primary(&self) -> Option<&str> {
        self.names().next()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(names: &[rcgen::SanType]) -> CertificateDer<'static> {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::default();
        params.subject_alt_names = names.to_vec();
        params.self_signed(&key).unwrap().der().clone()
    }

    #[test]
    fn uris_come_before_dns_names() {
        let spiffe = "spiffe://corp.example/ns/billing/sa/reindexer";
        let cert = leaf(&[
            rcgen::SanType::DnsName("batch.corp.example".try_into().unwrap()),
            rcgen::SanType::URI(spiffe.try_into().unwrap()),
        ]);
        let identity = PeerIdentity::of(&[cert]).unwrap();
        assert_eq!(identity.uris, [spiffe]);
        assert_eq!(identity.dns_names, ["batch.corp.example"]);
        assert_eq!(identity.primary(), Some(spiffe));
        assert_eq!(
            identity.names().collect::<Vec<_>>(),
            [spiffe, "batch.corp.example"]
        );
    }

    #[test]
    fn no_certificate_no_identity() {
        assert_eq!(PeerIdentity::of(&[]), None);
        assert_eq!(
            PeerIdentity::of(&[CertificateDer::from(vec![1, 2, 3])]),
            None
        );
        let nameless = PeerIdentity::of(&[leaf(&[])]).unwrap();
        assert_eq!(nameless.primary(), None);
    }
}
