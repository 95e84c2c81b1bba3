//! `causeway-gateway health`: one `GET /healthz` over HTTP/1.1 to a running gateway, so a
//! container image needs no HTTP client of its own for its health check. Healthy means 200;
//! the body (which names any upstream that does not serve) is passed on to the operator. A
//! gateway that serves HTTPS is asked over TLS, trusting exactly the certificate its
//! configuration names (the probe runs beside it and reads the same file).

use std::{net::SocketAddr, time::Duration};

use causeway_tls::{ServerName, TlsConnector};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The most of an answer read: `/healthz` bodies are a few hundred bytes.
const MAX_ANSWER: u64 = 64 * 1024;

/// Why the gateway is not healthy.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// Nothing answered in time.
    #[error("no answer from {0} in time")]
    NoAnswer(SocketAddr),
    /// The connection failed.
    #[error("{addr}: {reason}")]
    Failed {
        /// Where the gateway was looked for.
        addr: SocketAddr,
        /// What failed.
        reason: String,
    },
    /// It answered, but not 200.
    #[error("{addr} answers {status_line}: {body}")]
    Unhealthy {
        /// Where the gateway was looked for.
        addr: SocketAddr,
        /// The status line of the answer.
        status_line: String,
        /// The answer's body.
        body: String,
    },
}

/// Asks the gateway at `addr` for `/healthz` over `tls` (plain HTTP when `None`); returns the
/// body of a 200, or why not.
pub async fn check(
    addr: SocketAddr,
    timeout: Duration,
    tls: Option<TlsConnector>,
) -> Result<String, ProbeError> {
    let failed = |e: std::io::Error| ProbeError::Failed {
        addr,
        reason: e.to_string(),
    };
    let ask = async {
        let tcp = tokio::net::TcpStream::connect(addr).await.map_err(failed)?;
        match tls {
            None => exchange(tcp, addr).await.map_err(failed),
            Some(tls) => {
                let name = ServerName::IpAddress(addr.ip().into());
                let session = tls.connect(name, tcp).await.map_err(failed)?;
                exchange(session, addr).await.map_err(failed)
            }
        }
    };
    let answer = tokio::time::timeout(timeout, ask)
        .await
        .map_err(|_| ProbeError::NoAnswer(addr))??;
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let status_line = head.lines().next().unwrap_or_default().to_owned();
    let body = body.trim().to_owned();
    match status_line.split_whitespace().nth(1) {
        Some("200") => Ok(body),
        _ => Err(ProbeError::Unhealthy {
            addr,
            status_line,
            body,
        }),
    }
}

/// Sends the request on `stream` and reads the whole answer (the gateway closes after it).
async fn exchange<S>(mut stream: S, addr: SocketAddr) -> std::io::Result<String>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let request = format!("GET /healthz HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    stream.flush().await?;
    let mut answer = Vec::new();
    stream.take(MAX_ANSWER).read_to_end(&mut answer).await?;
    Ok(String::from_utf8_lossy(&answer).into_owned())
}
