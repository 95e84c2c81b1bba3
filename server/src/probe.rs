//! `causeway-server health`: asks a running server's `grpc.health.v1` service, so a container
//! image needs no other gRPC client for its health check. The answer is SERVING or it is not:
//! anything else (no answer in time, another status, a name the server does not know) fails.
//! A server that serves TLS is asked over TLS, trusting exactly the certificate its
//! configuration names (the probe runs beside it and reads the same file); one that demands
//! client certificates needs the probe to present one.

use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    path::Path,
    time::Duration,
};

use causeway_tls::{ServerName, TlsConnector, pinned_connector};
use hyper_util::rt::TokioIo;
use tonic::transport::{Channel, Endpoint};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

/// Why the server is not healthy, in words for the operator.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// Nothing answered at the address within the time allowed.
    #[error("no answer from {addr} within {timeout}")]
    NoAnswer {
        /// Where the server was looked for.
        addr: SocketAddr,
        /// The time allowed.
        timeout: humantime::FormattedDuration,
    },
    /// The connection or the call failed.
    #[error("{addr}: {reason}")]
    Failed {
        /// Where the server was looked for.
        addr: SocketAddr,
        /// What failed.
        reason: String,
    },
    /// The server demands client certificates and the probe was given none.
    #[error(
        "the server demands a client certificate (--tls-client-ca): give health --client-cert and --client-key"
    )]
    NeedsClientCertificate,
    /// The TLS files named by the configuration cannot be used.
    #[error("{0}")]
    Tls(#[from] causeway_tls::TlsError),
    /// It answered with another status than SERVING.
    #[error("{addr} answers {status} for {name:?}")]
    NotServing {
        /// Where the server was looked for.
        addr: SocketAddr,
        /// The health name asked about.
        name: String,
        /// What it answered.
        status: &'static str,
    },
}

/// Where to probe a server that listens on `listen`: the same port on loopback when it listens
/// on every interface.
pub fn local_address(listen: SocketAddr) -> SocketAddr {
    match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), listen.port())
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), listen.port())
        }
        _ => listen,
    }
}

/// How the probe speaks to a server: plaintext, or TLS trusting the server's own certificate
/// and presenting a client certificate when the server demands one.
pub fn transport(
    served: Option<&Path>,
    demands_client_certificate: bool,
    identity: Option<(&Path, &Path)>,
) -> Result<Option<TlsConnector>, ProbeError> {
    let Some(certificate) = served else {
        return Ok(None);
    };
    if demands_client_certificate && identity.is_none() {
        return Err(ProbeError::NeedsClientCertificate);
    }
    Ok(Some(pinned_connector(certificate, identity, &[b"h2"])?))
}

/// Asks the server at `addr` about `name` (`""`: the whole process) over `tls` (plaintext
/// when `None`) and returns once it says SERVING, or why not.
pub async fn check(
    addr: SocketAddr,
    name: &str,
    timeout: Duration,
    tls: Option<TlsConnector>,
) -> Result<(), ProbeError> {
    let failed = |reason: String| ProbeError::Failed { addr, reason };
    let endpoint = Endpoint::from_shared(format!("http://{addr}"))
        .map_err(|e| failed(e.to_string()))?
        .connect_timeout(timeout);
    let ask = async {
        let channel = connect(endpoint, addr, tls)
            .await
            .map_err(|e| failed(e.to_string()))?;
        let mut request = tonic::Request::new(HealthCheckRequest {
            service: name.to_owned(),
        });
        request.set_timeout(timeout);
        HealthClient::new(channel)
            .check(request)
            .await
            .map(|answer| answer.into_inner().status())
            .map_err(|status| failed(format!("{:?}: {}", status.code(), status.message())))
    };
    match tokio::time::timeout(timeout, ask).await {
        Err(_) => Err(ProbeError::NoAnswer {
            addr,
            timeout: humantime::format_duration(timeout),
        }),
        Ok(Err(e)) => Err(e),
        Ok(Ok(ServingStatus::Serving)) => Ok(()),
        Ok(Ok(other)) => Err(ProbeError::NotServing {
            addr,
            name: name.to_owned(),
            status: other.as_str_name(),
        }),
    }
}

/// A channel to `addr`, over TLS when `tls` is given (the name asked for is the address: the
/// pinned certificate is checked, not its names).
async fn connect(
    endpoint: Endpoint,
    addr: SocketAddr,
    tls: Option<TlsConnector>,
) -> Result<Channel, tonic::transport::Error> {
    let Some(tls) = tls else {
        return endpoint.connect().await;
    };
    let connector = tower::service_fn(move |_: http::Uri| {
        let tls = tls.clone();
        async move {
            let tcp = tokio::net::TcpStream::connect(addr).await?;
            let name = ServerName::IpAddress(addr.ip().into());
            tls.connect(name, tcp).await.map(TokioIo::new)
        }
    });
    endpoint.connect_with_connector(connector).await
}
