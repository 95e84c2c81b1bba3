//! What can go wrong with a call, as one enum whose variants say what the caller should do next,
//! built from the `tonic::Status` the server (or the transport) produced and its
//! `google.rpc.BadRequest` details.

use std::error::Error as StdError;

use tonic::{Code, Status};
use tonic_types::StatusExt;

/// Why a call failed. Match on the variant to decide what to do: fix the request
/// ([`Error::Validation`]), refresh what you know and decide again ([`Error::Conflict`]), tell
/// the user ([`Error::RuleBroken`], [`Error::NotFound`]) or try later ([`Error::Unavailable`]).
///
/// The SDK has already retried what is safe to retry (see [`crate::RetryPolicy`]) before it
/// returns an error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request is malformed (`INVALID_ARGUMENT`); `violations` names each offending field,
    /// such as `lines[0].quantity`, so a form can point at it. Sending it again cannot help.
    #[error("invalid request: {message}")]
    Validation {
        /// The server's summary.
        message: String,
        /// One entry per offending field, from the `google.rpc.BadRequest` details.
        violations: Vec<FieldViolation>,
    },
    /// The order, product or user does not exist (`NOT_FOUND`).
    #[error("not found: {message}")]
    NotFound {
        /// What was not found, as the server put it.
        message: String,
    },
    /// Someone else changed the stream first (`ABORTED`): the `expected_revision` you gave did
    /// not match, or the stream stayed contested. Re-read, decide again, send a new command.
    #[error("conflict: {message}")]
    Conflict {
        /// The stream in conflict, as the server put it.
        message: String,
    },
    /// A business rule forbids the command in the current state (`FAILED_PRECONDITION`), such
    /// as cancelling a shipped order or reserving beyond what is available.
    #[error("rule broken: {message}")]
    RuleBroken {
        /// Which rule, as the server put it.
        message: String,
    },
    /// The server or the network failed (`UNAVAILABLE`, or a transport error such as a dropped
    /// connection) and the retries ran out. A command may or may not have been applied: send it
    /// again with the same `command_id` and the server answers with the original outcome.
    #[error("unavailable: {message}")]
    Unavailable {
        /// What failed.
        message: String,
    },
    /// The server refused the credentials (`UNAUTHENTICATED`): missing, expired or wrong token,
    /// or a login with a wrong email or password. Not retried; a login provider drops a token
    /// the server refused, so the next call signs in again.
    #[error("unauthenticated: {message}")]
    Unauthenticated {
        /// The server's reason.
        message: String,
    },
    /// The credentials are valid but hold none of the roles the RPC allows
    /// (`PERMISSION_DENIED`). Not retried: the same token would be refused again; a new role
    /// takes effect at the next login.
    #[error("permission denied: {message}")]
    PermissionDenied {
        /// The server's reason.
        message: String,
    },
    /// The call's deadline passed (`DEADLINE_EXCEEDED`, or the client's own timer), including a
    /// query whose read model did not reach the requested position in time.
    #[error("deadline exceeded: {message}")]
    DeadlineExceeded {
        /// What ran out of time; for a read-your-writes query, the position reached.
        message: String,
    },
    /// The configured [`crate::TokenProvider`] failed or produced an unusable token, so nothing
    /// was sent.
    #[error("token provider failed: {message}")]
    Token {
        /// Why (never the token itself).
        message: String,
    },
    /// The server answered in a way the contract does not allow (e.g. an ack missing), which
    /// points at a version mismatch or a server bug rather than at the request.
    #[error("unexpected response: {message}")]
    Protocol {
        /// What was missing or wrong.
        message: String,
    },
    /// Any other status (`INTERNAL`, `UNIMPLEMENTED`, ...), kept with its code.
    #[error("{code:?}: {message}")]
    Other {
        /// The gRPC status code.
        code: Code,
        /// The status message.
        message: String,
    },
}

/// One offending field of a rejected request, so callers can show the error next to the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    /// Path of the field in the request, e.g. `lines[0].quantity` or `options.command_id`.
    pub field: String,
    /// Why the value was refused.
    pub description: String,
}

impl Error {
    /// The gRPC code this error stands for, for logs and metrics that speak gRPC.
    pub fn code(&self) -> Code {
        match self {
            Self::Validation { .. } => Code::InvalidArgument,
            Self::NotFound { .. } => Code::NotFound,
            Self::Conflict { .. } => Code::Aborted,
            Self::RuleBroken { .. } => Code::FailedPrecondition,
            Self::Unavailable { .. } => Code::Unavailable,
            Self::Unauthenticated { .. } | Self::Token { .. } => Code::Unauthenticated,
            Self::PermissionDenied { .. } => Code::PermissionDenied,
            Self::DeadlineExceeded { .. } => Code::DeadlineExceeded,
            Self::Protocol { .. } => Code::Internal,
            Self::Other { code, .. } => *code,
        }
    }

    /// The offending fields of a [`Error::Validation`]; empty for every other kind, so callers
    /// can render them without matching first.
    pub fn violations(&self) -> &[FieldViolation] {
        match self {
            Self::Validation { violations, .. } => violations,
            _ => &[],
        }
    }

    pub(crate) fn protocol(message: impl Into<String>) -> Self {
        Self::Protocol {
            message: message.into(),
        }
    }
}

/// Where a failed status came from, which decides both its [`Error`] kind and whether a retry
/// is safe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// The server answered with this status.
    Server,
    /// The client never got an answer: connect failure, dropped connection, reset stream.
    Transport,
    /// The client's own deadline timer fired before the answer arrived.
    ClientDeadline,
}

/// Tonic builds a status with a `source` only when it synthesises one on the client from an
/// error; statuses decoded from a server's trailers never have one.
pub(crate) fn origin(status: &Status) -> Origin {
    let Some(source) = status.source() else {
        return Origin::Server;
    };
    let mut cause = Some(source);
    while let Some(error) = cause {
        if error.is::<tonic::TimeoutExpired>() {
            return Origin::ClientDeadline;
        }
        cause = error.source();
    }
    Origin::Transport
}

impl From<Status> for Error {
    fn from(status: Status) -> Self {
        Self::from(&status)
    }
}

impl From<&Status> for Error {
    fn from(status: &Status) -> Self {
        let message = status.message().to_owned();
        match origin(status) {
            Origin::ClientDeadline => return Self::DeadlineExceeded { message },
            Origin::Transport => {
                let cause = status.source().map(|s| s.to_string()).unwrap_or_default();
                let message = match (message.is_empty(), cause.is_empty()) {
                    (_, true) => message,
                    (true, false) => cause,
                    (false, false) if message.contains(&cause) => message,
                    (false, false) => format!("{message}: {cause}"),
                };
                return Self::Unavailable { message };
            }
            Origin::Server => {}
        }
        match status.code() {
            Code::InvalidArgument => Self::Validation {
                violations: status
                    .get_details_bad_request()
                    .map(|bad| {
                        bad.field_violations
                            .into_iter()
                            .map(|v| FieldViolation {
                                field: v.field,
                                description: v.description,
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
                message,
            },
            Code::NotFound => Self::NotFound { message },
            Code::Aborted => Self::Conflict { message },
            Code::FailedPrecondition => Self::RuleBroken { message },
            Code::Unavailable => Self::Unavailable { message },
            Code::Unauthenticated => Self::Unauthenticated { message },
            Code::PermissionDenied => Self::PermissionDenied { message },
            Code::DeadlineExceeded => Self::DeadlineExceeded { message },
            code => Self::Other { code, message },
        }
    }
}

#[cfg(test)]
mod tests {
    use tonic_types::ErrorDetails;

    use super::*;

    #[test]
    fn server_statuses_map_to_their_kind() {
        let mut details = ErrorDetails::new();
        details.add_bad_request_violation("lines[0].quantity", "must be at least 1");
        let status = Status::with_error_details(Code::InvalidArgument, "invalid lines", details);
        let error = Error::from(status);
        assert_eq!(
            error.violations(),
            [FieldViolation {
                field: "lines[0].quantity".into(),
                description: "must be at least 1".into(),
            }]
        );
        assert_eq!(error.code(), Code::InvalidArgument);

        let kinds = [
            (Status::not_found("x"), Code::NotFound),
            (Status::aborted("x"), Code::Aborted),
            (Status::failed_precondition("x"), Code::FailedPrecondition),
            (Status::unavailable("x"), Code::Unavailable),
            (Status::unauthenticated("x"), Code::Unauthenticated),
            (Status::permission_denied("x"), Code::PermissionDenied),
            (Status::deadline_exceeded("x"), Code::DeadlineExceeded),
            (Status::internal("x"), Code::Internal),
        ];
        for (status, code) in kinds {
            assert_eq!(Error::from(&status).code(), code, "{status:?}");
        }
        assert!(matches!(
            Error::from(Status::invalid_argument("no details")),
            Error::Validation { violations, .. } if violations.is_empty()
        ));
    }

    #[test]
    fn client_side_failures_are_told_apart_from_server_answers() {
        let timeout = Status::from_error(Box::new(tonic::TimeoutExpired(())));
        assert_eq!(origin(&timeout), Origin::ClientDeadline);
        assert!(matches!(
            Error::from(timeout),
            Error::DeadlineExceeded { .. }
        ));

        let reset = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset by peer");
        let dropped = Status::from_error(Box::new(reset));
        assert_eq!(origin(&dropped), Origin::Transport);
        assert!(
            matches!(Error::from(&dropped), Error::Unavailable { ref message } if message.contains("reset by peer")),
            "{dropped:?}"
        );

        assert_eq!(origin(&Status::unavailable("store down")), Origin::Server);
    }
}
