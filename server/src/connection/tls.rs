//! TLS on the server's own accept path: the flags, and the byte stream of an accepted
//! connection, plaintext or TLS.
//!
//! tonic's built-in TLS reads its certificate once; ours comes from `causeway_tls::ServerTls`,
//! which takes the files as they are at each handshake, so a rotated certificate is served to
//! new connections at once while open connections keep the session they negotiated.

use std::{
    io,
    path::PathBuf,
    pin::Pin,
    task::{Context, Poll},
};

use causeway_tls::{Accepted, ServerFiles, ServerTls, TlsError};
use clap::Args;
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::TcpStream,
};

/// gRPC is HTTP/2 only.
const ALPN: &[&[u8]] = &[b"h2"];

/// The server's TLS flags. Certificates and keys are PEM; each file is re-read when it changes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Args)]
pub struct TlsArgs {
    /// Serve gRPC over TLS with this certificate chain (PEM, leaf first); needs `--tls-key`.
    #[arg(long, env = "CAUSEWAY_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,

    /// The private key of `--tls-cert` (PEM: PKCS#8, PKCS#1 or SEC1).
    #[arg(long, env = "CAUSEWAY_TLS_KEY")]
    pub tls_key: Option<PathBuf>,

    /// Demand a client certificate signed by this CA (PEM) of every connection (mTLS); needs
    /// `--tls-cert`.
    #[arg(long, env = "CAUSEWAY_TLS_CLIENT_CA")]
    pub tls_client_ca: Option<PathBuf>,

    /// Give the client certificate identity `NAME` (a SAN URI such as `spiffe://…`, or a DNS
    /// name) these roles when it calls without a bearer token: `NAME=role[,role…]`. Repeat
    /// the flag, or separate entries with `;` in the variable.
    #[arg(
        long = "tls-client-role",
        env = "CAUSEWAY_TLS_CLIENT_ROLE",
        value_delimiter = ';'
    )]
    pub tls_client_roles: Vec<String>,

    /// The same mapping from a file: one `NAME = role, role` a line, `#` for comments.
    #[arg(long, env = "CAUSEWAY_TLS_CLIENT_ROLES_FILE")]
    pub tls_client_roles_file: Option<PathBuf>,
}

impl TlsArgs {
    /// Checks what parsing cannot: the files come as a pair, and a client CA or a role
    /// mapping needs TLS.
    pub fn validate(&self) -> Result<(), String> {
        match (&self.tls_cert, &self.tls_key) {
            (Some(_), None) => return Err("--tls-cert needs --tls-key".into()),
            (None, Some(_)) => return Err("--tls-key needs --tls-cert".into()),
            _ => {}
        }
        if self.tls_cert.is_none() && self.tls_client_ca.is_some() {
            return Err("--tls-client-ca needs --tls-cert and --tls-key".into());
        }
        let maps = !self.tls_client_roles.is_empty() || self.tls_client_roles_file.is_some();
        if maps && self.tls_client_ca.is_none() {
            return Err(
                "--tls-client-role and --tls-client-roles-file need --tls-client-ca: \
                 without it no client certificate is verified"
                    .into(),
            );
        }
        Ok(())
    }

    /// The server's TLS, loaded now, or `None` for plaintext.
    pub fn load(&self) -> Result<Option<ServerTls>, TlsError> {
        let (Some(certificate), Some(key)) = (&self.tls_cert, &self.tls_key) else {
            return Ok(None);
        };
        let files = ServerFiles {
            certificate: certificate.clone(),
            key: key.clone(),
            client_ca: self.tls_client_ca.clone(),
        };
        ServerTls::load(files, ALPN).map(Some)
    }
}

/// The bytes of one accepted connection.
#[derive(Debug)]
pub enum Link {
    /// Plaintext HTTP/2.
    Plain(TcpStream),
    /// HTTP/2 inside a TLS session the handshake established.
    Tls(Box<Accepted<TcpStream>>),
}

impl AsyncRead for Link {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(stream) => Pin::new(stream).poll_read(cx, buf),
            Self::Tls(stream) => Pin::new(stream.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Link {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(stream) => Pin::new(stream).poll_write(cx, buf),
            Self::Tls(stream) => Pin::new(stream.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(stream) => Pin::new(stream).poll_write_vectored(cx, bufs),
            Self::Tls(stream) => Pin::new(stream.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Self::Plain(stream) => stream.is_write_vectored(),
            Self::Tls(stream) => stream.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(stream) => Pin::new(stream).poll_flush(cx),
            Self::Tls(stream) => Pin::new(stream.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(stream) => Pin::new(stream).poll_shutdown(cx),
            Self::Tls(stream) => Pin::new(stream.as_mut()).poll_shutdown(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flags_parse_and_roles_repeat() {
        #[derive(clap::Parser)]
        struct Flags {
            #[command(flatten)]
            tls: TlsArgs,
        }
        let parsed = <Flags as clap::Parser>::try_parse_from([
            "causeway-server",
            "--tls-cert",
            "/tls/tls.crt",
            "--tls-key",
            "/tls/tls.key",
            "--tls-client-ca",
            "/tls/ca.crt",
            "--tls-client-role",
            "spiffe://corp.example/ns/stock/sa/importer=inventory.staff",
            "--tls-client-role",
            "batch.corp.example=orders.staff,inventory.staff",
        ])
        .unwrap()
        .tls;
        parsed.validate().unwrap();
        assert_eq!(parsed.tls_cert, Some(PathBuf::from("/tls/tls.crt")));
        assert_eq!(parsed.tls_client_ca, Some(PathBuf::from("/tls/ca.crt")));
        assert_eq!(parsed.tls_client_roles.len(), 2);
        let none = <Flags as clap::Parser>::try_parse_from(["causeway-server"]).unwrap();
        assert_eq!(none.tls, TlsArgs::default(), "plaintext unless asked");
    }

    #[test]
    fn files_come_in_pairs_and_mappings_need_a_client_ca() {
        let path = |p: &str| Some(PathBuf::from(p));
        let cases = [
            (
                TlsArgs {
                    tls_cert: path("c.pem"),
                    ..TlsArgs::default()
                },
                Some("--tls-cert needs --tls-key"),
            ),
            (
                TlsArgs {
                    tls_key: path("k.pem"),
                    ..TlsArgs::default()
                },
                Some("--tls-key needs --tls-cert"),
            ),
            (
                TlsArgs {
                    tls_client_ca: path("ca.pem"),
                    ..TlsArgs::default()
                },
                Some("--tls-client-ca needs"),
            ),
            (
                TlsArgs {
                    tls_cert: path("c.pem"),
                    tls_key: path("k.pem"),
                    tls_client_roles: vec!["spiffe://a/b=admin".into()],
                    ..TlsArgs::default()
                },
                Some("need --tls-client-ca"),
            ),
            (TlsArgs::default(), None),
        ];
        for (args, complaint) in cases {
            match (args.validate(), complaint) {
                (Ok(()), None) => {}
                (Err(e), Some(complaint)) => assert!(e.contains(complaint), "{e}"),
                (got, want) => panic!("{args:?}: got {got:?}, wanted {want:?}"),
            }
        }
    }
}
