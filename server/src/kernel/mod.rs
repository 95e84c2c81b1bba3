//! The event-sourcing kernel every bounded context uses.
//!
//! Layout:
//! - `aggregate`: the pure `Aggregate` trait (state folded from events).
//! - `event`: `DomainEvent`, how a context's events become stored bytes and back.
//! - `codec`: proto3 JSON of the stored event messages (generated serde impls).
//! - `upcast`: the registry that turns old event schema versions into current ones on read.
//! - `metadata`: the JSON metadata stored with every event.
//! - `ids`: ids derived from command ids (event ids, server-chosen entity ids).
//! - `cache`: `AggregateCache`, states kept between commands, checked by every append.
//! - `command`: `CommandHandler`, the application hop: load, dedup, decide, append, retry.
//! - `error`: `CommandError`, the application layer's typed failures.

pub mod aggregate;
pub mod cache;
pub mod codec;
pub mod command;
pub mod error;
pub mod event;
pub mod ids;
pub mod metadata;
pub mod upcast;

pub use aggregate::Aggregate;
pub use cache::AggregateCache;
pub use command::{Ack, CommandContext, CommandHandler};
pub use error::{CommandError, FieldViolation};
pub use event::{DecodeError, DomainEvent};
pub use metadata::EventMetadata;
pub use upcast::Upcasters;
