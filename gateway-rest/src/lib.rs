//! `causeway-gateway`: REST/JSON in front of Causeway's gRPC services, with no per-RPC code.
//! Routes come from the `google.api.http` annotations in the contracts' descriptor set, read
//! at start-up; requests are transcoded to protobuf by the proto3 JSON rules and forwarded
//! over one generic gRPC path. Annotating a new RPC is all it takes to give it a REST route
//! and an entry in `/openapi.json`.
//!
//! Layout:
//! - [`config`]: flags and `CAUSEWAY_GATEWAY_*` variables, validated before binding.
//! - [`routes`]: the routing table from the annotations, with each RPC's access rule from its
//!   `(causeway.auth.v1.access)` option; [`template`]: path templates.
//! - [`transcode`]: HTTP request -> request message (body, path, query, convention headers),
//!   naming every field at fault when it cannot, and response message -> JSON with `ETag` /
//!   `X-Position`.
//! - [`upstream`]: the generic gRPC client (`DynamicMessage` codec), deadlines, health.
//! - [`upstreams`]: which upstream serves which service (`--upstream-for`), and `/healthz`'s
//!   report of each.
//! - [`cli`]: the command line: serve, `--check-config`, or the `health` probe ([`probe`]).
//! - [`mapping`]: the one list of answers: gRPC code -> HTTP status with what each means, the
//!   headers some carry (`WWW-Authenticate`, `Retry-After`), and the gateway's own refusals
//!   (412, 413, 415, 405).
//! - [`bearer`]: credentials at the edge: `Authorization` passed on (never logged), and the
//!   RFC 6750 challenge of a 401.
//! - [`error`]: the one JSON error body, answering by [`mapping`].
//! - [`openapi`]: the OpenAPI 3 document, from the same descriptors and the same [`mapping`].
//! - [`http`]: the axum handler and the tower layers (timeout, concurrency, body size).
//! - [`header_limits`]: the 431 for oversized headers, and the bound on what is forwarded.
//! - [`mod@serve`]: the accept loop: connection limit, header-read, idle and keep-alive timeouts,
//!   and the TLS handshake with clients.
//! - [`sse`]: a server-streaming RPC as Server-Sent Events (`text/event-stream`), with
//!   heartbeats and `Last-Event-ID` resumption.
//! - [`tls`]: HTTPS for clients (`--tls-cert`), TLS or mTLS to the server (`--upstream-ca`,
//!   `--upstream-client-cert`), certificates re-read when their files change.
//!
//! [`run`] serves the built-in contracts on a listener the caller bound (tests bind port 0);
//! [`fn@serve`] takes any descriptor pool, so tests can prove that an annotation alone makes a
//! route.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod bearer;
pub mod cli;
pub mod config;
pub mod error;
pub mod header_limits;
pub mod http;
pub mod mapping;
pub mod openapi;
pub mod probe;
pub mod routes;
pub mod serve;
pub mod sse;
pub mod template;
pub mod tls;
pub mod transcode;
pub mod upstream;
pub mod upstreams;

use std::{future::Future, sync::Arc};

use bytes::Bytes;
use causeway_telemetry::{Metrics, Protocol, RequestsLayer};
use prost_reflect::DescriptorPool;
use tokio::net::TcpListener;
use tracing::info;

use crate::{
    config::{Config, ConfigError},
    http::{Gateway, Limits},
    routes::{RouteError, RouteTable},
    upstreams::Upstreams,
};

/// Why the gateway could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// The configuration cannot work.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The descriptor set does not decode.
    #[error("cannot read the descriptor set: {0}")]
    Descriptors(#[from] prost_reflect::DescriptorError),
    /// An annotation cannot be served.
    #[error("cannot build the routes: {0}")]
    Routes(#[from] RouteError),
    /// Serving HTTP failed.
    #[error("HTTP server failed: {0}")]
    Io(#[from] std::io::Error),
    /// A certificate, key or CA file cannot be used.
    #[error("TLS: {0}")]
    Tls(#[from] causeway_tls::TlsError),
}

/// The contracts compiled into `causeway-proto`, with their annotations.
pub fn contracts() -> Result<DescriptorPool, GatewayError> {
    Ok(DescriptorPool::decode(causeway_proto::FILE_DESCRIPTOR_SET)?)
}

/// Serves Causeway's own contracts on `listener` until `shutdown` resolves, then lets
/// in-flight requests finish.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), GatewayError> {
    serve(listener, config, contracts()?, shutdown).await
}

/// Serves the annotated RPCs of `pool` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    config: Config,
    pool: DescriptorPool,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), GatewayError> {
    serve_observed(listener, config, pool, shutdown, None).await
}

/// [`fn@serve`], with `/metrics` served on `metrics` (bound by the caller: the binary binds
/// `--metrics-listen`, tests port 0).
pub async fn serve_observed(
    listener: TcpListener,
    config: Config,
    pool: DescriptorPool,
    shutdown: impl Future<Output = ()> + Send + 'static,
    metrics: Option<TcpListener>,
) -> Result<(), GatewayError> {
    config.validate()?;
    let upstreams = Upstreams::new(&config, &pool)?;
    let registry = Metrics::default();
    let metrics_task = metrics.map(|listener| {
        tokio::spawn(causeway_telemetry::metrics::serve(
            listener,
            registry.clone(),
            std::future::pending(),
        ))
    });
    let served = serve_with(listener, &config, pool, upstreams, &registry, shutdown).await;
    if let Some(task) = metrics_task {
        task.abort();
    }
    served
}

/// Serves the annotated RPCs of `pool` on `listener`, calling `upstreams` (one upstream, or
/// one per service), counting HTTP metrics into `registry`, until `shutdown` resolves.
/// `config`'s upstreams are not used: the caller built `upstreams` (a server serves its own
/// REST routes in-process with one). Its limits, timeouts and TLS for clients are.
pub async fn serve_with(
    listener: TcpListener,
    config: &Config,
    pool: DescriptorPool,
    upstreams: impl Into<Upstreams>,
    registry: &Metrics,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), GatewayError> {
    let tls = config.tls.server()?;
    let routes = RouteTable::from_pool(&pool)?;
    let openapi = Bytes::from(openapi::document(&routes, &pool).to_string());
    let route_count = routes.routes().len();
    let upstreams = upstreams.into();
    let target = upstreams.describe();
    let gateway = Arc::new(Gateway {
        routes,
        upstreams,
        openapi,
        max_body_bytes: config.max_body_bytes,
        sse_heartbeat: config.sse_heartbeat,
    });
    let limits = Limits {
        max_header_bytes: config.max_header_bytes,
        ..Limits::new(config.max_body_bytes, config.concurrency, config.timeout)
    };
    let app =
        http::router(gateway, limits).layer(RequestsLayer::new(Protocol::Http, registry, &[]));
    info!(
        address = %listener.local_addr().map_or_else(|e| e.to_string(), |a| a.to_string()),
        upstream = %target,
        routes = route_count,
        https = tls.is_some(),
        "serving"
    );
    serve::serve(listener, app, config.into(), tls, shutdown).await;
    info!("stopped");
    Ok(())
}
