//! The one place application errors become gRPC statuses. Validation carries
//! `google.rpc.BadRequest` field violations; infrastructure failures are logged here and reach
//! the caller without details.

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};
use tracing::{error, warn};

use super::validation::{Invalid, describe};
use crate::feed::FeedError;
use crate::kernel::{CommandError, FieldViolation};
use crate::projection::{consistency::ConsistencyError, runner::RebuildError};
use crate::query::QueryError;
use crate::store::StoreError;

impl From<Invalid> for Status {
    fn from(invalid: Invalid) -> Self {
        invalid_argument(invalid.0)
    }
}

/// `INVALID_ARGUMENT` whose message pairs each field with its reason, and whose
/// `google.rpc.BadRequest` details name the same fields.
fn invalid_argument(violations: Vec<FieldViolation>) -> Status {
    let message = describe(&violations);
    let mut details = ErrorDetails::new();
    for v in violations {
        details.add_bad_request_violation(v.field, v.description);
    }
    Status::with_error_details(Code::InvalidArgument, message, details)
}

impl From<CommandError> for Status {
    fn from(error: CommandError) -> Self {
        match error {
            CommandError::Invalid(violations) => invalid_argument(violations),
            CommandError::Reused { .. } => Status::already_exists(error.to_string()),
            CommandError::Overloaded {
                reason,
                retry_after,
            } => {
                let mut details = ErrorDetails::new();
                details.set_retry_info(Some(retry_after));
                Status::with_error_details(Code::ResourceExhausted, reason, details)
            }
            CommandError::NotFound(what) => Status::not_found(format!("{what} not found")),
            CommandError::Rejected(why) => Status::failed_precondition(why),
            CommandError::Conflict { stream, detail } => {
                Status::aborted(format!("concurrency conflict on {stream}: {detail}"))
            }
            CommandError::Corrupt(detail) => {
                error!(%detail, "stored event unreadable");
                Status::internal("a stored event could not be read; operators have been told")
            }
            CommandError::Store(StoreError::WrongExpectedRevision { stream, .. }) => {
                Status::aborted(format!("concurrency conflict on {stream}"))
            }
            CommandError::Store(StoreError::Invalid(detail)) => {
                warn!(%detail, "event store refused a request");
                Status::invalid_argument("the request names something the event store cannot hold")
            }
            CommandError::Store(StoreError::Unavailable(detail)) => {
                error!(%detail, "event store unavailable");
                Status::unavailable(
                    "the event store is unavailable; retry with the same command id",
                )
            }
        }
    }
}

impl From<QueryError> for Status {
    fn from(error: QueryError) -> Self {
        match error {
            QueryError::Invalid(violations) => invalid_argument(violations),
            QueryError::NotFound(what) => Status::not_found(format!("{what} not found")),
            QueryError::NotReached(ConsistencyError::NotReached {
                projection,
                reached,
                wanted,
            }) => Status::deadline_exceeded(format!(
                "read model {projection} has reached position {reached}, not yet the requested \
                 {wanted}; retry, or raise the deadline"
            )),
            QueryError::NotSettled(state) => Status::deadline_exceeded(state),
            QueryError::Corrupt(detail) => {
                error!(%detail, "read model document unreadable");
                Status::internal(
                    "a read model document is unreadable; the operators have been told",
                )
            }
            QueryError::NotReached(ConsistencyError::Store(e)) | QueryError::Store(e) => {
                error!(error = %e, "read store unavailable");
                Status::unavailable("the read store is unavailable; retry")
            }
        }
    }
}

impl From<FeedError> for Status {
    fn from(error: FeedError) -> Self {
        match error {
            FeedError::Invalid(violations) => invalid_argument(violations),
            FeedError::Forbidden(why) => Status::permission_denied(why),
            FeedError::NotFound(what) => Status::not_found(format!("{what} not found")),
            FeedError::Exhausted(why) => Status::resource_exhausted(why),
            FeedError::Corrupt(detail) => {
                error!(%detail, "stored event undeliverable");
                Status::internal("a stored event could not be read; operators have been told")
            }
            FeedError::Store(e) => {
                error!(error = %e, "event store unavailable to the feed");
                Status::unavailable(
                    "the event store is unavailable; retry (a subscription: after the last \
                     position handled)",
                )
            }
            FeedError::ShuttingDown => Status::unavailable(
                "the server is shutting down; subscribe again after the last position handled",
            ),
        }
    }
}

impl From<RebuildError> for Status {
    fn from(error: RebuildError) -> Self {
        match error {
            RebuildError::AlreadyRunning(_) => Status::failed_precondition(error.to_string()),
            RebuildError::NotRunning(_) => Status::unavailable(error.to_string()),
            RebuildError::Elsewhere { .. } => Status::failed_precondition(error.to_string()),
        }
    }
}
