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
//! - `fulfilment`: the process manager that ties orders to stock (reserve, confirm or reject,
//!   release, commit), an aggregate of its own driven from a checkpointed subscription.
//! - `grpc`: the gRPC edge every service shares: request context layer, validation idiom,
//!   the generic command path, role routing and the one mapping to `tonic::Status`.
//! - `values`: value types and text rules shared by every context (sku, quantity, reason).
//! - `auth`: who is calling (bearer tokens, Causeway's own signing keys) and what it may do
//!   (each RPC's access rule from the contracts), as tower layers.
//! - `connection`: what a connection may do before and around requests: handshake and idle
//!   timeouts, keep-alive, the connection limit.
//! - `config`: flags and `CAUSEWAY_*` environment, validated before anything binds.
//! - `lease`: leases with fencing, so one replica at a time runs each projection and the
//!   fulfilment saga; the adapters live with the read stores'.
//! - `projection`: the runner that keeps read models up to date, rebuilds, read-your-writes.
//! - `feed`: the event feed other teams subscribe to (`EventFeed`), and entities' history
//!   and state "as of" a revision or time, straight from the event store.
//! - `readstore`: the `ReadStore` port and its adapters (`readstore::embedded` = SQLite, the
//!   default; `readstore::mongodb` = MongoDB).
//! - `query`: the query hop shared by every context's `queries.rs`.
//! - `health`: per-service health that follows the stores each service needs.
//! - `probe`: `causeway-server health`, asking a running server's health service (container
//!   health checks).
//! - `sqlite`: opening, pragmas, WAL, migrations, the reader pool and the checkpoint thread
//!   shared by both embedded stores.
//! - `server`: `run(listener, config, shutdown)`, wiring stores, services, health and reflection.
//! - `rest`: the REST routes served in-process (`--rest-listen`), the gateway's router calling
//!   this process's services without a second hop.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod auth;
pub mod config;
pub mod connection;
pub mod feed;
pub mod fulfilment;
pub mod grpc;
pub mod health;
pub mod identity;
pub mod inventory;
pub mod kernel;
pub mod lease;
pub mod orders;
pub mod probe;
pub mod projection;
#[cfg(test)]
mod properties;
pub mod query;
pub mod readstore;
pub mod rest;
pub mod server;
mod sqlite;
pub mod store;
pub mod values;
