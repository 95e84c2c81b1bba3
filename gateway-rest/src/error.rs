//! The one shape every error takes on the way out; its HTTP status comes from the one list of
//! answers in [`crate::mapping`]. Errors the gateway finds itself (bad JSON, unknown route,
//! oversized body) use the same body as errors from the upstream, so a client parses one
//! format:
//!
//! ```json
//! {"error": {"code": 400, "status": "INVALID_ARGUMENT", "message": "…",
//!            "fieldViolations": [{"field": "lines[0].quantity", "description": "…"}]}}
//! ```

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use prost_reflect::{Kind, MessageDescriptor};
use serde::Serialize;
use tonic::{Code, Status};
use tonic_types::StatusExt;
use tracing::warn;

use crate::mapping::{self, Refusal, STALE_IF_MATCH};

/// An error answer: the HTTP status, the gRPC code it stands for, a message for people, and the
/// fields at fault when the request was invalid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// What the HTTP client sees as the status line.
    pub http: StatusCode,
    /// The canonical code, kept so clients can tell apart errors that share an HTTP status.
    pub code: Code,
    /// Why, in words.
    pub message: String,
    /// The invalid fields, by proto3 JSON path (`lines[0].unitPriceMinor`).
    pub violations: Vec<FieldViolation>,
    /// Extra response headers (`Allow` on 405, `Retry-After` on overload or when the server
    /// says when to retry, `WWW-Authenticate` on 401).
    headers: Vec<(header::HeaderName, HeaderValue)>,
}

/// One invalid field of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldViolation {
    /// Path of the field in proto3 JSON names.
    pub field: String,
    /// What is wrong with it.
    pub description: String,
}

/// The HTTP status for a gRPC code, from [`MAPPING`](crate::mapping::MAPPING).
pub fn http_status(code: Code) -> StatusCode {
    mapping::status(mapping::mapping(code).http)
}

/// The canonical name of a code, as gRPC and Google's JSON errors spell it.
pub fn code_name(code: Code) -> &'static str {
    mapping::mapping(code).name
}

impl ApiError {
    /// An error with the HTTP status of `code` from the table.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self::with_http(http_status(code), code, message)
    }

    /// One of the gateway's own answers outside the table (412, 413, 415, 405).
    pub fn refused(refusal: &Refusal, message: impl Into<String>) -> Self {
        Self::with_http(mapping::status(refusal.http), refusal.code, message)
    }

    fn with_http(http: StatusCode, code: Code, message: impl Into<String>) -> Self {
        Self {
            http,
            code,
            message: message.into(),
            violations: Vec::new(),
            headers: Vec::new(),
        }
    }

    /// A request the gateway refuses before forwarding anything.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(Code::InvalidArgument, message)
    }

    /// Names what is at fault, as the client wrote it: a field path in proto3 JSON names
    /// (`lines[0].quantity`), a path or query parameter, or a header (`Idempotency-Key`).
    pub fn with_violation(
        mut self,
        field: impl Into<String>,
        description: impl Into<String>,
    ) -> Self {
        self.violations.push(FieldViolation {
            field: field.into(),
            description: description.into(),
        });
        self
    }

    /// Adds a response header.
    pub fn header(mut self, name: header::HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    /// Translates an upstream status. `request` names the RPC's input so that field violations
    /// are reported in the proto3 JSON names the REST client used (`options.commandId`),
    /// whether the server spelled them in proto names (`options.command_id`, converted) or
    /// already in JSON names (kept). `conditional` says the request carried `If-Match`:
    /// then `ABORTED`, which the server answers at once for a revision mismatch, is HTTP's
    /// 412 Precondition Failed. A `google.rpc.RetryInfo` detail (login throttling) becomes
    /// `Retry-After` in whole seconds, rounded up.
    pub fn from_status(status: &Status, request: &MessageDescriptor, conditional: bool) -> Self {
        let (code, message) = if std::error::Error::source(status).is_some() {
            // Raised by the transport, not sent by the server: the text names upstream
            // addresses and library internals, which stay in the log. Whatever code the
            // client library chose (a connection the server closed during a refused TLS
            // handshake is CANCELLED), the upstream could not be reached.
            warn!(error = %status, "upstream call failed in transport");
            (
                Code::Unavailable,
                "the upstream service is unreachable; retry".to_owned(),
            )
        } else {
            (status.code(), status.message().to_owned())
        };
        let mut error = if conditional && code == STALE_IF_MATCH.code {
            Self::refused(&STALE_IF_MATCH, message)
        } else {
            Self::new(code, message)
        };
        if let Some(bad_request) = status.get_details_bad_request() {
            error.violations = bad_request
                .field_violations
                .into_iter()
                .map(|v| FieldViolation {
                    field: json_field_path(request, &v.field),
                    description: v.description,
                })
                .collect();
        }
        if let Some(delay) = status
            .get_details_retry_info()
            .and_then(|info| info.retry_delay)
        {
            let seconds = delay.as_secs() + u64::from(delay.subsec_nanos() > 0);
            error = error.header(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
        }
        error
    }
}

/// Rewrites a proto field path (`lines[0].unit_price_minor`) in proto3 JSON names
/// (`lines[0].unitPriceMinor`) by walking `message`; parts already in JSON names stay as they
/// are. A path the descriptors do not know is returned unchanged rather than guessed at.
pub fn json_field_path(message: &MessageDescriptor, path: &str) -> String {
    let mut current = Some(message.clone());
    let mut parts = Vec::new();
    for part in path.split('.') {
        let (name, index) = match part.find('[') {
            Some(at) => part.split_at(at),
            None => (part, ""),
        };
        let field = current.as_ref().and_then(|m| {
            m.get_field_by_name(name)
                .or_else(|| m.get_field_by_json_name(name))
        });
        let Some(field) = field else {
            return path.to_owned();
        };
        parts.push(format!("{}{index}", field.json_name()));
        current = match field.kind() {
            Kind::Message(m) if !field.is_map() => Some(m),
            _ => None,
        };
    }
    parts.join(".")
}

impl ApiError {
    /// The JSON body of this error, the one shape of every error the gateway answers (and of
    /// the last event of a stream that ends in error).
    pub fn body(&self) -> Vec<u8> {
        let body = Body {
            error: Inner {
                code: self.http.as_u16(),
                status: code_name(self.code),
                message: &self.message,
                field_violations: &self.violations,
            },
        };
        serde_json::to_vec(&body).unwrap_or_else(|_| b"{}".to_vec())
    }
}

#[derive(Serialize)]
struct Body<'a> {
    error: Inner<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Inner<'a> {
    code: u16,
    status: &'static str,
    message: &'a str,
    field_violations: &'a [FieldViolation],
}

impl IntoResponse for ApiError {
    fn into_response(mut self) -> Response {
        if self.code == Code::Unauthenticated
            && !self
                .headers
                .iter()
                .any(|(n, _)| n == header::WWW_AUTHENTICATE)
        {
            // Every 401 carries a challenge; without word of a token, the plain one.
            self = self.with_challenge(crate::bearer::Presented::Nothing);
        }
        let json = self.body();
        let mut response = (self.http, json).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        for (name, value) in self.headers {
            headers.insert(name, value);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_a_name_and_a_status() {
        for n in 0..=16 {
            let code = Code::from_i32(n);
            assert!(!code_name(code).is_empty());
            let status = http_status(code);
            assert!(status.as_u16() >= 200, "{code:?}");
        }
        assert_eq!(http_status(Code::Cancelled).as_u16(), 499);
    }

    #[test]
    fn transport_failures_do_not_leak_their_text() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "10.0.0.7:50051");
        let status = Status::from_error(Box::new(io));
        let pool = crate::contracts().expect("contracts decode");
        let request = pool
            .get_message_by_name("causeway.orders.v1.GetOrderRequest")
            .expect("known message");
        let error = ApiError::from_status(&status, &request, false);
        assert!(!error.message.contains("10.0.0.7"), "{}", error.message);
        // Whatever code the transport chose (a connection closed under a call is CANCELLED),
        // an upstream that cannot be reached is 503, not the client's 499.
        for code in [Code::Cancelled, Code::Unknown, Code::Unavailable] {
            let mut status = Status::new(code, "connection closed");
            let closed = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "closed");
            status.set_source(std::sync::Arc::new(closed));
            let error = ApiError::from_status(&status, &request, false);
            assert_eq!((error.code, error.http.as_u16()), (Code::Unavailable, 503));
        }
    }

    #[test]
    fn retry_info_becomes_retry_after_rounded_up() {
        let pool = crate::contracts().expect("contracts decode");
        let request = pool
            .get_message_by_name("causeway.identity.v1.LoginRequest")
            .expect("known message");
        for (delay, header) in [(1_500, "2"), (0, "1"), (60_000, "60")] {
            let mut details = tonic_types::ErrorDetails::new();
            details.set_retry_info(Some(std::time::Duration::from_millis(delay)));
            let status = Status::with_error_details(Code::ResourceExhausted, "slow down", details);
            let response = ApiError::from_status(&status, &request, false).into_response();
            assert_eq!(response.status().as_u16(), 429);
            assert_eq!(
                response.headers()[header::RETRY_AFTER],
                header,
                "{delay} ms"
            );
        }
        let plain = ApiError::from_status(&Status::resource_exhausted("x"), &request, false);
        assert!(
            !plain
                .into_response()
                .headers()
                .contains_key(header::RETRY_AFTER)
        );
    }
}
