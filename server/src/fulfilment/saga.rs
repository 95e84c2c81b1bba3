//! The application hop of fulfilment: one order's news recorded in its stream, then every step
//! it calls for taken and recorded, one at a time, until it waits for news again. Each step is
//! sent before its outcome is recorded; after a crash in between, the same step is sent again
//! under the same command id and answered as a repeat, so nothing is done twice and nothing
//! done is forgotten.

use super::decide::{
    CheckDeadline, NoticeOrder, OrderNews, RecordStep, StartFulfilment, next_step,
};
use super::domain::{Fulfilment, FulfilmentEvent, PlannedLine};
use super::locks::Locks;
use super::steps::{context, take};
use super::values::{OrderId, Timestamp};
use crate::kernel::{
    Aggregate, CommandContext, CommandError, CommandHandler, Decision, command::Loaded,
};

/// Most steps one handling may take; a fulfilment needs about three per line. Past it
/// something keeps deciding the same step, and the handling stops with an error rather than
/// spin.
const MAX_STEPS: usize = 1000;

/// What fulfilment learns about an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum News {
    /// The order was placed for fulfilment, with these lines and this deadline.
    Placed {
        /// One planned reservation per line.
        lines: Vec<PlannedLine>,
        /// When it must be settled by.
        deadline: Timestamp,
    },
    /// The order was withdrawn or shipped.
    Order(OrderNews),
    /// Nothing new: look at the deadline and carry on (the deadline worker's call, and how a
    /// fulfilment interrupted by a crash resumes).
    Tick,
}

/// Handles the fulfilment of orders through the command handler every service uses.
pub struct Saga {
    commands: CommandHandler,
    locks: Locks,
    clock: fn() -> Timestamp,
}

impl Saga {
    /// Fulfilment over `commands`, reading the time from the system clock.
    pub fn new(commands: CommandHandler) -> Self {
        Self {
            commands,
            locks: Locks::default(),
            clock: Timestamp::now,
        }
    }

    /// The same, reading the time from `clock` (tests set the time).
    pub fn with_clock(self, clock: fn() -> Timestamp) -> Self {
        Self { clock, ..self }
    }

    /// The command handler it acts through.
    pub fn commands(&self) -> &CommandHandler {
        &self.commands
    }

    /// Records `news` of `order_id` and takes every step the fulfilment then calls for. An
    /// `Err` means it could not finish (the store failed, or the order's streams cannot be
    /// read); handling the same news again later resumes where it stopped.
    pub async fn handle(&self, order_id: &OrderId, news: News) -> Result<(), CommandError> {
        let _one_at_a_time = self.locks.lock(order_id.as_str()).await;
        let order_id = order_id.clone();
        match news {
            News::Placed { lines, deadline } => {
                let start = StartFulfilment {
                    order_id: order_id.clone(),
                    lines,
                    deadline,
                };
                self.commands
                    .handle(&context(&order_id, "start"), &start)
                    .await?;
            }
            News::Order(news) => {
                let what = match news {
                    OrderNews::Withdrawn { .. } => "notice/withdrawn",
                    OrderNews::Shipped => "notice/shipped",
                };
                let notice = NoticeOrder {
                    order_id: order_id.clone(),
                    news,
                };
                self.commands
                    .handle(&context(&order_id, what), &notice)
                    .await?;
            }
            News::Tick => {}
        }
        self.drive(&order_id).await
    }

    /// Takes the fulfilment's steps until it waits for news. The state is read once and then
    /// moved on by the events each recording decided, as long as the store's answer shows that
    /// exactly those were appended; otherwise it is read again.
    async fn drive(&self, order_id: &OrderId) -> Result<(), CommandError> {
        let stream = Fulfilment::stream_id(order_id.as_str());
        let mut known: Option<Known> = None;
        for _ in 0..MAX_STEPS {
            let current = match known.take() {
                Some(current) => current,
                None => Known::from(self.commands.load::<Fulfilment>(&stream).await?),
            };
            let check = CheckDeadline {
                order_id: order_id.clone(),
                now: (self.clock)(),
            };
            if !decided(&check, &current.state).is_empty() {
                known = self
                    .commit(current, &context(order_id, "deadline"), &check)
                    .await?;
                continue;
            }
            let Some(step) = next_step(&current.state) else {
                return Ok(());
            };
            let outcome = take(&self.commands, order_id, &current.state, &step).await?;
            let ctx = context(order_id, &format!("{}/outcome", step.name()));
            let record = RecordStep {
                order_id: order_id.clone(),
                step,
                outcome,
            };
            known = self.commit(current, &ctx, &record).await?;
        }
        Err(CommandError::Corrupt(format!(
            "{stream} took {MAX_STEPS} steps without settling"
        )))
    }

    /// Runs `decision` through the command handler; the state after it when the handler
    /// appended exactly what `decision` decides on `current` right after it, `None` (read it
    /// again) otherwise.
    async fn commit<D: Decision<Aggregate = Fulfilment>>(
        &self,
        current: Known,
        ctx: &CommandContext,
        decision: &D,
    ) -> Result<Option<Known>, CommandError> {
        let events = decided(decision, &current.state);
        let ack = self.commands.handle(ctx, decision).await?;
        let expected = current.revision.map_or(0, |r| r + 1) + events.len() as u64;
        if ack.deduplicated || events.is_empty() || ack.revision + 1 != expected {
            return Ok(None);
        }
        let mut state = current.state;
        events.iter().for_each(|event| state.apply(event));
        Ok(Some(Known {
            state,
            revision: Some(ack.revision),
        }))
    }
}

/// A fulfilment's state and the revision of its stream it reflects (`None`: no stream yet).
struct Known {
    state: Fulfilment,
    revision: Option<u64>,
}

impl From<Loaded<Fulfilment>> for Known {
    fn from(loaded: Loaded<Fulfilment>) -> Self {
        Self {
            revision: loaded.head.map(|h| h.revision),
            state: loaded.state,
        }
    }
}

/// What `decision` decides on `state` (fulfilment's decisions never refuse).
fn decided<D: Decision<Aggregate = Fulfilment>>(
    decision: &D,
    state: &Fulfilment,
) -> Vec<FulfilmentEvent> {
    decision.decide(state).unwrap_or_default()
}
