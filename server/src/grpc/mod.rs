//! The gRPC edge: everything between the network and a context's application hop, so that
//! handlers stay one call each.
//!
//! Layout:
//! - `context`: `RequestContext` (correlation id, trace context, caller) read from the headers
//!   once per request by a tower layer.
//! - `validation`: `Violations`, the one idiom of every handler for collecting field violations
//!   under proto3 JSON paths, and `Invalid`, what they become.
//! - `command`: the generic command path: command context, request fingerprint, conversion,
//!   kernel call, acknowledgement.
//! - `roles`: which role serves which service; `UNIMPLEMENTED` naming the right role.
//! - `status`: the one mapping from application errors to `tonic::Status`.
//! - `decode`: a tower layer that answers a caller's undecodable bytes with `INVALID_ARGUMENT`
//!   (`RESOURCE_EXHAUSTED` when too large) instead of tonic's `INTERNAL`.

pub mod command;
pub mod context;
pub mod decode;
pub mod roles;
pub mod status;
pub mod validation;

pub use command::{CommandRequest, Parsed, acknowledge, parse};
pub use context::{RequestContext, RequestContextLayer};
pub use decode::DecodeFailureLayer;
pub use roles::ServedElsewhereLayer;
pub use validation::{Invalid, Violations};
