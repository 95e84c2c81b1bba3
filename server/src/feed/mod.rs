//! The event feed: how other teams follow Causeway's events (`causeway.events.v1.EventFeed`)
//! and ask for an entity's past (history pages, state "as of" a revision or time), straight
//! from the event store and never from a read model.
//!
//! Layout:
//! - `convert`: a stored event -> `FeedEvent`: upcast payload as a typed `google.protobuf.Any`
//!   (withheld fields cleared), metadata, times.
//! - `readers`: which roles may read which stream categories, from the contract's
//!   `(causeway.events.v1.category_access)` option, and the scope of one subscription.
//! - `selection`: a `SubscribeRequest` validated into where to start and what to deliver.
//! - `quota`: subscriptions each caller holds at once, and the slot one subscription holds.
//! - `delivery`: one subscription's pump: store feed -> filter -> checkpoints at a cadence ->
//!   a byte-bounded read-ahead with the stall timeout.
//! - `history`: one stream's events a page at a time, and a document folded to a past point.
//! - `metrics`: open subscriptions, how they ended, events delivered.
//! - `grpc`: the `EventFeed` service.
//! - `testing` (tests only): a history over an embedded store holding given events.

pub mod convert;
pub mod delivery;
pub mod grpc;
pub mod history;
pub mod metrics;
pub mod quota;
pub mod readers;
pub mod selection;
#[cfg(test)]
pub mod testing;

use std::time::Duration;

use clap::Args;

pub use self::convert::Converter;
pub use self::grpc::{EventFeedService, service};
pub use self::history::{History, Point};
pub use self::metrics::FeedMetrics;
pub use self::readers::Readers;
use crate::{kernel::FieldViolation, store::StoreError};

/// How much one subscription may cost the server, and how it is paced (`--feed-*` flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Args)]
pub struct FeedLimits {
    /// A subscriber that takes nothing for this long while events wait for it is ended with
    /// RESOURCE_EXHAUSTED (it resumes from its last position).
    #[arg(long, env = "CAUSEWAY_FEED_STALL_TIMEOUT", default_value = "30s", value_parser = humantime::parse_duration)]
    pub feed_stall_timeout: Duration,

    /// Subscriptions one caller (one token subject) may hold open at once.
    #[arg(
        long,
        env = "CAUSEWAY_FEED_SUBSCRIPTIONS_PER_CALLER",
        default_value_t = 16
    )]
    pub feed_subscriptions_per_caller: usize,

    /// Bytes of encoded events read ahead for one subscription while its consumer is busy.
    #[arg(long, env = "CAUSEWAY_FEED_BUFFER_BYTES", default_value_t = 1024 * 1024)]
    pub feed_buffer_bytes: usize,

    /// Least time between two checkpoints of a subscription whose filter skips events.
    #[arg(long, env = "CAUSEWAY_FEED_CHECKPOINT_INTERVAL", default_value = "1s", value_parser = humantime::parse_duration)]
    pub feed_checkpoint_interval: Duration,
}

impl Default for FeedLimits {
    fn default() -> Self {
        Self {
            feed_stall_timeout: Duration::from_secs(30),
            feed_subscriptions_per_caller: 16,
            feed_buffer_bytes: 1024 * 1024,
            feed_checkpoint_interval: Duration::from_secs(1),
        }
    }
}

/// The largest read-ahead a subscription may be given (the budget is counted in `u32`s).
const MAX_BUFFER_BYTES: usize = 1 << 30;

impl FeedLimits {
    /// Checks what parsing cannot: nothing zero, a buffer the budget can count.
    pub fn validate(&self) -> Result<(), String> {
        if self.feed_stall_timeout.is_zero() || self.feed_checkpoint_interval.is_zero() {
            return Err(
                "--feed-stall-timeout and --feed-checkpoint-interval must be above zero".into(),
            );
        }
        if self.feed_subscriptions_per_caller == 0 {
            return Err("--feed-subscriptions-per-caller must be at least 1".into());
        }
        if self.feed_buffer_bytes == 0 || self.feed_buffer_bytes > MAX_BUFFER_BYTES {
            return Err(format!(
                "--feed-buffer-bytes must be between 1 and {MAX_BUFFER_BYTES}"
            ));
        }
        Ok(())
    }
}

/// Why a feed or history request did not succeed; `grpc::status` maps each to its code.
#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    /// The request is malformed.
    #[error("invalid request")]
    Invalid(Vec<FieldViolation>),
    /// The caller may not read what it asked for.
    #[error("{0}")]
    Forbidden(String),
    /// Nothing by that name (or nothing the caller may know of).
    #[error("{0} not found")]
    NotFound(String),
    /// The caller holds as many subscriptions as it may, or took nothing for too long.
    #[error("{0}")]
    Exhausted(String),
    /// A stored event cannot be delivered: the server's fault, logged, never detailed to the
    /// caller.
    #[error("unreadable stored event: {0}")]
    Corrupt(String),
    /// The event store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The server is shutting down; subscribe again (to another process) after the last
    /// position handled.
    #[error("the server is shutting down")]
    ShuttingDown,
}

impl From<crate::grpc::Invalid> for FeedError {
    fn from(invalid: crate::grpc::Invalid) -> Self {
        Self::Invalid(invalid.0)
    }
}
