//! Fulfilment: the process that ties orders to stock, built as an aggregate of its own. For
//! every order placed it reserves each line's stock in inventory, then confirms the order; when
//! a line cannot be reserved (an unknown product, not enough available) or the order's deadline
//! passes first, it releases what it reserved and rejects the order with a reason a person can
//! read. It releases a cancelled order's stock and commits a shipped order's (the units leave
//! stock). One `fulfilment-<orderId>` stream per order records every step, so it answers "what
//! happened to order X" (`GetFulfilment`) and resumes after any restart.
//!
//! Layout:
//! - `values`: times, the reservation id of each order line, the steps and their names.
//! - `domain`: the `Fulfilment` aggregate and its events (state only, no I/O).
//! - `decide`: the pure decisions (news, deadline, a step's outcome) and `next_step`, with
//!   given/when/then tests in `decide/tests.rs`.
//! - `events`: fulfilment events <-> `causeway.fulfilment.v1` event messages (proto3 JSON).
//! - `steps`: a step as the command it is, sent through the kernel's command handler under a
//!   command id derived from (fulfilment, step), with refusals kept typed.
//! - `locks`: one handling per order at a time.
//! - `saga`: the application hop: record the news, then take and record each step.
//! - `runner`: the checkpointed subscription to the order events that feeds the saga.
//! - `deadlines`: the read model of open deadlines; `timeouts`: the worker that fires them.
//! - `grpc`: the `FulfilmentQueries` service (`GetFulfilment`).

pub mod deadlines;
pub mod decide;
pub mod domain;
pub mod events;
pub mod grpc;
pub mod locks;
pub mod runner;
pub mod saga;
pub mod steps;
pub mod timeouts;
pub mod values;

use std::{sync::Arc, time::Duration};

use tokio::task::JoinSet;

pub use domain::{Fulfilment, FulfilmentEvent};
pub use saga::{News, Saga};

use crate::{
    kernel::{CommandHandler, Upcasters},
    lease::Leasing,
    projection::{ProjectionRunner, Projections, runner::RunnerHandle},
    readstore::ReadStore,
    store::EventStore,
};

/// Adds the fulfilment events' upcasters to `upcasters`: none yet, every event is at version 1.
pub fn register_upcasters(upcasters: Upcasters) -> Upcasters {
    upcasters
}

/// How fulfilment runs in this process.
#[derive(Debug, Clone)]
pub struct Setup {
    /// The time each order placed gets to be settled.
    pub timeout: Duration,
    /// The leases its runners hold.
    pub leasing: Leasing,
}

/// Starts fulfilment on `background`: the subscription to the order events, the read model
/// of open deadlines and the worker that fires them, all acting through `commands` and giving
/// each order `timeout` to be settled. Their statuses go to `projections` (names
/// [`runner::NAME`] and [`deadlines::NAME`]); returns the deadlines projection's handle for the
/// admin service's rebuilds.
///
/// Across replicas, the subscription runs only where the `fulfilment` lease is held, the
/// deadlines projection where its own is, and the worker only beside the subscription.
pub fn start(
    events: Arc<dyn EventStore>,
    reads: Arc<dyn ReadStore>,
    commands: CommandHandler,
    upcasters: Arc<Upcasters>,
    setup: &Setup,
    projections: &Projections,
    background: &mut JoinSet<()>,
) -> RunnerHandle {
    let saga = Arc::new(Saga::new(commands));
    let runner = runner::FulfilmentRunner::new(
        events.clone(),
        reads.clone(),
        saga.clone(),
        upcasters.clone(),
        setup.timeout,
        projections,
    )
    .with_lease(setup.leasing.tenure(runner::NAME));
    background.spawn(runner.run());
    let deadlines = Arc::new(deadlines::DeadlinesProjection::new(upcasters));
    let (runner, handle) = ProjectionRunner::new(events, reads.clone(), deadlines, projections);
    let runner = runner.with_lease(setup.leasing.tenure(deadlines::NAME));
    background.spawn(runner.run());
    background.spawn(timeouts::fire_deadlines(
        saga,
        reads,
        projections.clone(),
        values::Timestamp::now,
    ));
    handle
}
