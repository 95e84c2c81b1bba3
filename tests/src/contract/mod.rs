//! The contract gate: no change to `proto/` may silently break a caller or a stored event.
//!
//! Other teams call our RPCs, pin our messages in their SDK builds and read our events; the
//! gate compares today's contracts with the baselines they were released under and names every
//! change that would break them, file by file, much as `buf breaking` does, with protox and
//! prost-reflect only (no `protoc`, no network).
//!
//! Layout:
//! - `descriptors`: compiling `proto/` (every `.proto` under it) and reading baseline images.
//! - `finding`: one breaking change (`Finding`, `Change`) and what it means for stored JSON.
//! - `diff`: baseline pool vs current pool: messages and fields (`diff/messages`), enums
//!   (`diff/enums`), reserved numbers and names (`diff/reserved`), services, RPCs and method
//!   options (`diff/services`), files and extension definitions (`diff/mod`), and the additions
//!   the gate lets through (`diff/additions`).
//! - `events`: the stricter rule for stored event messages: a shape old payloads cannot be read
//!   under needs a schema-version bump and an upcaster from every older version.
//! - `fixtures`: committed samples of every stored event type at every schema version, decoded
//!   through the server's upcasters into today's messages; they also tell the gate today's
//!   schema versions and which upcasters exist.
//! - `baselines`: `proto/baselines/<version>.binpb` plus `<version>.events.json`, their digest,
//!   and which version bumps a break needs.
//! - `changelog`: which baseline digests `CHANGELOG.md` announces, and the SDK's version.
//! - `repository`: the whole check of a checkout (`check`) and taking a new baseline (`accept`).
//! - `report`: what the check found, printed file by file.

pub mod baselines;
pub mod changelog;
pub mod descriptors;
pub mod diff;
pub mod events;
pub mod finding;
pub mod fixtures;
pub mod report;
pub mod repository;

pub use descriptors::{Contracts, compile_dir};
pub use diff::{Addition, additions, breaking_changes};
pub use events::{EventFinding, EventProblem, EventRule, EventVersions, stored_event_findings};
pub use finding::{Change, Finding};
pub use report::Report;
pub use repository::{Accepted, Repository, accept, check};

use std::path::PathBuf;

/// Why the gate could not run at all (as opposed to finding a break, which is a [`Report`]).
#[derive(Debug, thiserror::Error)]
pub enum ContractError {
    /// `proto/` (or a copy of it) does not compile.
    #[error("the contracts do not compile: {0}")]
    Compile(String),
    /// A file the gate needs could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// A committed baseline, fixture or manifest is not in the expected form.
    #[error("{path}: {reason}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// `accept` was asked for a version the baselines cannot take.
    #[error("cannot accept version {version}: {reason}")]
    Refused {
        /// The version asked for.
        version: String,
        /// Why, with what to do instead.
        reason: String,
    },
}

impl ContractError {
    fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { path, source }
    }

    fn malformed(path: impl Into<PathBuf>, reason: impl std::fmt::Display) -> Self {
        Self::Malformed {
            path: path.into(),
            reason: reason.to_string(),
        }
    }
}
