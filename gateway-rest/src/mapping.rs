//! The one list of answers: each gRPC status code with its HTTP status and what it means in
//! Causeway, the headers some answers carry (`WWW-Authenticate` on 401, `Retry-After`), and
//! the few answers the gateway gives on its own (412, 413, 415, 405). The error mapping
//! ([`crate::error`]) answers by it and the OpenAPI document ([`crate::openapi`]) documents
//! it, so the two cannot disagree.
//!
//! The table follows Google's HTTP mapping except for `FAILED_PRECONDITION`, which is 409
//! Conflict here because in Causeway it always means "a business rule forbids this in the
//! resource's current state" (cancel a shipped order), not a failed HTTP precondition. 412 is
//! kept for what HTTP means by it: an `If-Match` revision that no longer matches.

use http::StatusCode;
use tonic::Code;

/// One row of the table: a gRPC code, its canonical name, its HTTP status and its meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mapping {
    /// The gRPC status code.
    pub code: Code,
    /// Its canonical name, as gRPC and Google's JSON errors spell it.
    pub name: &'static str,
    /// The HTTP status it answers with.
    pub http: u16,
    /// What it means to a caller of Causeway, for the OpenAPI document.
    pub meaning: &'static str,
}

const fn row(code: Code, name: &'static str, http: u16, meaning: &'static str) -> Mapping {
    Mapping {
        code,
        name,
        http,
        meaning,
    }
}

/// Every gRPC status code, in code order.
pub const MAPPING: [Mapping; 17] = [
    row(Code::Ok, "OK", 200, "success"),
    row(
        Code::Cancelled,
        "CANCELLED",
        499,
        "the caller cancelled the call",
    ),
    row(
        Code::Unknown,
        "UNKNOWN",
        500,
        "the server failed in a way it could not classify",
    ),
    row(
        Code::InvalidArgument,
        "INVALID_ARGUMENT",
        400,
        "a field, path parameter, query parameter or header is missing or malformed; \
         fieldViolations names each one with the reason, and nothing was changed",
    ),
    row(
        Code::DeadlineExceeded,
        "DEADLINE_EXCEEDED",
        504,
        "no answer within the deadline, or the read model did not reach X-Min-Position in time",
    ),
    row(
        Code::NotFound,
        "NOT_FOUND",
        404,
        "no such order, product, user or reservation, or no such route",
    ),
    row(
        Code::AlreadyExists,
        "ALREADY_EXISTS",
        409,
        "the Idempotency-Key (command id) was already used on this entity for a different \
         request; nothing was written (a repeat of the same request answers 200 with \
         deduplicated: true)",
    ),
    row(
        Code::PermissionDenied,
        "PERMISSION_DENIED",
        403,
        "the bearer token is valid but holds none of the roles the operation's description \
         names; nothing was changed",
    ),
    row(
        Code::ResourceExhausted,
        "RESOURCE_EXHAUSTED",
        429,
        "a limit was reached (too many failed logins for one email); retry after the seconds \
         in Retry-After",
    ),
    row(
        Code::FailedPrecondition,
        "FAILED_PRECONDITION",
        409,
        "a business rule forbids it in the entity's current state (cancel a shipped order, \
         reserve beyond what is available, an email already registered)",
    ),
    row(
        Code::Aborted,
        "ABORTED",
        409,
        "a concurrency conflict, or options.expectedRevision in the body did not match; \
         retry with the same Idempotency-Key",
    ),
    row(
        Code::OutOfRange,
        "OUT_OF_RANGE",
        400,
        "a value is out of range",
    ),
    row(
        Code::Unimplemented,
        "UNIMPLEMENTED",
        501,
        "the upstream process does not serve this RPC (another role does)",
    ),
    row(
        Code::Internal,
        "INTERNAL",
        500,
        "the server failed; the details are in its log",
    ),
    row(
        Code::Unavailable,
        "UNAVAILABLE",
        503,
        "the store or the server is down, or the gateway is at its concurrency limit; retry \
         with the same Idempotency-Key",
    ),
    row(Code::DataLoss, "DATA_LOSS", 500, "stored data is damaged"),
    row(
        Code::Unauthenticated,
        "UNAUTHENTICATED",
        401,
        "no bearer token on an operation that needs one, or a token that was refused \
         (malformed, expired, not yet valid, another issuer or audience, an unknown key, a \
         disabled user), or a login with a wrong email or password; WWW-Authenticate says which",
    ),
];

/// The row of `code`.
pub fn mapping(code: Code) -> &'static Mapping {
    // `Code` is a dense enum from 0 to 16, so `MAPPING` is indexed by it.
    &MAPPING[code as usize]
}

/// Which operations one of the gateway's own answers can come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applies {
    /// Routes that take a body.
    WithBody,
    /// Routes whose request has `options.expected_revision` (If-Match).
    WithExpectedRevision,
    /// No documented operation: it answers a method the path does not have.
    NoOperation,
    /// Every route: the gateway answers it before routing.
    Always,
}

/// An answer the gateway gives itself, outside the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    /// The HTTP status.
    pub http: u16,
    /// The gRPC code the error body names.
    pub code: Code,
    /// Which operations can answer it.
    pub applies: Applies,
    /// What it means, for the OpenAPI document.
    pub meaning: &'static str,
}

const fn refusal(http: u16, code: Code, applies: Applies, meaning: &'static str) -> Refusal {
    Refusal {
        http,
        code,
        applies,
        meaning,
    }
}

/// Every answer the gateway gives itself; named one by one below.
pub const REFUSALS: [Refusal; 5] = [
    refusal(
        412,
        Code::Aborted,
        Applies::WithExpectedRevision,
        "If-Match named a revision the entity is no longer at; nothing was changed",
    ),
    refusal(
        413,
        Code::InvalidArgument,
        Applies::WithBody,
        "the body is larger than the gateway accepts",
    ),
    refusal(
        415,
        Code::InvalidArgument,
        Applies::WithBody,
        "the body is not JSON (Content-Type: application/json)",
    ),
    refusal(
        405,
        Code::Unimplemented,
        Applies::NoOperation,
        "the path exists for the methods in Allow only",
    ),
    refusal(
        431,
        Code::InvalidArgument,
        Applies::Always,
        "the request headers are larger than the gateway accepts",
    ),
];

/// `If-Match` named a revision the entity is no longer at (the server answered ABORTED).
pub const STALE_IF_MATCH: Refusal = REFUSALS[0];
/// The body is over `--max-body-bytes`.
pub const BODY_TOO_LARGE: Refusal = REFUSALS[1];
/// The body is not JSON.
pub const NOT_JSON: Refusal = REFUSALS[2];
/// The path exists, but not for this method.
pub const METHOD_NOT_ALLOWED: Refusal = REFUSALS[3];
/// Headers over `--max-header-bytes`: the gateway's own answer, never forwarded.
pub const HEADERS_TOO_LARGE: Refusal = REFUSALS[4];

/// A header some answers of one gRPC code carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnswerHeader {
    /// The code whose answers carry it.
    pub code: Code,
    /// The header's name.
    pub name: &'static str,
    /// Whether every answer of `code` carries it, or only some.
    pub always: bool,
    /// The pattern its value follows, when it has a fixed form.
    pub pattern: Option<&'static str>,
    /// What it says, for the OpenAPI document.
    pub meaning: &'static str,
}

/// Every header an error answer can carry beside the body, by code. The answers add them
/// ([`crate::error`], [`crate::bearer`]) and the OpenAPI document documents them from here.
pub const ANSWER_HEADERS: [AnswerHeader; 3] = [
    AnswerHeader {
        code: Code::Unauthenticated,
        name: "WWW-Authenticate",
        always: true,
        pattern: None,
        meaning: "The Bearer challenge (RFC 6750): `Bearer realm=\"causeway\"` when no bearer \
            token was sent; with `error=\"invalid_token\"` and an `error_description` when one \
            was sent and refused.",
    },
    AnswerHeader {
        code: Code::ResourceExhausted,
        name: "Retry-After",
        always: false,
        pattern: Some("^[0-9]+$"),
        meaning: "Seconds to wait before trying again, when the server said (google.rpc.RetryInfo).",
    },
    AnswerHeader {
        code: Code::Unavailable,
        name: "Retry-After",
        always: false,
        pattern: Some("^[0-9]+$"),
        meaning: "Seconds to wait before trying again, when the gateway is at its concurrency \
            limit or the server said (google.rpc.RetryInfo).",
    },
];

/// `http` as a status; every status in this module is valid.
pub fn status(http: u16) -> StatusCode {
    StatusCode::from_u16(http).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_indexed_by_code_and_every_status_is_valid() {
        for (number, row) in MAPPING.iter().enumerate() {
            assert_eq!(row.code as usize, number, "{}", row.name);
            assert_eq!(mapping(Code::from_i32(number as i32)), row);
            assert!(StatusCode::from_u16(row.http).is_ok(), "{}", row.name);
        }
        for refusal in REFUSALS {
            assert!(
                StatusCode::from_u16(refusal.http).is_ok(),
                "{}",
                refusal.http
            );
        }
    }
}
