//! Causeway's server: the command, query and projection services of every bounded context, the
//! event-sourcing kernel they share, and the storage ports with their adapters.
//!
//! Layout:
//! - `kernel`: aggregates, event encoding, upcasting, the command handler (load, dedup, decide,
//!   append with retry). Pure except for the store it is given.
//! - `store`: the `EventStore` port and its adapters (`store::embedded` = SQLite, the default;
//!   `store::kurrentdb` = KurrentDB).
//! - `orders`, `inventory`, `identity`: one folder per bounded context, each with `domain.rs`
//!   (pure decisions, given/when/then tests), `events.rs` (domain events <-> protobuf) and
//!   `grpc.rs` (request -> validated command -> kernel -> response).
//! - `status`: the one mapping from application errors to `tonic::Status`.
//! - `config`: flags and `CAUSEWAY_*` environment, validated before anything binds.
//! - `projection`: the runner that keeps read models up to date, rebuilds, read-your-writes.
//! - `readstore`: the `ReadStore` port and its adapters (`readstore::embedded` = SQLite, the
//!   default; `readstore::mongodb` = MongoDB).
//! - `query`: the query hop shared by every context's `queries.rs`.
//! - `health`: per-service health that follows the stores each service needs.
//! - `sqlite_wal`: switching a SQLite file to WAL, shared by both embedded stores.
//! - `server`: `run(listener, config, shutdown)`, wiring stores, services, health and reflection.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod command_options;
pub mod config;
pub mod health;
pub mod identity;
pub mod inventory;
pub mod kernel;
pub mod orders;
pub mod projection;
pub mod query;
pub mod readstore;
pub mod server;
mod sqlite;
pub mod status;
pub mod store;
pub mod validation;
