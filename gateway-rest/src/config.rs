//! Configuration from flags and `CAUSEWAY_GATEWAY_*` environment variables, checked before
//! any port is bound. The defaults run beside a default `causeway-server` on a laptop.
//!
//! The variables carry a `GATEWAY` prefix so that a shell or a compose file that configures
//! the server (`CAUSEWAY_LISTEN`) cannot make the gateway bind the server's port.

use std::{net::SocketAddr, time::Duration};

pub use causeway_telemetry::LogFormat;
use clap::Parser;
use http::Uri;

/// An address to listen on (metrics; the server's REST routes too), or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listen(pub Option<SocketAddr>);

impl std::str::FromStr for Listen {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value.trim() {
            "off" => Ok(Self(None)),
            address => address.parse().map(|a| Self(Some(a))).map_err(|e| {
                format!("{address:?} is neither an address (host:port) nor `off`: {e}")
            }),
        }
    }
}

/// One `--upstream-for` entry: a gRPC service and the server that serves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceUpstream {
    /// The service's full name (`causeway.orders.v1.OrderQueries`).
    pub service: String,
    /// Where it is served.
    pub uri: Uri,
}

impl std::str::FromStr for ServiceUpstream {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let (service, uri) = value
            .trim()
            .split_once('=')
            .ok_or_else(|| format!("{value:?} is not <gRPC service full name>=<uri>"))?;
        let uri = uri
            .trim()
            .parse()
            .map_err(|e| format!("{uri:?} of {service} is not a URI: {e}"))?;
        Ok(Self {
            service: service.trim().to_owned(),
            uri,
        })
    }
}

/// Settings of one gateway process.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "causeway-gateway",
    version,
    about = "Causeway's REST/JSON gateway: routes from the contracts' google.api.http annotations"
)]
pub struct Config {
    /// Address the HTTP server listens on.
    #[arg(
        long,
        env = "CAUSEWAY_GATEWAY_LISTEN",
        default_value = "127.0.0.1:8080"
    )]
    pub listen: SocketAddr,

    /// gRPC address of the Causeway server to forward to: `http://host:port`, or
    /// `https://host:port` with `--upstream-ca` (and a client certificate for mTLS).
    #[arg(
        long,
        env = "CAUSEWAY_GATEWAY_UPSTREAM",
        default_value = "http://127.0.0.1:50051"
    )]
    pub upstream: Uri,

    /// A service served by an upstream of its own, as `<gRPC service full name>=<uri>` (e.g.
    /// `causeway.orders.v1.OrderQueries=http://query:50051`), so that one gateway fronts a
    /// deployment split by role; services not named go to `--upstream`. Repeat the flag, or
    /// separate entries with commas in the variable. TLS settings apply to every upstream.
    #[arg(
        long = "upstream-for",
        env = "CAUSEWAY_GATEWAY_UPSTREAM_FOR",
        value_delimiter = ','
    )]
    pub upstream_for: Vec<ServiceUpstream>,

    /// Deadline of one upstream call (sent as `grpc-timeout`; also bounds read-your-writes
    /// waits), e.g. `10s` or `500ms`.
    #[arg(long, env = "CAUSEWAY_GATEWAY_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,

    /// Largest request body accepted, in bytes; larger ones get 413.
    #[arg(long, env = "CAUSEWAY_GATEWAY_MAX_BODY_BYTES", default_value_t = 1 << 20)]
    pub max_body_bytes: usize,

    /// Requests handled at once; more are refused at once with 503 and `Retry-After`.
    #[arg(long, env = "CAUSEWAY_GATEWAY_CONCURRENCY", default_value_t = 1024)]
    pub concurrency: usize,

    /// Largest request header section accepted, in bytes (HTTP/2 accounting: names, values and
    /// 32 bytes per header); larger ones get 431. The headers passed on to the server are held
    /// to 8 KiB whatever this says.
    #[arg(long, env = "CAUSEWAY_GATEWAY_MAX_HEADER_BYTES", default_value_t = 16 * 1024)]
    pub max_header_bytes: usize,

    /// How long a client may take to send a request's headers (HTTP/1.1; also the longest wait
    /// for the next request on a kept-alive connection).
    #[arg(long, env = "CAUSEWAY_GATEWAY_HEADER_READ_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub header_read_timeout: Duration,

    /// How long a connection may stay open with no request in flight before it is closed.
    #[arg(long, env = "CAUSEWAY_GATEWAY_IDLE_TIMEOUT", default_value = "60s", value_parser = humantime::parse_duration)]
    pub idle_timeout: Duration,

    /// Interval of HTTP/2 keep-alive pings to clients (an unanswered ping closes the connection
    /// after the same time again).
    #[arg(long, env = "CAUSEWAY_GATEWAY_KEEPALIVE_INTERVAL", default_value = "30s", value_parser = humantime::parse_duration)]
    pub keepalive_interval: Duration,

    /// Connections open at once; more are closed as soon as they are accepted.
    #[arg(long, env = "CAUSEWAY_GATEWAY_MAX_CONNECTIONS", default_value_t = 1000)]
    pub max_connections: usize,

    /// How often an event stream (Server-Sent Events) with nothing to send sends a comment
    /// line, so that proxies and clients see it alive.
    #[arg(long, env = "CAUSEWAY_GATEWAY_SSE_HEARTBEAT", default_value = "15s", value_parser = humantime::parse_duration)]
    pub sse_heartbeat: Duration,

    /// Log filter: a level, or comma-separated `target=level` directives (the most specific
    /// target wins), e.g. `info` or `info,causeway_gateway=debug,hyper=off`.
    #[arg(long, env = "CAUSEWAY_LOG", default_value = "info")]
    pub log: String,

    /// How log lines look: `text` (coloured only on a terminal) or `json` (one object a line).
    #[arg(long, env = "CAUSEWAY_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Where to serve Prometheus metrics (`GET /metrics`), or `off`.
    #[arg(
        long,
        env = "CAUSEWAY_GATEWAY_METRICS_LISTEN",
        default_value = "127.0.0.1:9465"
    )]
    pub metrics_listen: Listen,

    /// HTTPS for clients, and TLS or mTLS to the server.
    #[command(flatten)]
    pub tls: crate::tls::TlsArgs,
}

/// Configuration that parsed but cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The upstream is not a gRPC address.
    #[error("--upstream {0}: must be http://host:port or https://host:port")]
    Upstream(String),
    /// An `--upstream-for` entry names a service the gateway does not serve, names one twice,
    /// or its address is not a gRPC address.
    #[error("--upstream-for {service}: {reason}")]
    UpstreamFor {
        /// The service as given.
        service: String,
        /// What is wrong.
        reason: String,
    },
    /// TLS flags that do not fit together.
    #[error("{0}")]
    Tls(String),
    /// A limit of zero would refuse every request.
    #[error("--{0} must be greater than zero")]
    Zero(&'static str),
    /// The timeout is longer than any caller would wait, or too long for `grpc-timeout`.
    #[error("--timeout must be at most one hour")]
    TimeoutTooLong,
}

impl Config {
    /// Defaults forwarding to `upstream`, as tests and embedders want them. Built field by
    /// field, not parsed, so the caller's environment cannot change it.
    pub fn with_upstream(upstream: Uri) -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            upstream,
            upstream_for: Vec::new(),
            timeout: Duration::from_secs(10),
            max_body_bytes: 1 << 20,
            concurrency: 1024,
            max_header_bytes: 16 * 1024,
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            keepalive_interval: Duration::from_secs(30),
            max_connections: 1000,
            sse_heartbeat: Duration::from_secs(15),
            log: "info".to_owned(),
            log_format: LogFormat::Text,
            metrics_listen: Listen(None),
            tls: crate::tls::TlsArgs::default(),
        }
    }

    /// Checks what parsing cannot. The services of `--upstream-for` are checked against the
    /// contracts by [`crate::upstreams::Upstreams::new`].
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !is_grpc_address(&self.upstream) {
            return Err(ConfigError::Upstream(self.upstream.to_string()));
        }
        self.tls.validate(&self.upstream)?;
        for entry in &self.upstream_for {
            let fail = |reason: String| ConfigError::UpstreamFor {
                service: entry.service.clone(),
                reason,
            };
            if !is_grpc_address(&entry.uri) {
                return Err(fail(format!(
                    "{} must be http://host:port or https://host:port",
                    entry.uri
                )));
            }
            self.tls
                .validate(&entry.uri)
                .map_err(|e| fail(e.to_string()))?;
            let named = self
                .upstream_for
                .iter()
                .filter(|e| e.service == entry.service);
            if named.count() > 1 {
                return Err(fail("is named more than once".to_owned()));
            }
        }
        if self.timeout.is_zero() {
            return Err(ConfigError::Zero("timeout"));
        }
        if self.timeout > Duration::from_secs(3600) {
            return Err(ConfigError::TimeoutTooLong);
        }
        if self.max_body_bytes == 0 {
            return Err(ConfigError::Zero("max-body-bytes"));
        }
        let zero = [
            ("concurrency", self.concurrency == 0),
            ("max-header-bytes", self.max_header_bytes == 0),
            ("header-read-timeout", self.header_read_timeout.is_zero()),
            ("idle-timeout", self.idle_timeout.is_zero()),
            ("keepalive-interval", self.keepalive_interval.is_zero()),
            ("max-connections", self.max_connections == 0),
            ("sse-heartbeat", self.sse_heartbeat.is_zero()),
        ];
        match zero.into_iter().find(|(_, is_zero)| *is_zero) {
            Some((flag, _)) => Err(ConfigError::Zero(flag)),
            None => Ok(()),
        }
    }
}

/// `http://host:port` or `https://host:port`, with no path.
fn is_grpc_address(uri: &Uri) -> bool {
    matches!(uri.scheme_str(), Some("http" | "https"))
        && uri.authority().is_some_and(|a| a.port_u16().is_some())
        && uri.path_and_query().is_none_or(|p| p.as_str() == "/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_sit_beside_a_default_server() {
        let config = Config::try_parse_from(["causeway-gateway"]).unwrap();
        assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(config.upstream.to_string(), "http://127.0.0.1:50051/");
        assert_eq!(config.timeout, Duration::from_secs(10));
        config.validate().unwrap();
    }

    #[test]
    fn bad_values_are_rejected_with_the_flag_named() {
        let err = Config::try_parse_from(["causeway-gateway", "--listen", "nope"]).unwrap_err();
        assert!(err.to_string().contains("--listen"), "{err}");
        let err = Config::try_parse_from(["causeway-gateway", "--timeout", "soon"]).unwrap_err();
        assert!(err.to_string().contains("--timeout"), "{err}");
        for upstream in [
            "grpc://db:443",
            "127.0.0.1:50051",
            "http://host",
            "http://h:1/x",
        ] {
            let config =
                Config::try_parse_from(["causeway-gateway", "--upstream", upstream]).unwrap();
            assert!(
                matches!(config.validate(), Err(ConfigError::Upstream(_))),
                "{upstream}"
            );
        }
        let config = Config::try_parse_from(["causeway-gateway", "--concurrency", "0"]).unwrap();
        assert_eq!(config.validate(), Err(ConfigError::Zero("concurrency")));
        let config = Config::try_parse_from(["causeway-gateway", "--idle-timeout", "0s"]).unwrap();
        assert_eq!(config.validate(), Err(ConfigError::Zero("idle-timeout")));
    }

    #[test]
    fn services_get_upstreams_of_their_own_and_bad_entries_are_named() {
        let config = Config::try_parse_from([
            "causeway-gateway",
            "--upstream-for",
            "causeway.orders.v1.OrderQueries=http://query:50051",
            "--upstream-for",
            "a.B=http://b:1,c.D=http://d:2",
        ])
        .unwrap();
        config.validate().unwrap();
        let named: Vec<_> = config.upstream_for.iter().map(|e| &e.service).collect();
        assert_eq!(named, ["causeway.orders.v1.OrderQueries", "a.B", "c.D"]);
        assert_eq!(
            config.upstream_for[0].uri.to_string(),
            "http://query:50051/"
        );
        let err =
            Config::try_parse_from(["causeway-gateway", "--upstream-for", "a.B"]).unwrap_err();
        assert!(err.to_string().contains("--upstream-for"), "{err}");
        for (entries, complaint) in [
            (&["a.B=http://b"][..], "must be http://host:port"),
            (&["a.B=grpc://b:1"][..], "must be http://host:port"),
            (&["a.B=http://b:1", "a.B=http://c:1"][..], "more than once"),
            (&["a.B=https://b:1"][..], "--upstream-ca"),
        ] {
            let mut argv = vec!["causeway-gateway"];
            for entry in entries {
                argv.extend(["--upstream-for", entry]);
            }
            let err = Config::try_parse_from(argv)
                .unwrap()
                .validate()
                .unwrap_err();
            assert!(
                matches!(&err, ConfigError::UpstreamFor { service, .. } if service == "a.B"),
                "{err}"
            );
            assert!(err.to_string().contains(complaint), "{err}");
        }
    }
}
