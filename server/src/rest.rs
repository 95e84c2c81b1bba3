//! The REST routes served by the server process itself (`--rest-listen`): the same router as
//! `causeway-gateway` (routes from the contracts' `google.api.http` annotations, the same
//! transcoding, errors and limits), calling this process's gRPC services in-process instead of
//! over a second network hop. Each call goes through the services wrapped in the same layers
//! as the gRPC listener's (metrics, request context, authentication, authorization), so a
//! REST call is checked exactly like a gRPC one. The standalone gateway stays for deployments
//! that put REST in a process of its own.

use std::{future::Future, time::Duration};

use bytes::Bytes;
use causeway_gateway::{
    GatewayError,
    config::Config as RestConfig,
    upstream::{Upstream, UpstreamFailure, UpstreamService},
};
use causeway_telemetry::Metrics;
use tokio::net::TcpListener;
use tower::{BoxError, Service, ServiceExt, util::BoxCloneSyncService};

/// Serves the REST routes on `listener`, calling `services` (the server's routes in its
/// layers), until `shutdown` resolves; then lets in-flight requests finish.
pub async fn serve<S, B>(
    listener: TcpListener,
    services: S,
    deadline: Duration,
    metrics: &Metrics,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), GatewayError>
where
    S: Service<http::Request<tonic::body::Body>, Response = http::Response<B>>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let services: UpstreamService = BoxCloneSyncService::new(
        services
            .map_response(|response| response.map(tonic::body::Body::new))
            .map_err(|e| UpstreamFailure(e.into())),
    );
    let mut config = RestConfig::with_upstream(http::Uri::from_static("http://127.0.0.1"));
    config.timeout = deadline;
    let upstream = Upstream::in_process(services, deadline);
    let contracts = causeway_gateway::contracts()?;
    causeway_gateway::serve_with(listener, &config, contracts, upstream, metrics, shutdown).await
}
