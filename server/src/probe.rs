//! `causeway-server health`: asks a running server's `grpc.health.v1` service, so a container
//! image needs no other gRPC client for its health check. The answer is SERVING or it is not:
//! anything else (no answer in time, another status, a name the server does not know) fails.

use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    time::Duration,
};

use tonic::transport::Endpoint;
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

/// Asks the server at `addr` about `name` (`""`: the whole process) and returns once it says
/// SERVING, or why not.
pub async fn check(addr: SocketAddr, name: &str, timeout: Duration) -> Result<(), ProbeError> {
    let failed = |reason: String| ProbeError::Failed { addr, reason };
    let endpoint = Endpoint::from_shared(format!("http://{addr}"))
        .map_err(|e| failed(e.to_string()))?
        .connect_timeout(timeout);
    let ask = async {
        let channel = endpoint
            .connect()
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
