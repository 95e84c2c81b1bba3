//! The application hop of every command. A command joins its stream's lane (see
//! `kernel::lanes`); the lane's worker runs the commands waiting there as one group, in three
//! steps per attempt:
//!
//! 1. basis: the aggregate's state and head, taken from the aggregate cache, or read from the
//!    store (its latest snapshot and the events after it); a command id found in the stream's
//!    history is a repeat, answered with its first acknowledgement;
//! 2. decide: the pure decisions, one command after the other on the evolving state (or a
//!    caller's expected revision refusing one);
//! 3. commit: one append of every command's events with the revision the group was based on;
//!    on a concurrent write from another process, read the stream again and decide again, a
//!    bounded number of times.
//!
//! Layout: `basis` (step 1), `decide` (step 2), `group` (the attempts and
//! step 3), `repeat` (answering a command id that ran before), `load` (reading a stream through
//! its snapshot).

use std::{sync::Arc, time::SystemTime};

use tokio::sync::oneshot;
use tracing::{Instrument, Span, info_span};

use super::{
    Ack, Admission, Aggregate, AggregateCache, CommandContext, CommandError, Decision, DomainEvent,
    Head, Upcasters,
    history::History,
    ids::event_id,
    lanes::{Lanes, Queued},
    metrics::KernelMetrics,
    snapshot::{DEFAULT_EVERY, Snapshots},
};
use crate::{
    config::ByteSize,
    store::{EventStore, NewEvent, StoreError},
};

/// How often an optimistic append is retried after losing a race before giving up with
/// `ABORTED`. Within a process commands on one stream never race (they queue in its lane), so
/// this only counts races against other processes.
const MAX_ATTEMPTS: usize = 8;

/// An aggregate as loaded from its stream.
#[derive(Debug)]
pub struct Loaded<A> {
    /// State after every event.
    pub state: A,
    /// The stream's head; `None` for a stream that does not exist.
    pub head: Option<Head>,
    history: History,
    snapshot_at: Option<u64>,
}

/// A command's decision, owned by its job.
type Decide<A> =
    Box<dyn Fn(&A) -> Result<Vec<<A as Aggregate>::Event>, CommandError> + Send + Sync>;

/// One command waiting in its stream's lane.
pub(super) struct Job<A: Aggregate> {
    ctx: CommandContext,
    decide: Decide<A>,
    reply: oneshot::Sender<Result<Ack, CommandError>>,
    span: Span,
}

impl<A: Aggregate> Queued for Job<A> {
    fn key(&self) -> &str {
        &self.ctx.command_id
    }
}

impl<A: Aggregate> Job<A> {
    /// Tells the caller; a caller that gave up is not there to hear it (its command counts
    /// all the same, and a retry with its command id finds it).
    fn answer(self, result: Result<Ack, CommandError>) {
        let _ = self.reply.send(result);
    }
}

/// Runs commands against aggregates in an [`EventStore`].
#[derive(Clone)]
pub struct CommandHandler {
    store: Arc<dyn EventStore>,
    upcasters: Arc<Upcasters>,
    cache: AggregateCache,
    snapshots: Snapshots,
    lanes: Lanes,
    metrics: Option<KernelMetrics>,
    admission: Option<Arc<dyn Admission>>,
}

impl CommandHandler {
    /// A handler over `store`, reading old event versions through `upcasters`, with an
    /// aggregate cache of [`AggregateCache::DEFAULT_BYTES`] and a snapshot every
    /// [`DEFAULT_EVERY`] events.
    pub fn new(store: Arc<dyn EventStore>, upcasters: Arc<Upcasters>) -> Self {
        Self {
            store,
            upcasters,
            cache: AggregateCache::new(AggregateCache::DEFAULT_BYTES),
            snapshots: Snapshots::every(DEFAULT_EVERY),
            lanes: Lanes::default(),
            metrics: None,
            admission: None,
        }
    }

    /// The same handler, asking `admission` before every command.
    pub fn with_admission(self, admission: Arc<dyn Admission>) -> Self {
        Self {
            admission: Some(admission),
            ..self
        }
    }

    /// The same handler, counting what it does in `metrics`.
    pub fn with_metrics(self, metrics: KernelMetrics) -> Self {
        Self {
            metrics: Some(metrics),
            ..self
        }
    }

    /// The same handler with its own aggregate cache of at most `size` (0: every command reads
    /// its stream).
    pub fn with_cache(self, size: ByteSize) -> Self {
        Self {
            cache: AggregateCache::new(size),
            ..self
        }
    }

    /// The same handler writing a snapshot once `every` events were folded since the last (0:
    /// no snapshots are read or written).
    pub fn with_snapshots(self, every: u64) -> Self {
        Self {
            snapshots: Snapshots::every(every),
            ..self
        }
    }

    /// The store commands write to.
    pub fn store(&self) -> &Arc<dyn EventStore> {
        &self.store
    }

    /// Runs a validated command: its decision on its target aggregate.
    pub async fn handle<C: Decision>(
        &self,
        ctx: &CommandContext,
        command: &C,
    ) -> Result<Ack, CommandError> {
        let command = command.clone();
        let target = command.target().to_owned();
        self.execute::<C::Aggregate, _>(&target, ctx, move |state| command.decide(state))
            .await
    }

    /// Handles one command on the aggregate `A` with id `id`: `decide` sees the current state and
    /// returns the events to append (possibly none) or the domain's refusal. It may be called
    /// more than once (a stale cached state, a race lost to another process); the answer is
    /// that of its last call.
    ///
    /// The state comes from the aggregate cache when it holds the stream. An append based on a
    /// cached state carries the cached revision as its expected revision, so a stale state
    /// costs a reload, never a wrong write; refusals and no-ops are answered from a fresh load,
    /// unless an append of the same group proved the state current.
    pub async fn execute<A, E>(
        &self,
        id: &str,
        ctx: &CommandContext,
        decide: impl Fn(&A) -> Result<Vec<A::Event>, E> + Send + Sync + 'static,
    ) -> Result<Ack, CommandError>
    where
        A: Aggregate,
        E: Into<CommandError>,
    {
        let stream = A::stream_id(id);
        let span = info_span!("command", aggregate = A::CATEGORY, stream = stream.as_str());
        let admitted = match &self.admission {
            Some(admission) => admission.admit(A::CATEGORY),
            None => Ok(()),
        };
        let result = match admitted {
            Ok(()) => {
                let (reply, answer) = oneshot::channel();
                let job = Job {
                    ctx: ctx.clone(),
                    decide: Box::new(move |state: &A| decide(state).map_err(Into::into)),
                    reply,
                    span,
                };
                let handler = self.clone();
                let lane = stream.clone();
                self.lanes.submit::<A, _, _, _>(&stream, job, move |group| {
                    let handler = handler.clone();
                    let stream = lane.clone();
                    async move {
                        let span = group.first().map_or_else(Span::none, |j| j.span.clone());
                        handler.run_group(&stream, group).instrument(span).await;
                    }
                });
                // Waiting for the answer does nothing worth a span entry per poll: the group's
                // run is the work, inside the span.
                answer.await.unwrap_or_else(|_| {
                    Err(CommandError::Store(StoreError::Unavailable(
                        "the command was not finished; retry it with the same command id".into(),
                    )))
                })
            }
            Err(refused) => Err(refused),
        };
        if let Some(metrics) = &self.metrics {
            metrics.finished(A::CATEGORY, &result);
        }
        result
    }

    fn encode<Ev: DomainEvent>(
        &self,
        stream: &str,
        ctx: &CommandContext,
        events: &[Ev],
        timestamp: &str,
    ) -> Vec<NewEvent> {
        events
            .iter()
            .enumerate()
            .map(|(index, event)| NewEvent {
                id: event_id(&ctx.command_id, stream, index),
                event_type: event.event_type().to_owned(),
                data: event.encode(),
                metadata: ctx
                    .metadata(event.event_type(), event.schema_version(), timestamp)
                    .to_json(),
            })
            .collect()
    }
}

/// The timestamp every event of one append carries.
fn now() -> String {
    humantime::format_rfc3339_millis(SystemTime::now()).to_string()
}

mod basis;
mod decide;
mod group;
mod load;
mod repeat;

#[cfg(test)]
mod snapshots;
#[cfg(test)]
mod tests;
