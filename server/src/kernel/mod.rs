//! The event-sourcing kernel every bounded context uses.
//!
//! Layout:
//! - `aggregate`: the pure `Aggregate` trait (state folded from events).
//! - `event`: `DomainEvent`, how a context's events become stored bytes and back.
//! - `codec`: proto3 JSON of the stored event messages (generated serde impls).
//! - `upcast`: the registry that turns old event schema versions into current ones on read.
//! - `metadata`: the JSON metadata stored with every event.
//! - `ids`: ids derived from command ids (event ids, server-chosen entity ids).
//! - `cache`: `AggregateCache`, states kept between commands (bounded by bytes, least recently
//!   used out first), checked by every append.
//! - `history`: the event ids held of a stream for deduplication, all or from a revision on.
//! - `snapshot`: snapshots of aggregate states stored beside their streams every so many events.
//! - `lanes`: one queue per busy stream, so commands on a stream wait their turn in-process.
//! - `decision`: `Decision`, a validated command's target and its pure decision.
//! - `context`: `CommandContext` (what a command carries), `Ack` (what it answers), `Head`.
//! - `command`: `CommandHandler`, the application hop: a stream's queued commands as one group,
//!   basis (cache, snapshot and store, dedup), decide, commit (one append, catch up after a race
//!   lost to another process, retry).
//! - `metrics`: `KernelMetrics`, command outcomes, concurrency retries, cache lookups.
//! - `error`: `CommandError`, the application layer's typed failures.

pub mod aggregate;
pub mod cache;
pub mod codec;
pub mod command;
pub mod context;
pub mod decision;
pub mod error;
pub mod event;
mod history;
pub mod ids;
mod lanes;
pub mod metadata;
pub mod metrics;
pub mod snapshot;
pub mod upcast;

pub use aggregate::Aggregate;
pub use cache::AggregateCache;
pub use command::CommandHandler;
pub use context::{Ack, CommandContext, Head};
pub(crate) use decision::decisions;
pub use decision::{Admission, Decision};
pub use error::{CommandError, FieldViolation};
pub use event::{DecodeError, DomainEvent};
pub use metadata::EventMetadata;
pub use upcast::Upcasters;
