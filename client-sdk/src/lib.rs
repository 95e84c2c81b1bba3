//! Rust client for Causeway's gRPC services.
//!
//! Layout: for now the generated clients and messages of every context, re-exported by context
//! (`orders`, `inventory`, `identity`, `common`); the ergonomic layer (retries, idempotency,
//! read-your-writes sessions) builds on them.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub use causeway_proto::{FILE_DESCRIPTOR_SET, admin, common, identity, inventory, orders};
