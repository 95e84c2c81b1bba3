//! The HTTP side: one axum fallback handler serves every annotated route (look up, transcode,
//! forward, transcode back), beside `/healthz` and `/openapi.json`. Cross-cutting limits are
//! tower layers around all of it, outermost first: oversized headers (431, before anything
//! else looks at the request), errors of the layers become JSON answers,
//! a timeout (504), load shedding past the concurrency limit (503 with `Retry-After`), and
//! the body size limit (413). A server-streaming route answers as Server-Sent Events
//! ([`crate::sse`]); the limits apply until its headers are sent.

use std::{sync::Arc, time::Duration};

use axum::{
    Router,
    body::Body,
    error_handling::HandleErrorLayer,
    extract::{Request, State},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::get,
};
use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use http_body_util::{LengthLimitError, Limited};
use tonic::Code;
use tower::{BoxError, ServiceBuilder};
use tracing::debug;

use causeway_telemetry::{requests::Route, traces};

use crate::{
    bearer,
    error::ApiError,
    header_limits::limit_headers,
    mapping::{BODY_TOO_LARGE, METHOD_NOT_ALLOWED},
    routes::{Lookup, RouteTable},
    sse, transcode,
    upstream::forwarded_metadata,
    upstreams::{Upstreams, health_report},
};

/// Room the HTTP timeout leaves beyond the upstream deadline, so that the upstream's own
/// `DEADLINE_EXCEEDED` (which names how far a read model got) is what the client sees.
const TIMEOUT_GRACE: Duration = Duration::from_secs(1);

/// Everything a request needs, shared by all requests.
#[derive(Debug)]
pub struct Gateway {
    /// The routes.
    pub routes: RouteTable,
    /// Where calls go, by service.
    pub upstreams: Upstreams,
    /// `/openapi.json`, rendered once.
    pub openapi: Bytes,
    /// Largest request body, for the 413 message.
    pub max_body_bytes: usize,
    /// Silence after which an event stream sends a heartbeat.
    pub sse_heartbeat: Duration,
}

/// The limits the tower layers enforce.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest request body.
    pub max_body_bytes: usize,
    /// Largest request header section.
    pub max_header_bytes: usize,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// The whole request's time budget (the upstream deadline plus a grace period).
    pub timeout: Duration,
}

impl Limits {
    /// Limits for an upstream `deadline`.
    pub fn new(max_body_bytes: usize, concurrency: usize, deadline: Duration) -> Self {
        Self {
            max_body_bytes,
            max_header_bytes: 16 * 1024,
            concurrency,
            timeout: deadline + TIMEOUT_GRACE,
        }
    }
}

/// The complete HTTP service.
pub fn router(gateway: Arc<Gateway>, limits: Limits) -> Router {
    let max = limits.max_body_bytes;
    let max_headers = limits.max_header_bytes;
    let timeout = limits.timeout;
    Router::new()
        .route("/healthz", get(healthz))
        .route("/openapi.json", get(openapi))
        .fallback(transcode_and_forward)
        .with_state(gateway)
        .layer(
            ServiceBuilder::new()
                .layer(middleware::from_fn(move |request, next| {
                    limit_headers(max_headers, request, next)
                }))
                .layer(HandleErrorLayer::new(move |error: BoxError| async move {
                    layer_error(&error, timeout)
                }))
                .timeout(timeout)
                .load_shed()
                .layer(tower::limit::GlobalConcurrencyLimitLayer::new(
                    limits.concurrency,
                ))
                .layer(middleware::from_fn(move |request, next| {
                    limit_body(max, request, next)
                })),
        )
}

/// Turns what the layers raise into the JSON error every other failure uses.
fn layer_error(error: &BoxError, timeout: Duration) -> Response {
    if error.is::<tower::timeout::error::Elapsed>() {
        return ApiError::new(
            Code::DeadlineExceeded,
            format!("no answer within {}", humantime::format_duration(timeout)),
        )
        .into_response();
    }
    if error.is::<tower::load_shed::error::Overloaded>() {
        return ApiError::new(
            Code::Unavailable,
            "the gateway is at its concurrency limit; retry shortly",
        )
        .header(header::RETRY_AFTER, HeaderValue::from_static("1"))
        .into_response();
    }
    ApiError::new(Code::Internal, "the gateway failed to handle the request").into_response()
}

/// Refuses a declared length over the limit at once, and caps any other body as it streams.
async fn limit_body(max: usize, request: Request, next: Next) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > max as u64) {
        return too_large(max).into_response();
    }
    let request = request.map(|body| Body::new(Limited::new(body, max)));
    next.run(request).await
}

fn too_large(max: usize) -> ApiError {
    ApiError::refused(
        &BODY_TOO_LARGE,
        format!("the request body is larger than {max} bytes"),
    )
}

async fn healthz(State(gateway): State<Arc<Gateway>>) -> Response {
    let (serving, body) = health_report(&gateway.upstreams.health().await);
    let status = match serving {
        true => StatusCode::OK,
        false => StatusCode::SERVICE_UNAVAILABLE,
    };
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

async fn openapi(State(gateway): State<Arc<Gateway>>) -> Response {
    let mut response = gateway.openapi.clone().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// The one handler of every annotated route. The answer names the RPC it was for (the metrics'
/// `route` label).
async fn transcode_and_forward(State(gateway): State<Arc<Gateway>>, request: Request) -> Response {
    let mut rpc = None;
    let mut response = match handle(&gateway, request, &mut rpc).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    };
    if let Some(rpc) = rpc {
        response.extensions_mut().insert(Route(rpc));
    }
    response
}

async fn handle(
    gateway: &Gateway,
    request: Request,
    rpc: &mut Option<String>,
) -> Result<Response, ApiError> {
    let (parts, body) = request.into_parts();
    let (route, values) = match gateway.routes.find(&parts.method, parts.uri.path()) {
        Lookup::Found(route, values) => {
            *rpc = Some(route.rpc.full_name().to_owned());
            (route, values)
        }
        Lookup::MethodNotAllowed(allowed) => {
            let names: Vec<&str> = allowed.iter().map(http::Method::as_str).collect();
            let allow = HeaderValue::from_str(&names.join(", "))
                .unwrap_or_else(|_| HeaderValue::from_static(""));
            return Err(ApiError::refused(
                &METHOD_NOT_ALLOWED,
                format!(
                    "{} is not supported on {}; use {}",
                    parts.method,
                    parts.uri.path(),
                    names.join(" or ")
                ),
            )
            .header(header::ALLOW, allow));
        }
        Lookup::NotFound => {
            return Err(ApiError::new(
                Code::NotFound,
                format!("no route for {} {}", parts.method, parts.uri.path()),
            ));
        }
    };
    let presented = bearer::presented(&parts.headers)?;
    let body = read_body(body, gateway.max_body_bytes).await?;
    let call = transcode::request(route, &values, parts.uri.query(), &parts.headers, &body)?;
    debug!(rpc = %route.rpc.full_name(), "forwarding");
    let upstream = gateway
        .upstreams
        .serving(route.rpc.parent_service().full_name());
    let mut metadata = forwarded_metadata(&parts.headers);
    // The upstream call continues this request's trace as a child of the gateway's span.
    if let Some(traceparent) =
        traces::traceparent(&tracing::Span::current()).and_then(|t| t.parse().ok())
    {
        metadata.insert("traceparent", traceparent);
    }
    if route.streaming {
        let items = upstream
            .subscribe(
                route.grpc_path.clone(),
                route.rpc.output(),
                call.message,
                metadata,
            )
            .await
            .map_err(|status| {
                ApiError::from_status(&status, &route.rpc.input(), false).with_challenge(presented)
            })?;
        return Ok(sse::respond(
            items,
            gateway.sse_heartbeat,
            route.rpc.input(),
        ));
    }
    let answer = upstream
        .call(
            route.grpc_path.clone(),
            route.rpc.output(),
            call.message,
            metadata,
        )
        .await
        .map_err(|status| {
            ApiError::from_status(&status, &route.rpc.input(), call.conditional)
                .with_challenge(presented)
        })?;
    let (json, headers) = transcode::response(route, &answer)?;
    let mut response = (StatusCode::OK, json).into_response();
    response.headers_mut().extend(headers);
    Ok(response)
}

/// Reads the whole body; the limit layer already capped it, `max` here says so in the error.
async fn read_body(body: Body, max: usize) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(body, max).await.map_err(|error| {
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&error);
        while let Some(current) = source {
            if current.is::<LengthLimitError>() {
                return too_large(max);
            }
            source = current.source();
        }
        ApiError::bad_request(format!("the request body could not be read: {error}"))
    })
}
