//! The application layer's failures. Each variant says how the edge should answer; the one
//! mapping to `tonic::Status` lives in `crate::status`.

use crate::store::StoreError;

/// One invalid request field, named by its proto path (e.g. `lines[0].quantity`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    /// Proto field path.
    pub field: String,
    /// What is wrong with it, for the caller.
    pub description: String,
}

impl FieldViolation {
    /// A violation of `field`.
    pub fn new(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            description: description.into(),
        }
    }
}

/// Why a command (or query) did not succeed. `Clone` because one failure of the store can be
/// the answer to every command of a group.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CommandError {
    /// The request is malformed; nothing was read or written.
    #[error("invalid request: {}", describe(.0))]
    Invalid(Vec<FieldViolation>),
    /// The entity the command names does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// A business rule forbids the command in the entity's current state.
    #[error("{0}")]
    Rejected(String),
    /// The stream moved on: a caller-supplied expected revision did not match, or retries of
    /// an optimistic append ran out.
    #[error("concurrency conflict on {stream}: {detail}")]
    Conflict {
        /// The contested stream.
        stream: String,
        /// What was expected and found.
        detail: String,
    },
    /// The command id already ran on this entity with a different request; nothing was written.
    /// A retry must repeat its request exactly; a new request needs a new command id.
    #[error("commandId {command_id} was used for a different request")]
    Reused {
        /// The reused command id.
        command_id: String,
    },
    /// The platform is overloaded for this command now (a read model it feeds is too far
    /// behind); the caller should retry after `retry_after` with the same command id.
    #[error("{reason}")]
    Overloaded {
        /// What is overloaded, for the caller.
        reason: String,
        /// When to retry.
        retry_after: std::time::Duration,
    },
    /// A stored event cannot be read; the stream is unusable until fixed. Logged, not leaked.
    #[error("stored event unreadable: {0}")]
    Corrupt(String),
    /// The store failed; the caller may retry with the same command id.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl CommandError {
    /// A single-field validation failure.
    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self::Invalid(vec![FieldViolation::new(field, description)])
    }
}

fn describe(violations: &[FieldViolation]) -> String {
    violations
        .iter()
        .map(|v| format!("{}: {}", v.field, v.description))
        .collect::<Vec<_>>()
        .join("; ")
}
