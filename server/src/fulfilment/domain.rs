//! The fulfilment of one order as an aggregate of its own, folded from its
//! `fulfilment-<orderId>` stream: which line's stock is reserved, how the fulfilment is going
//! to end, and what became of the commands it sent the order. Its decisions (`decide.rs`) read
//! this state; nothing here does I/O.
//!
//! ```text
//! started -> reserve line 0, 1, ... -> confirm -> (shipped) commit every line
//!              | a line refused, or the deadline passed: release, then reject
//!              | the order cancelled / rejected by someone: release
//! ```

use super::values::{OrderId, Quantity, Reason, RefusedStep, ReservationId, Sku, Timestamp};
use crate::kernel::Aggregate;

/// The reservation planned for one order line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedLine {
    /// The product ordered.
    pub sku: Sku,
    /// Units ordered.
    pub quantity: Quantity,
    /// The reservation that will hold them.
    pub reservation_id: ReservationId,
}

/// Where one line's reservation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineState {
    /// Not reserved yet.
    Pending,
    /// Its units are reserved.
    Reserved,
    /// Its reservation was refused.
    Refused,
    /// The fulfilment ended while this line was the next to reserve: a reservation may have
    /// been made just before a crash, so it is released like a reserved one.
    Uncertain,
    /// The fulfilment ended before this line was tried: nothing to undo.
    Skipped,
    /// Its reservation holds nothing any more (released, or never made).
    Released,
    /// Its units left stock with the shipment.
    Committed,
}

impl LineState {
    /// Whether the line's reservation may hold units.
    pub fn may_hold(self) -> bool {
        matches!(self, Self::Reserved | Self::Uncertain)
    }
}

/// One order line as fulfilment tracks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// What it reserves.
    pub plan: PlannedLine,
    /// Where it is.
    pub state: LineState,
    /// Why it was refused, when it was.
    pub refusal: Option<Reason>,
}

/// How the fulfilment ends, once that is decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// Release everything, then reject the order with this reason.
    Reject(Reason),
    /// Release everything; the order was withdrawn by someone else.
    Release,
    /// Commit every reservation; the order shipped.
    Commit,
}

/// What became of the command fulfilment sent the order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// The order was confirmed.
    Confirmed,
    /// The order was rejected.
    Rejected,
    /// The order refused (it had moved on); fulfilment waits for its news.
    Refused,
}

/// Where the fulfilment is, as `GetFulfilment` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Reserving lines, then confirming.
    Reserving,
    /// Confirmed; waiting for shipping or cancellation.
    Confirmed,
    /// Releasing, then rejecting.
    Rejecting,
    /// Rejected, nothing held (final).
    Rejected,
    /// Withdrawn by someone else: releasing.
    Releasing,
    /// Withdrawn and released (final).
    Released,
    /// Shipped: committing.
    Shipping,
    /// Shipped and committed (final).
    Shipped,
    /// A command was refused; waiting for the order's news.
    Waiting,
}

/// The fulfilment of one order. Private: decisions read it, only its events change it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fulfilment {
    order_id: Option<OrderId>,
    lines: Vec<Line>,
    deadline: Timestamp,
    ending: Option<Ending>,
    answer: Option<Answer>,
    reason: Option<Reason>,
}

impl Fulfilment {
    /// The order, once fulfilment has started; `None` before.
    pub fn order_id(&self) -> Option<&OrderId> {
        self.order_id.as_ref()
    }
    /// The order's lines, in order.
    pub fn lines(&self) -> &[Line] {
        &self.lines
    }
    /// When the order must be settled by.
    pub fn deadline(&self) -> Timestamp {
        self.deadline
    }
    /// How it ends, once decided.
    pub fn ending(&self) -> Option<&Ending> {
        self.ending.as_ref()
    }
    /// What became of the command sent to the order, if one was answered.
    pub fn answer(&self) -> Option<Answer> {
        self.answer
    }
    /// Why the order is rejected or withdrawn, when it is.
    pub fn reason(&self) -> Option<&Reason> {
        self.reason.as_ref()
    }

    /// Where the fulfilment is; `None` before it started.
    pub fn status(&self) -> Option<Status> {
        self.order_id.as_ref()?;
        let holding = self.lines.iter().any(|l| l.state.may_hold());
        Some(match (&self.ending, self.answer) {
            (None, Some(Answer::Confirmed)) => Status::Confirmed,
            (None | Some(Ending::Reject(_)), Some(Answer::Refused)) => Status::Waiting,
            (None, _) => Status::Reserving,
            (Some(Ending::Reject(_)), Some(Answer::Rejected)) => Status::Rejected,
            (Some(Ending::Reject(_)), _) => Status::Rejecting,
            (Some(Ending::Release), _) if holding => Status::Releasing,
            (Some(Ending::Release), _) => Status::Released,
            (Some(Ending::Commit), _) if holding => Status::Shipping,
            (Some(Ending::Commit), _) => Status::Shipped,
        })
    }

    /// The ending is decided: lines not yet reserved will never be. The first of them was the
    /// next to reserve, so a reservation for it may exist (sent just before a crash) unless
    /// `refused_was_next`, when the refused line was that one.
    fn end(&mut self, ending: Ending, refused_was_next: bool) {
        let mut next = !refused_was_next;
        for line in self
            .lines
            .iter_mut()
            .filter(|l| l.state == LineState::Pending)
        {
            line.state = if next {
                LineState::Uncertain
            } else {
                LineState::Skipped
            };
            next = false;
        }
        self.ending = Some(ending);
    }

    fn line_mut(&mut self, line: u32) -> Option<&mut Line> {
        self.lines.get_mut(line as usize)
    }
}

/// Everything fulfilment records about one order; the facts its stream is made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FulfilmentEvent {
    /// Fulfilment took on the placed order.
    Started {
        /// The order.
        order_id: OrderId,
        /// One reservation per line, in line order.
        lines: Vec<PlannedLine>,
        /// When it must be settled by.
        deadline: Timestamp,
    },
    /// A line's units were reserved.
    LineReserved {
        /// The order.
        order_id: OrderId,
        /// The line, from 0.
        line: u32,
        /// What was reserved.
        plan: PlannedLine,
    },
    /// A line could not be reserved.
    LineRefused {
        /// The order.
        order_id: OrderId,
        /// The line, from 0.
        line: u32,
        /// The product.
        sku: Sku,
        /// Why, for people.
        reason: Reason,
    },
    /// A line's reservation was released.
    LineReleased {
        /// The order.
        order_id: OrderId,
        /// The line, from 0.
        line: u32,
        /// The product.
        sku: Sku,
        /// Units given back; 0 when it held nothing.
        quantity: u64,
        /// The reservation.
        reservation_id: ReservationId,
    },
    /// A line's units left stock.
    LineCommitted {
        /// The order.
        order_id: OrderId,
        /// The line, from 0.
        line: u32,
        /// What left.
        plan: PlannedLine,
    },
    /// Fulfilment confirmed the order.
    Confirmed {
        /// The order.
        order_id: OrderId,
    },
    /// Fulfilment rejected the order.
    Rejected {
        /// The order.
        order_id: OrderId,
        /// The reason given.
        reason: Reason,
    },
    /// The order was not settled by its deadline.
    DeadlinePassed {
        /// The order.
        order_id: OrderId,
        /// The deadline.
        deadline: Timestamp,
    },
    /// The order was cancelled, or rejected by someone else.
    WithdrawalNoticed {
        /// The order.
        order_id: OrderId,
        /// Rejected (true) or cancelled (false).
        rejected: bool,
        /// The order's reason.
        reason: Reason,
    },
    /// The order shipped.
    ShipmentNoticed {
        /// The order.
        order_id: OrderId,
    },
    /// A command fulfilment sent was refused.
    StepRefused {
        /// The order.
        order_id: OrderId,
        /// Which.
        step: RefusedStep,
        /// Why.
        reason: Reason,
    },
}

impl FulfilmentEvent {
    /// The order the event is about.
    pub fn order_id(&self) -> &OrderId {
        match self {
            Self::Started { order_id, .. }
            | Self::LineReserved { order_id, .. }
            | Self::LineRefused { order_id, .. }
            | Self::LineReleased { order_id, .. }
            | Self::LineCommitted { order_id, .. }
            | Self::Confirmed { order_id }
            | Self::Rejected { order_id, .. }
            | Self::DeadlinePassed { order_id, .. }
            | Self::WithdrawalNoticed { order_id, .. }
            | Self::ShipmentNoticed { order_id }
            | Self::StepRefused { order_id, .. } => order_id,
        }
    }
}

/// The reason an order whose deadline passed is rejected with.
pub fn deadline_reason(deadline: Timestamp) -> Reason {
    Reason::recorded(&format!(
        "stock was not reserved for every line by the deadline, {deadline}"
    ))
}

impl Aggregate for Fulfilment {
    const CATEGORY: &'static str = "fulfilment";
    type Event = FulfilmentEvent;

    /// The lines (each with its sku and reservation id) and the reason live on the heap.
    fn footprint(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.lines.len() * (std::mem::size_of::<Line>() + 96)
            + self.reason.as_ref().map_or(0, |r| r.as_str().len())
    }

    fn apply(&mut self, event: &FulfilmentEvent) {
        match event {
            FulfilmentEvent::Started {
                order_id,
                lines,
                deadline,
            } => {
                self.order_id = Some(order_id.clone());
                self.deadline = *deadline;
                self.lines = lines
                    .iter()
                    .map(|plan| Line {
                        plan: plan.clone(),
                        state: LineState::Pending,
                        refusal: None,
                    })
                    .collect();
            }
            FulfilmentEvent::LineReserved { line, .. } => self.set(*line, LineState::Reserved),
            FulfilmentEvent::LineRefused { line, reason, .. } => {
                if let Some(refused) = self.line_mut(*line) {
                    refused.state = LineState::Refused;
                    refused.refusal = Some(reason.clone());
                }
                self.reason = Some(reason.clone());
                self.end(Ending::Reject(reason.clone()), true);
            }
            FulfilmentEvent::LineReleased { line, .. } => self.set(*line, LineState::Released),
            FulfilmentEvent::LineCommitted { line, .. } => self.set(*line, LineState::Committed),
            FulfilmentEvent::Confirmed { .. } => self.answer = Some(Answer::Confirmed),
            FulfilmentEvent::Rejected { .. } => self.answer = Some(Answer::Rejected),
            FulfilmentEvent::DeadlinePassed { deadline, .. } => {
                let reason = deadline_reason(*deadline);
                self.reason = Some(reason.clone());
                self.end(Ending::Reject(reason), false);
            }
            FulfilmentEvent::WithdrawalNoticed { reason, .. } => {
                self.reason = Some(reason.clone());
                self.end(Ending::Release, false);
            }
            FulfilmentEvent::ShipmentNoticed { .. } => self.end(Ending::Commit, false),
            FulfilmentEvent::StepRefused { step, .. } => match step {
                RefusedStep::Commit(line) => self.set(*line, LineState::Released),
                RefusedStep::Confirm | RefusedStep::Reject => self.answer = Some(Answer::Refused),
            },
        }
    }
}

impl Fulfilment {
    fn set(&mut self, line: u32, state: LineState) {
        if let Some(line) = self.line_mut(line) {
            line.state = state;
        }
    }
}
