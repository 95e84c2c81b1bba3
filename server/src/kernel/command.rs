//! The application hop of every command, in three steps per attempt:
//!
//! 1. basis: the aggregate's state and head, from the aggregate cache or the store (or caught
//!    up after a lost race); a command id found in the stream's history is a repeat, answered
//!    with its first acknowledgement;
//! 2. decide: the pure decision on that state (or the caller's expected revision refusing it);
//! 3. commit: append with the revision the decision was based on; on a concurrent write, catch
//!    up and decide again, a bounded number of times.

use std::{sync::Arc, time::SystemTime};

use tracing::{Instrument, debug, info_span};

use super::{
    Ack, Admission, Aggregate, CommandContext, CommandError, Decision, DomainEvent, Head,
    Upcasters,
    cache::{AggregateCache, EventRef, Hit},
    ids::event_id,
    metrics::KernelMetrics,
};
use crate::store::{EventStore, ExpectedRevision, NewEvent, RecordedEvent, StoreError};

/// How often an optimistic append is retried after losing a race before giving up with
/// `ABORTED`. Each attempt reloads the stream, so contention resolves quickly in practice.
const MAX_ATTEMPTS: usize = 8;

/// An aggregate as loaded from its stream.
#[derive(Debug)]
pub struct Loaded<A> {
    /// State after every event.
    pub state: A,
    /// The stream's head; `None` for a stream that does not exist.
    pub head: Option<Head>,
    history: Vec<EventRef>,
}

/// What a decision is based on.
struct Basis<A> {
    state: A,
    head: Option<Head>,
    /// The stream's whole history when the state came from the store; `None` when it came from
    /// the cache, whose answers other than "append" are re-checked against the store.
    history: Option<Vec<EventRef>>,
}

/// Where the next attempt takes its basis from.
enum Source<A> {
    Cache,
    Store,
    CaughtUp(Basis<A>),
}

/// What the first step found.
enum Found<A> {
    Basis(Basis<A>),
    /// The command ran before; this is the last event it wrote.
    Repeat(EventRef),
}

/// What the second step decided.
enum Outcome<E> {
    Append(Vec<E>),
    /// The answer, unless the basis came from the cache (then it is re-checked).
    Answer(Result<(), CommandError>),
}

/// What the third step did.
enum Committed<A> {
    Done(Ack),
    Lost(Source<A>),
}

/// Runs commands against aggregates in an [`EventStore`].
#[derive(Clone)]
pub struct CommandHandler {
    store: Arc<dyn EventStore>,
    upcasters: Arc<Upcasters>,
    cache: AggregateCache,
    metrics: Option<KernelMetrics>,
    admission: Option<Arc<dyn Admission>>,
}

impl CommandHandler {
    /// A handler over `store`, reading old event versions through `upcasters`, with an
    /// aggregate cache of [`AggregateCache::DEFAULT_CAPACITY`].
    pub fn new(store: Arc<dyn EventStore>, upcasters: Arc<Upcasters>) -> Self {
        Self {
            store,
            upcasters,
            cache: AggregateCache::new(AggregateCache::DEFAULT_CAPACITY),
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

    /// The same handler with its own aggregate cache holding at most `capacity` event ids (0:
    /// every command reads its stream).
    pub fn with_cache_capacity(self, capacity: usize) -> Self {
        Self {
            cache: AggregateCache::new(capacity),
            ..self
        }
    }

    /// The store commands write to.
    pub fn store(&self) -> &Arc<dyn EventStore> {
        &self.store
    }

    /// Loads the aggregate of `stream` by folding its events (upcast as needed), always from the
    /// store.
    pub async fn load<A: Aggregate>(&self, stream: &str) -> Result<Loaded<A>, CommandError> {
        let records = self.store.read_stream(stream, 0).await?;
        let mut state = A::default();
        let history = self.fold(stream, &mut state, &records)?;
        let head = records.last().map(head_of);
        Ok(Loaded {
            state,
            head,
            history,
        })
    }

    /// Runs a validated command: its decision on its target aggregate.
    pub async fn handle<C: Decision>(
        &self,
        ctx: &CommandContext,
        command: &C,
    ) -> Result<Ack, CommandError> {
        self.execute::<C::Aggregate, _>(command.target(), ctx, |state| command.decide(state))
            .await
    }

    /// Handles one command on the aggregate `A` with id `id`: `decide` sees the current state and
    /// returns the events to append (possibly none) or the domain's refusal.
    ///
    /// The state comes from the aggregate cache when it holds the stream. Only an append is ever
    /// based on a cached state, and it carries the cached revision as its expected revision, so
    /// a stale state costs a reload, never a wrong write; refusals and no-ops are answered from a
    /// fresh load.
    pub async fn execute<A, E>(
        &self,
        id: &str,
        ctx: &CommandContext,
        decide: impl Fn(&A) -> Result<Vec<A::Event>, E>,
    ) -> Result<Ack, CommandError>
    where
        A: Aggregate,
        E: Into<CommandError>,
    {
        let stream = A::stream_id(id);
        let span = info_span!("command", aggregate = A::CATEGORY, stream = %stream);
        let admitted = match &self.admission {
            Some(admission) => admission.admit(A::CATEGORY),
            None => Ok(()),
        };
        let result = match admitted {
            Ok(()) => {
                self.attempts::<A, E>(stream, ctx, decide)
                    .instrument(span)
                    .await
            }
            Err(refused) => Err(refused),
        };
        if let Some(metrics) = &self.metrics {
            metrics.finished(A::CATEGORY, &result);
        }
        result
    }

    /// Decides and appends until the command is answered or the attempts run out.
    async fn attempts<A, E>(
        &self,
        stream: String,
        ctx: &CommandContext,
        decide: impl Fn(&A) -> Result<Vec<A::Event>, E>,
    ) -> Result<Ack, CommandError>
    where
        A: Aggregate,
        E: Into<CommandError>,
    {
        let mut source = Source::Cache;
        for attempt in 1..=MAX_ATTEMPTS {
            let basis = match self.basis(&stream, ctx, source).await? {
                Found::Basis(basis) => basis,
                Found::Repeat(last) => return self.repeat(&stream, ctx, last).await,
            };
            let events = match decision(&stream, ctx, &basis, &decide) {
                Outcome::Append(events) => events,
                Outcome::Answer(_) if basis.history.is_none() => {
                    source = Source::Store;
                    continue;
                }
                Outcome::Answer(answer) => {
                    let head = basis.head;
                    self.remember(&stream, basis);
                    return answer.map(|()| {
                        head.unwrap_or(Head {
                            revision: 0,
                            position: 0,
                        })
                        .ack(&stream, false)
                    });
                }
            };
            match self.commit(&stream, ctx, basis, events).await? {
                Committed::Done(ack) => return Ok(ack),
                Committed::Lost(next) => {
                    debug!(%stream, attempt, "lost an append race; deciding again");
                    if let Some(metrics) = &self.metrics {
                        metrics.retried();
                    }
                    source = next;
                }
            }
        }
        Err(CommandError::Conflict {
            stream,
            detail: format!("still contested after {MAX_ATTEMPTS} attempts"),
        })
    }

    /// Step 3: appends `events` decided on `basis`; after a lost race, where to decide again.
    async fn commit<A: Aggregate>(
        &self,
        stream: &str,
        ctx: &CommandContext,
        basis: Basis<A>,
        events: Vec<A::Event>,
    ) -> Result<Committed<A>, CommandError> {
        let current = basis.head.map(|h| h.revision);
        let expected = current.map_or(ExpectedRevision::NoStream, ExpectedRevision::Exact);
        let encoded = self.encode(stream, ctx, &events);
        let ids: Vec<_> = encoded.iter().map(|e| e.id).collect();
        match self.store.append(stream, expected, encoded).await {
            Ok(appended) => {
                let mut next = basis.state;
                events.iter().for_each(|event| next.apply(event));
                let head = Head {
                    revision: appended.revision,
                    position: appended.position,
                };
                let first = head.revision.saturating_sub(ids.len() as u64 - 1);
                let written: Vec<EventRef> = (first..)
                    .zip(ids)
                    .map(|(revision, id)| EventRef {
                        id,
                        revision,
                        // Only the command's last position is ever answered.
                        position: head.position,
                    })
                    .collect();
                match basis.history {
                    Some(mut history) => {
                        history.extend(written);
                        self.cache.put(stream, next, head, history);
                    }
                    None => self.cache.advance(stream, current, next, head, &written),
                }
                Ok(Committed::Done(head.ack(stream, false)))
            }
            Err(StoreError::WrongExpectedRevision { actual, .. }) => {
                if ctx.expected_revision.is_some() {
                    self.cache.forget(stream);
                    return Err(conflict(stream, ctx.expected_revision, actual.0));
                }
                self.catch_up(stream, ctx, basis).await
            }
            Err(other) => Err(other.into()),
        }
    }

    fn encode<Ev: DomainEvent>(
        &self,
        stream: &str,
        ctx: &CommandContext,
        events: &[Ev],
    ) -> Vec<NewEvent> {
        let timestamp = humantime::format_rfc3339_millis(SystemTime::now()).to_string();
        events
            .iter()
            .enumerate()
            .map(|(index, event)| NewEvent {
                id: event_id(&ctx.command_id, stream, index),
                event_type: event.event_type().to_owned(),
                data: event.encode(),
                metadata: ctx
                    .metadata(event.event_type(), event.schema_version(), &timestamp)
                    .to_json(),
            })
            .collect()
    }
}

fn head_of(record: &RecordedEvent) -> Head {
    Head {
        revision: record.revision,
        position: record.position,
    }
}

mod basis;
mod decide;
mod repeat;

use decide::{conflict, decision};
use repeat::previous_run;

#[cfg(test)]
mod tests;
