//! Driver errors as read-store errors. A document the server refuses for what it is (too large,
//! an unusable field) is `Rejected`, so the runner parks its event; everything else (no server
//! reachable, a dropped connection, a failed command) is `Unavailable`, so the runner retries.
//!
//! Messages name what was being done and the error's class or code, never document data, and
//! never the connection string: the driver's full error goes to the debug log only.

use mongodb::error::{Error, ErrorKind, WriteFailure};
use tracing::debug;

use crate::readstore::ReadStoreError;

/// Codes of command and write errors about the document itself (too large, in its several
/// spellings); retrying cannot help.
const TOO_LARGE: [i32; 3] = [10334, 17419, 17420];

/// A failure inside the adapter, before it becomes a [`ReadStoreError`]. The driver's error is
/// kept whole until then, because transactions decide on its labels whether to retry.
#[derive(Debug)]
pub(super) enum Failure {
    /// The batch cannot be stored as it is.
    Rejected(String),
    /// The server failed in a way the adapter diagnosed itself.
    Unavailable(String),
    /// The writer's lease was granted again: the batch is refused.
    Fenced(String),
    /// The driver failed while doing something.
    Driver {
        /// What was being done, for the message.
        doing: String,
        /// The driver's error.
        error: Error,
    },
}

/// The driver failed while `doing` something.
pub(super) fn failure(doing: &str, error: &Error) -> Failure {
    Failure::Driver {
        doing: doing.to_owned(),
        error: error.clone(),
    }
}

/// `Unavailable` for a driver error while `doing` something.
pub(super) fn unavailable(doing: &str, error: &Error) -> ReadStoreError {
    ReadStoreError::from(failure(doing, error))
}

impl From<Failure> for ReadStoreError {
    fn from(failure: Failure) -> Self {
        match failure {
            Failure::Rejected(why) => Self::Rejected(why),
            Failure::Unavailable(why) => Self::Unavailable(why),
            Failure::Fenced(why) => Self::Fenced(why),
            Failure::Driver { doing, error } => {
                debug!(%doing, error = %error, "MongoDB operation failed");
                if codes(&error).iter().any(|code| TOO_LARGE.contains(code)) {
                    Self::Rejected(format!(
                        "{doing}: MongoDB refused a document over its 16 MiB limit"
                    ))
                } else {
                    Self::Unavailable(format!("MongoDB {doing}: {}", describe(&error)))
                }
            }
        }
    }
}

/// The server error codes an error carries.
fn codes(error: &Error) -> Vec<i32> {
    match error.kind.as_ref() {
        ErrorKind::Command(e) => vec![e.code],
        ErrorKind::Write(WriteFailure::WriteError(e)) => vec![e.code],
        ErrorKind::Write(WriteFailure::WriteConcernError(e)) => vec![e.code],
        ErrorKind::InsertMany(e) => e
            .write_errors
            .iter()
            .flatten()
            .map(|e| e.code)
            .chain(e.write_concern_error.iter().map(|e| e.code))
            .collect(),
        _ => Vec::new(),
    }
}

/// The class of an error, without its message (which may quote document values).
fn describe(error: &Error) -> String {
    match error.kind.as_ref() {
        ErrorKind::ServerSelection { .. } => {
            "no server answered within the server-selection timeout".to_owned()
        }
        ErrorKind::Io(io) => format!("I/O error ({})", io.kind()),
        ErrorKind::ConnectionPoolCleared { .. } => "the connection to the server was lost".into(),
        ErrorKind::Authentication { .. } => "authentication failed".to_owned(),
        ErrorKind::Command(e) => format!("command failed with {} ({})", e.code_name, e.code),
        ErrorKind::Write(WriteFailure::WriteError(e)) => format!("write error {}", e.code),
        ErrorKind::Write(WriteFailure::WriteConcernError(e)) => {
            format!("write concern error {}", e.code)
        }
        ErrorKind::InsertMany(_) => format!("insert failed (codes {:?})", codes(error)),
        ErrorKind::InvalidResponse { .. } => "the server sent an invalid reply".to_owned(),
        ErrorKind::BsonDeserialization(_) => "a reply could not be decoded".to_owned(),
        ErrorKind::SessionsNotSupported => "the deployment does not support sessions".into(),
        ErrorKind::Transaction { .. } => "transaction error".to_owned(),
        _ => "operation failed".to_owned(),
    }
}

/// Whether `error` is a unique index refusing a value.
pub(super) fn is_duplicate_key(error: &Error) -> bool {
    codes(error).contains(&super::batch::DUPLICATE_KEY)
}
