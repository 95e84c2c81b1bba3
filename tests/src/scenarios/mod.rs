//! The end-to-end scenarios, written once and run against every event store backend: each is an
//! async function taking the [`EventBackend`](crate::EventBackend) its servers store events in.
//! `tests/commands.rs`, `tests/read_side.rs` and `tests/fulfilment.rs` run them on the embedded
//! store, `tests/kurrentdb_scenarios.rs` on KurrentDB (the protocol double, or a real server).
//!
//! Every name a scenario creates (skus, e-mail addresses, customers) is unique per run, so the
//! scenarios also hold on a long-lived KurrentDB that keeps the events of earlier runs.

pub mod commands;
pub mod feed;
pub mod fulfilment;
pub mod history;
pub mod read_side;

use uuid::Uuid;

/// `<label>-<12 hex digits>`: a name no earlier run used.
pub fn unique(label: &str) -> String {
    let id = Uuid::new_v4().simple().to_string();
    format!("{label}-{}", &id[..12])
}
