//! TLS for Causeway's processes, shared by `causeway-server` and `causeway-gateway` so that both
//! load certificates, rotate them and name their peers the same way.
//!
//! Layout:
//! - here: [`provider`], the one crypto provider every config names, and [`TlsError`].
//! - `pem`: certificates, private keys and CA bundles read from PEM files, each failure naming
//!   its file.
//! - `watched`: [`Watched`], a value built from files and built again when one of them changes
//!   (cert-manager and mesh agents replace files; nothing restarts).
//! - `server`: [`ServerTls`], the acceptor side: certificate and key, and with a client CA a
//!   mandatory, verified client certificate (mTLS).
//! - `client`: [`ClientTls`], the connector side: the CA that signs the server, and optionally
//!   a client certificate of its own.
//! - `pinned`: [`pinned_connector`], a client that trusts exactly the certificate a process
//!   serves: what a health probe inside the server's container speaks TLS with.
//! - `identity`: [`PeerIdentity`], the names (SAN URIs such as `spiffe://…`, DNS names) a
//!   verified peer certificate carries.
//!
//! Every config is built with [`provider`] (aws-lc-rs) explicitly: a build that also compiles
//! ring in (the SDK does) must not depend on which provider the process happened to install.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod client;
mod identity;
mod pem;
mod pinned;
mod server;
mod watched;

use std::{path::PathBuf, sync::Arc};

pub use client::{ClientFiles, ClientTls};
pub use identity::PeerIdentity;
pub use pinned::pinned_connector;
pub use rustls::pki_types::ServerName;
pub use server::{ServerFiles, ServerTls};
pub use tokio_rustls::{
    TlsAcceptor, TlsConnector, client::TlsStream as Connected, server::TlsStream as Accepted,
};
pub use watched::Watched;

/// The crypto provider of every TLS config Causeway builds: aws-lc-rs, already built for the
/// KurrentDB client.
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// Why certificates or keys could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The file cannot be read.
    #[error("{path}: {reason}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        reason: String,
    },
    /// The file holds no PEM block of the kind needed.
    #[error("{path}: no {what} in PEM format")]
    Missing {
        /// The file.
        path: PathBuf,
        /// What was looked for (`certificate`, `private key`).
        what: &'static str,
    },
    /// A PEM block does not decode.
    #[error("{path}: {reason}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// rustls refused the combination (a key that does not match its certificate, an
    /// unsupported key type, a CA that is not a valid trust anchor).
    #[error("{0}")]
    Config(String),
}
