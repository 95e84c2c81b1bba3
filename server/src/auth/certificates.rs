//! Client certificates as principals: the roles an operator gives a certificate identity
//! (`--tls-client-role`, `--tls-client-roles-file`), for services that call on their own
//! behalf without a bearer token, such as a batch job or another team's service in the mesh.
//!
//! Only identities listed here become principals. A verified certificate whose names are not
//! listed proves the connection, not a caller: without a token its calls are anonymous (public
//! RPCs only), which is what a gateway forwarding anonymous requests must get. A bearer token
//! always wins over the certificate: the gateway's connection carries its callers' tokens.

use std::{
    collections::{BTreeSet, HashMap},
    path::Path,
};

use causeway_tls::PeerIdentity;

use super::principal::Principal;
use crate::identity::values::Role;

/// The `issuer` of a principal a client certificate proved (tokens carry their `iss`).
pub const CERTIFICATE_ISSUER: &str = "tls-client-certificate";

/// Certificate identities and the roles they hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CertificateRoles(HashMap<String, BTreeSet<String>>);

/// A mapping entry or file that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{source_name}: {reason}")]
pub struct MappingError {
    /// The flag, or the file and line.
    pub source_name: String,
    /// What is wrong.
    pub reason: String,
}

impl CertificateRoles {
    /// The mapping of `entries` (`NAME=role,role`, as the flag takes them) and of `file`
    /// (`NAME = role, role` a line, `#` comments); a name given twice holds every role it was
    /// given.
    pub fn load(entries: &[String], file: Option<&Path>) -> Result<Self, MappingError> {
        let mut roles = Self::default();
        for entry in entries {
            roles.add(entry).map_err(|reason| MappingError {
                source_name: "--tls-client-role".to_owned(),
                reason,
            })?;
        }
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|e| MappingError {
                source_name: path.display().to_string(),
                reason: e.to_string(),
            })?;
            for (n, line) in text.lines().enumerate() {
                let line = line.split('#').next().unwrap_or_default().trim();
                if line.is_empty() {
                    continue;
                }
                roles.add(line).map_err(|reason| MappingError {
                    source_name: format!("{} line {}", path.display(), n + 1),
                    reason,
                })?;
            }
        }
        Ok(roles)
    }

    fn add(&mut self, entry: &str) -> Result<(), String> {
        let (name, roles) = entry
            .split_once('=')
            .ok_or_else(|| format!("{entry:?} is not NAME=role[,role…]"))?;
        let name = name.trim();
        if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!(
                "{name:?} is not a certificate name (a SAN URI or DNS name)"
            ));
        }
        let mut parsed = BTreeSet::new();
        for role in roles.split(',').map(str::trim) {
            let role = Role::parse(role).map_err(|e| format!("role {role:?}: {}", e.0))?;
            parsed.insert(role.as_str().to_owned());
        }
        self.0.entry(name.to_owned()).or_default().extend(parsed);
        Ok(())
    }

    /// How many identities hold roles.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether no identity holds roles.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The principal `peer` proves: its first name (URIs before DNS names) that holds roles
    /// here, or `None`.
    pub fn principal(&self, peer: &PeerIdentity) -> Option<Principal> {
        peer.names().find_map(|name| {
            self.0.get(name).map(|roles| Principal {
                subject: name.to_owned(),
                roles: roles.clone(),
                tenant: None,
                issuer: CERTIFICATE_ISSUER.to_owned(),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BATCH: &str = "spiffe://corp.example/ns/billing/sa/reindexer";

    fn peer(uris: &[&str], dns: &[&str]) -> PeerIdentity {
        PeerIdentity {
            uris: uris.iter().map(|s| (*s).to_owned()).collect(),
            dns_names: dns.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[test]
    fn flags_and_file_map_names_to_roles() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("roles");
        std::fs::write(
            &file,
            "# services without tokens\n\nreport.corp.example = orders.staff # nightly\n",
        )
        .unwrap();
        let roles = CertificateRoles::load(
            &[
                format!("{BATCH}=admin, inventory.staff"),
                format!("{BATCH}=orders.staff"),
            ],
            Some(&file),
        )
        .unwrap();
        assert_eq!(roles.len(), 2);
        let batch = roles
            .principal(&peer(&[BATCH], &["batch.corp.example"]))
            .unwrap();
        assert_eq!(batch.subject, BATCH);
        assert_eq!(
            batch.roles.iter().map(String::as_str).collect::<Vec<_>>(),
            ["admin", "inventory.staff", "orders.staff"]
        );
        assert_eq!(batch.issuer, CERTIFICATE_ISSUER);
        // A DNS name counts when no URI is mapped.
        let report = roles
            .principal(&peer(
                &["spiffe://corp.example/other"],
                &["report.corp.example"],
            ))
            .unwrap();
        assert_eq!(report.subject, "report.corp.example");
        assert_eq!(roles.principal(&peer(&["spiffe://x/unlisted"], &[])), None);
    }

    #[test]
    fn bad_entries_name_their_source() {
        for (entry, complaint) in [
            ("no-equals-sign", "NAME=role"),
            ("=admin", "certificate name"),
            ("spiffe://a/b=Admin", "role \"Admin\""),
            ("spiffe://a/b=", "role \"\""),
        ] {
            let err = CertificateRoles::load(&[entry.to_owned()], None).unwrap_err();
            assert_eq!(err.source_name, "--tls-client-role");
            assert!(err.reason.contains(complaint), "{entry}: {err}");
        }
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("roles");
        std::fs::write(&file, "a.example = admin\nbroken line\n").unwrap();
        let err = CertificateRoles::load(&[], Some(&file)).unwrap_err();
        assert!(err.source_name.ends_with("roles line 2"), "{err}");
        let missing = CertificateRoles::load(&[], Some(&dir.path().join("absent"))).unwrap_err();
        assert!(missing.source_name.ends_with("absent"), "{missing}");
    }
}
