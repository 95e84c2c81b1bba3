//! Taking a step: the command it is, sent through the same command handler the gRPC services
//! use, under a command id derived from the fulfilment's stream and the step's name. A step
//! sent again (a replayed event, a restart between sending it and recording how it went) is
//! therefore answered as a repeat by the kernel and never reserves, releases, commits, confirms
//! or rejects twice.
//!
//! A refusal comes back typed (the domain's own error, not its text), so that it can be told
//! apart from a failure to try (store down, contention), which is retried, and so that it can
//! be put in words a person can read: "not enough kettle: 3 requested, 1 available".

use std::sync::{Arc, Mutex};

use super::decide::Outcome;
use super::domain::Fulfilment;
use super::values::{OrderId, Reason, Step};
use crate::{
    inventory::{
        Product,
        domain::{
            CommitReservation, InventoryError, Release, ReleaseStock, ReserveStock,
            commit_reservation, release_stock, reserve_stock,
        },
    },
    kernel::{Aggregate, CommandContext, CommandError, CommandHandler, ids::derived_id},
    orders::{
        Order,
        domain::{ConfirmOrder, Confirmer, RejectOrder, confirm_order, reject_order},
    },
};

/// Who the events of fulfilment's commands name as their actor.
pub const ACTOR: &str = "fulfilment";

/// The command context of something fulfilment does for `order_id` under the name `what` (a
/// step, or the recording of one): the command id is derived from both, so it is the same
/// whenever the same thing is done again; the correlation id is the fulfilment's stream, which
/// ties every command of one order's fulfilment together.
pub fn context(order_id: &OrderId, what: &str) -> CommandContext {
    let stream = Fulfilment::stream_id(order_id.as_str());
    CommandContext {
        command_id: derived_id(&stream, what),
        correlation_id: Some(stream),
        actor: Some(ACTOR.to_owned()),
        ..CommandContext::default()
    }
}

/// Sends `step` of the fulfilment `state` of `order_id`. `Err` is a failure to try (retry
/// later), never a refusal.
pub async fn take(
    commands: &CommandHandler,
    order_id: &OrderId,
    state: &Fulfilment,
    step: &Step,
) -> Result<Outcome, CommandError> {
    let ctx = context(order_id, &step.name());
    let line = |line: u32| {
        state
            .lines()
            .get(line as usize)
            .map(|l| l.plan.clone())
            .ok_or_else(|| CommandError::Corrupt(format!("{order_id} has no line {line}")))
    };
    match step {
        Step::Reserve(n) => {
            let plan = line(*n)?;
            let cmd = ReserveStock {
                sku: plan.sku.clone(),
                quantity: plan.quantity,
                reservation_id: plan.reservation_id,
            };
            let decision = cmd.clone();
            let refused = |e: InventoryError| refusal_to_reserve(&cmd, e);
            typed::<Product, _>(commands, plan.sku.as_str(), &ctx, move |p| {
                reserve_stock(p, &decision)
            })
            .await
            .map(|r| r.map_or_else(refused, |()| Outcome::Done))
        }
        Step::Release(n) => {
            let plan = line(*n)?;
            let cmd = ReleaseStock {
                sku: plan.sku.clone(),
                quantity: Release::Everything,
                reservation_id: plan.reservation_id,
            };
            typed::<Product, _>(commands, plan.sku.as_str(), &ctx, move |p| {
                release_stock(p, &cmd)
            })
            .await
            .map(outcome)
        }
        Step::Commit(n) => {
            let plan = line(*n)?;
            let cmd = CommitReservation {
                sku: plan.sku.clone(),
                reservation_id: plan.reservation_id,
            };
            let decide = move |p: &Product| commit_reservation(p, &cmd);
            typed::<Product, _>(commands, plan.sku.as_str(), &ctx, decide)
                .await
                .map(outcome)
        }
        Step::Confirm => {
            let cmd = ConfirmOrder {
                order_id: order_id.clone(),
                by: Confirmer::Fulfilment,
            };
            typed::<Order, _>(commands, order_id.as_str(), &ctx, move |o| {
                confirm_order(o, &cmd)
            })
            .await
            .map(outcome)
        }
        Step::Reject(reason) => {
            let cmd = RejectOrder {
                order_id: order_id.clone(),
                reason: reason.clone(),
            };
            typed::<Order, _>(commands, order_id.as_str(), &ctx, move |o| {
                reject_order(o, &cmd)
            })
            .await
            .map(outcome)
        }
    }
}

/// Why a line could not be reserved, in words for the customer.
fn refusal_to_reserve(cmd: &ReserveStock, error: InventoryError) -> Outcome {
    let sku = &cmd.sku;
    let why = match error {
        InventoryError::InsufficientStock {
            requested,
            available,
        } => format!("not enough {sku}: {requested} requested, {available} available"),
        InventoryError::UnknownProduct(_) => format!("unknown product {sku}"),
        other => format!("{sku} could not be reserved: {other}"),
    };
    Outcome::Refused(Reason::recorded(&why))
}

/// The outcome of a step whose refusal is told as the domain tells it.
fn outcome<E: std::fmt::Display>(result: Result<(), E>) -> Outcome {
    match result {
        Ok(()) => Outcome::Done,
        Err(refusal) => Outcome::Refused(Reason::recorded(&refusal.to_string())),
    }
}

/// Runs a decision on aggregate `A` with id `id` through `commands`, keeping the domain's own
/// refusal: `Ok(Err(refusal))` when the decision refused, `Err` when the command could not be
/// tried (or its stream cannot be read).
async fn typed<A, E>(
    commands: &CommandHandler,
    id: &str,
    ctx: &CommandContext,
    decide: impl Fn(&A) -> Result<Vec<A::Event>, E> + Send + Sync + 'static,
) -> Result<Result<(), E>, CommandError>
where
    A: Aggregate,
    E: Clone + Send + Into<CommandError> + 'static,
{
    // The handler may decide more than once (a stale cached state, a lost race); the refusal
    // kept is the one of the decision it answered with, the last.
    let refusal = Arc::new(Mutex::new(None));
    let kept = {
        let refusal = Arc::clone(&refusal);
        move |state: &A| {
            decide(state).inspect_err(|e| {
                *refusal.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.clone());
            })
        }
    };
    match commands.execute::<A, _>(id, ctx, kept).await {
        Ok(_) => Ok(Ok(())),
        Err(CommandError::Rejected(_) | CommandError::NotFound(_)) => {
            let kept = refusal.lock().unwrap_or_else(|p| p.into_inner()).take();
            match kept {
                Some(refused) => Ok(Err(refused)),
                None => Err(CommandError::Corrupt(format!(
                    "{} refused without a decision",
                    A::stream_id(id)
                ))),
            }
        }
        Err(other) => Err(other),
    }
}
