//! Fulfilment's pure decisions: what its stream records when the order's news arrives, when the
//! clock passes the deadline, and when a step it took was answered; and [`next_step`], the one
//! thing to do next. Nothing here does I/O or reads the clock: "now" is an input.
//!
//! Every decision is idempotent on the state: news already recorded, a deadline already passed
//! or a step already recorded decides nothing, so replayed events and re-sent steps after a
//! crash are harmless.

use super::domain::{Answer, Ending, Fulfilment, FulfilmentEvent, LineState, PlannedLine};
use super::values::{OrderId, Reason, RefusedStep, Step, Timestamp};
use crate::kernel::{CommandError, decisions};

/// Fulfilment takes on a placed order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartFulfilment {
    /// The order.
    pub order_id: OrderId,
    /// One planned reservation per line.
    pub lines: Vec<PlannedLine>,
    /// When it must be settled by.
    pub deadline: Timestamp,
}

/// What happened to the order that fulfilment must act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderNews {
    /// It was cancelled (`rejected: false`) or rejected (`true`), with this reason.
    Withdrawn {
        /// Rejected rather than cancelled.
        rejected: bool,
        /// The order's reason.
        reason: Reason,
    },
    /// It shipped.
    Shipped,
}

/// Fulfilment notices the order's news.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeOrder {
    /// The order.
    pub order_id: OrderId,
    /// What happened to it.
    pub news: OrderNews,
}

/// The clock read `now`: has the deadline passed?
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckDeadline {
    /// The order.
    pub order_id: OrderId,
    /// The time as the caller read it.
    pub now: Timestamp,
}

/// How a step went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It was done (or had been, by an earlier send of the same step).
    Done,
    /// The other aggregate refused it, for this reason.
    Refused(Reason),
}

/// Fulfilment records how a step went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordStep {
    /// The order.
    pub order_id: OrderId,
    /// The step taken.
    pub step: Step,
    /// How it went.
    pub outcome: Outcome,
}

/// Fulfilment's decisions never refuse: news or answers that no longer apply decide nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FulfilmentError {}

impl From<FulfilmentError> for CommandError {
    fn from(error: FulfilmentError) -> Self {
        match error {}
    }
}

decisions!(Fulfilment, FulfilmentError;
    StartFulfilment => start, order_id;
    NoticeOrder => notice, order_id;
    CheckDeadline => check_deadline, order_id;
    RecordStep => record, order_id;
);

type Decided = Result<Vec<FulfilmentEvent>, FulfilmentError>;

/// Records the placed order's plan, once.
pub fn start(state: &Fulfilment, cmd: &StartFulfilment) -> Decided {
    if state.order_id().is_some() || cmd.lines.is_empty() {
        return Ok(vec![]);
    }
    Ok(vec![FulfilmentEvent::Started {
        order_id: cmd.order_id.clone(),
        lines: cmd.lines.clone(),
        deadline: cmd.deadline,
    }])
}

/// A withdrawn order's stock is released; a shipped order's is committed. The echo of
/// fulfilment's own rejection is recorded as that rejection's answer.
pub fn notice(state: &Fulfilment, cmd: &NoticeOrder) -> Decided {
    let order_id = cmd.order_id.clone();
    if state.order_id().is_none() {
        return Ok(vec![]); // an order fulfilment does not handle
    }
    Ok(match (&cmd.news, state.ending()) {
        (_, Some(Ending::Release | Ending::Commit)) => vec![],
        (OrderNews::Withdrawn { .. }, _) if state.answer() == Some(Answer::Rejected) => vec![],
        (OrderNews::Withdrawn { rejected, reason }, Some(Ending::Reject(ours)))
            if *rejected && reason == ours && state.answer().is_none() =>
        {
            vec![FulfilmentEvent::Rejected {
                order_id,
                reason: reason.clone(),
            }]
        }
        (OrderNews::Withdrawn { rejected, reason }, _) => {
            vec![FulfilmentEvent::WithdrawalNoticed {
                order_id,
                rejected: *rejected,
                reason: reason.clone(),
            }]
        }
        (OrderNews::Shipped, _) => vec![FulfilmentEvent::ShipmentNoticed { order_id }],
    })
}

/// Past its deadline, an order still reserving is to be rejected. Once every line is reserved
/// the confirmation may already be on its way, so the deadline no longer applies.
pub fn check_deadline(state: &Fulfilment, cmd: &CheckDeadline) -> Decided {
    let reserving = state.ending().is_none()
        && state.answer().is_none()
        && state
            .lines()
            .iter()
            .any(|line| line.state != LineState::Reserved);
    if state.order_id().is_none() || !reserving || cmd.now < state.deadline() {
        return Ok(vec![]);
    }
    Ok(vec![FulfilmentEvent::DeadlinePassed {
        order_id: cmd.order_id.clone(),
        deadline: state.deadline(),
    }])
}

/// Records how the step [`next_step`] asked for went; an answer to any other step (a stale
/// one) decides nothing.
pub fn record(state: &Fulfilment, cmd: &RecordStep) -> Decided {
    if next_step(state).as_ref() != Some(&cmd.step) {
        return Ok(vec![]);
    }
    let order_id = cmd.order_id.clone();
    let refused = |step, reason: &Reason| FulfilmentEvent::StepRefused {
        order_id: order_id.clone(),
        step,
        reason: reason.clone(),
    };
    let plan = |line: u32| state.lines()[line as usize].plan.clone();
    Ok(vec![match (&cmd.step, &cmd.outcome) {
        (Step::Reserve(line), Outcome::Done) => FulfilmentEvent::LineReserved {
            order_id,
            line: *line,
            plan: plan(*line),
        },
        (Step::Reserve(line), Outcome::Refused(reason)) => FulfilmentEvent::LineRefused {
            order_id,
            line: *line,
            sku: plan(*line).sku,
            reason: reason.clone(),
        },
        (Step::Release(line), outcome) => {
            let plan = plan(*line);
            FulfilmentEvent::LineReleased {
                order_id,
                line: *line,
                sku: plan.sku,
                quantity: match outcome {
                    Outcome::Done => plan.quantity.get(),
                    Outcome::Refused(_) => 0,
                },
                reservation_id: plan.reservation_id,
            }
        }
        (Step::Commit(line), Outcome::Done) => FulfilmentEvent::LineCommitted {
            order_id,
            line: *line,
            plan: plan(*line),
        },
        (Step::Commit(line), Outcome::Refused(reason)) => {
            refused(RefusedStep::Commit(*line), reason)
        }
        (Step::Confirm, Outcome::Done) => FulfilmentEvent::Confirmed { order_id },
        (Step::Confirm, Outcome::Refused(reason)) => refused(RefusedStep::Confirm, reason),
        (Step::Reject(reason), Outcome::Done) => FulfilmentEvent::Rejected {
            order_id,
            reason: reason.clone(),
        },
        (Step::Reject(_), Outcome::Refused(reason)) => refused(RefusedStep::Reject, reason),
    }])
}

/// The one step to take next, if any: reserve the lines in order, then confirm; once the
/// ending is decided, release (or, after shipping, commit) every reservation that may hold
/// units, then reject when the ending is a rejection.
pub fn next_step(state: &Fulfilment) -> Option<Step> {
    state.order_id()?;
    let first = |wanted: fn(LineState) -> bool| {
        state
            .lines()
            .iter()
            .position(|line| wanted(line.state))
            .and_then(|line| u32::try_from(line).ok())
    };
    match state.ending() {
        None if state.answer().is_some() => None,
        None => match first(|s| s == LineState::Pending) {
            Some(line) => Some(Step::Reserve(line)),
            None if state.lines().iter().all(|l| l.state == LineState::Reserved) => {
                Some(Step::Confirm)
            }
            None => None,
        },
        Some(Ending::Commit) => first(|s| s == LineState::Reserved)
            .map(Step::Commit)
            .or_else(|| first(|s| s == LineState::Uncertain).map(Step::Release)),
        Some(Ending::Release) => first(LineState::may_hold).map(Step::Release),
        Some(Ending::Reject(reason)) => match first(LineState::may_hold) {
            Some(line) => Some(Step::Release(line)),
            None if state.answer().is_none() => Some(Step::Reject(reason.clone())),
            None => None,
        },
    }
}

#[cfg(test)]
mod tests;
