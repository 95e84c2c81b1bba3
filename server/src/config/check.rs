//! `causeway-server --check-config`: every check startup makes before it serves, made without
//! binding a port, creating a directory or contacting a store, so that a deployment (a chart, a
//! compose file, a CI step) can prove its flags and environment before it rolls out.
//!
//! Beyond [`Config::validate_settings`] it reads what startup reads from files (TLS
//! certificates and keys, the client certificate roles), checks that an external issuer's
//! JWKS file is there, and parses the store connection strings the way the adapters do.

use std::path::Path;

use super::{Config, ConfigError};
use crate::auth::certificates::CertificateRoles;

impl Config {
    /// Checks this configuration as startup would and, when it would start, says in one line
    /// what it would run (no connection string or other secret is in it).
    pub fn check(&self) -> Result<String, ConfigError> {
        self.validate_settings()?;
        data_dir_is_usable(&self.data_dir)?;
        self.tls
            .load()
            .map_err(|e| ConfigError::Tls(format!("TLS: {e}")))?;
        CertificateRoles::load(
            &self.tls.tls_client_roles,
            self.tls.tls_client_roles_file.as_deref(),
        )
        .map_err(|e| ConfigError::Tls(format!("client certificate roles: {e}")))?;
        if let Some(file) = &self.auth_jwks_file {
            std::fs::metadata(file).map_err(|e| {
                ConfigError::Auth(format!("--auth-jwks-file {}: {e}", file.display()))
            })?;
        }
        let events = match &self.kurrentdb_url {
            Some(url) => kurrentdb_is_usable(url.expose())?,
            None => "the embedded store",
        };
        let reads = match &self.mongodb_url {
            Some(url) => mongodb_is_usable(url.expose())?,
            None => "the embedded store",
        };
        Ok(format!(
            "configuration OK: role {}, gRPC on {}, events in {events}, read models in {reads}, \
             authentication {}",
            self.role,
            self.listen,
            match self.auth {
                super::AuthMode::Enabled => "enabled",
                super::AuthMode::Disabled => "disabled",
            }
        ))
    }
}

/// The data directory is one already, or startup could create it: its nearest existing
/// ancestor is a directory that is not read-only.
fn data_dir_is_usable(path: &Path) -> Result<(), ConfigError> {
    let fail = |reason: &str| ConfigError::DataDir {
        path: path.display().to_string(),
        reason: reason.to_owned(),
    };
    let mut current = Some(path);
    while let Some(candidate) = current {
        match std::fs::metadata(candidate) {
            Ok(found) if !found.is_dir() && candidate == path => {
                return Err(fail("not a directory"));
            }
            Ok(found) if !found.is_dir() => {
                return Err(fail(&format!(
                    "cannot be created: {} is not a directory",
                    candidate.display()
                )));
            }
            Ok(found) if found.permissions().readonly() => {
                return Err(fail(&format!("{} is read-only", candidate.display())));
            }
            Ok(_) => return Ok(()),
            Err(_) => current = candidate.parent().filter(|p| !p.as_os_str().is_empty()),
        }
    }
    // A relative path whose every ancestor is missing lives in the working directory.
    Ok(())
}

/// Parses a KurrentDB connection string exactly as the adapter does (it connects lazily).
#[cfg(feature = "kurrentdb")]
fn kurrentdb_is_usable(url: &str) -> Result<&'static str, ConfigError> {
    crate::store::kurrentdb::KurrentDbEventStore::connect(url)
        .map(|_| "KurrentDB")
        .map_err(|e| ConfigError::Store(format!("KURRENTDB_URL: {e}")))
}

#[cfg(not(feature = "kurrentdb"))]
fn kurrentdb_is_usable(_url: &str) -> Result<&'static str, ConfigError> {
    Err(ConfigError::Store(
        "KURRENTDB_URL is set but this build has no KurrentDB support (cargo feature `kurrentdb`)"
            .into(),
    ))
}

/// Parses a MongoDB connection string offline (this build resolves no SRV records, so parsing
/// never reaches the network). The reason says what kind of mistake it is and quotes nothing
/// of the string, which may hold a password or a token.
#[cfg(feature = "mongodb")]
fn mongodb_is_usable(url: &str) -> Result<&'static str, ConfigError> {
    mongodb::options::ConnectionString::parse(url)
        .map(|_| "MongoDB")
        .map_err(|e| ConfigError::Store(crate::readstore::mongodb::url_error(url, &e)))
}

#[cfg(not(feature = "mongodb"))]
fn mongodb_is_usable(_url: &str) -> Result<&'static str, ConfigError> {
    Err(ConfigError::Store(
        "MONGODB_URL is set but this build has no MongoDB support (cargo feature `mongodb`)".into(),
    ))
}
