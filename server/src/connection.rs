//! How the server treats connections, before and around any request: so that slow, silent or
//! too many connections cannot starve the callers that behave.
//!
//! Layout:
//! - [`Connections`] (this file): the settings (`--handshake-timeout`, `--idle-timeout`,
//!   `--keepalive-interval`, `--keepalive-timeout`, `--max-connections`).
//! - `accept`: [`Incoming`], the accept stream: the connection limit, and TLS handshakes run
//!   side by side, each within the handshake timeout.
//! - `tls`: [`TlsArgs`] (`--tls-cert`, `--tls-key`, `--tls-client-ca`, the certificate role
//!   mapping) and [`Link`], a connection's bytes, plaintext or TLS.
//! - `guarded`: [`Guarded`], one accepted connection: it holds a slot of the connection limit
//!   and closes itself when the client has not finished the HTTP/2 handshake in time or has
//!   had no request in flight for the idle timeout.
//! - `activity`: [`ActivityLayer`], the tower layer that tells each connection when requests
//!   start and end (a request counts until its response body is finished or dropped).
//!
//! HTTP/2 keep-alive pings (tonic's own) close connections whose peer vanished while a
//! request or stream is open; the idle timeout closes the ones that stay but ask nothing.

mod accept;
mod activity;
mod guarded;
pub mod tls;

use std::time::Duration;

use causeway_tls::ServerTls;
use clap::Args;
use tokio::net::TcpListener;

pub use self::accept::Incoming;
pub use self::activity::{ActivityLayer, WithActivity};
pub use self::guarded::{ConnectionInfo, Guarded};
pub use self::tls::{Link, TlsArgs};

/// Largest header list a client may send (HTTP/2 accounting: names, values and 32 bytes per
/// entry). A bearer token of a few kilobytes fits many times over; more is refused by the
/// HTTP/2 layer, for that connection only.
pub const MAX_HEADER_LIST_BYTES: u32 = 16 * 1024;

/// Descriptors a process needs besides its connections: stores, logs, key files.
const RESERVED_DESCRIPTORS: u64 = 64;

/// Connection limits and timeouts of one server process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Args)]
pub struct Connections {
    /// How long a new connection may take to send the HTTP/2 preface and its first frame.
    #[arg(long, env = "CAUSEWAY_HANDSHAKE_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub handshake_timeout: Duration,

    /// How long a connection may stay open with no request in flight before it is closed.
    #[arg(long, env = "CAUSEWAY_IDLE_TIMEOUT", default_value = "2m", value_parser = humantime::parse_duration)]
    pub idle_timeout: Duration,

    /// Interval of HTTP/2 keep-alive pings to each client.
    #[arg(long, env = "CAUSEWAY_KEEPALIVE_INTERVAL", default_value = "30s", value_parser = humantime::parse_duration)]
    pub keepalive_interval: Duration,

    /// How long a keep-alive ping may go unanswered before the connection is closed.
    #[arg(long, env = "CAUSEWAY_KEEPALIVE_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub keepalive_timeout: Duration,

    /// Connections open at once; more are closed as soon as they are accepted.
    #[arg(long, env = "CAUSEWAY_MAX_CONNECTIONS", default_value_t = 1000)]
    pub max_connections: usize,
}

impl Default for Connections {
    fn default() -> Self {
        Self {
            handshake_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(120),
            keepalive_interval: Duration::from_secs(30),
            keepalive_timeout: Duration::from_secs(10),
            max_connections: 1000,
        }
    }
}

impl Connections {
    /// Checks what parsing cannot: no limit of zero, which would refuse every connection.
    pub fn validate(&self) -> Result<(), String> {
        let zero = [
            ("handshake-timeout", self.handshake_timeout.is_zero()),
            ("idle-timeout", self.idle_timeout.is_zero()),
            ("keepalive-interval", self.keepalive_interval.is_zero()),
            ("keepalive-timeout", self.keepalive_timeout.is_zero()),
            ("max-connections", self.max_connections == 0),
        ];
        match zero.iter().find(|(_, is_zero)| *is_zero) {
            Some((flag, _)) => Err(format!("--{flag} must be greater than zero")),
            None => Ok(()),
        }
    }

    /// The connection limit this process can keep: the configured one, lowered (with a
    /// warning) when the open-file limit would run out first, because a process out of file
    /// descriptors cannot even answer its health checks.
    pub fn effective_max_connections(&self) -> usize {
        let Some(files) = open_file_limit() else {
            return self.max_connections;
        };
        let room = files.saturating_sub(RESERVED_DESCRIPTORS).max(1);
        let room = usize::try_from(room).unwrap_or(usize::MAX);
        if room < self.max_connections {
            tracing::warn!(
                configured = self.max_connections,
                open_file_limit = files,
                effective = room,
                "--max-connections lowered to fit the open-file limit (ulimit -n)"
            );
        }
        self.max_connections.min(room)
    }

    /// The connections `listener` accepts, each guarded by these settings, and with `tls`
    /// each after a successful TLS handshake.
    pub fn guard(&self, listener: TcpListener, tls: Option<ServerTls>) -> Incoming {
        Incoming::new(listener, *self, tls)
    }
}

/// The soft limit on open files of this process (Linux: `/proc/self/limits`).
fn open_file_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_limits_are_refused_with_the_flag_named() {
        assert!(Connections::default().validate().is_ok());
        let none = Connections {
            max_connections: 0,
            ..Connections::default()
        };
        assert_eq!(
            none.validate().unwrap_err(),
            "--max-connections must be greater than zero"
        );
    }

    #[test]
    fn the_limit_never_exceeds_what_the_open_file_limit_leaves() {
        let huge = Connections {
            max_connections: usize::MAX,
            ..Connections::default()
        };
        match open_file_limit() {
            Some(files) => assert!(huge.effective_max_connections() as u64 <= files),
            None => assert_eq!(huge.effective_max_connections(), usize::MAX),
        }
        let small = Connections {
            max_connections: 3,
            ..Connections::default()
        };
        assert_eq!(small.effective_max_connections(), 3);
    }
}
