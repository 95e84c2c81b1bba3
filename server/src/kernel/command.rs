//! The application hop of every command: load the aggregate's stream, answer a repeated command
//! id with its original ack, decide (pure), append with the revision the decision was based on,
//! and on a concurrent write reload and decide again, a bounded number of times.

use std::{sync::Arc, time::SystemTime};

use tracing::debug;

use uuid::Uuid;

use super::{
    Aggregate, CommandError, DomainEvent, EventMetadata, Upcasters,
    cache::{AggregateCache, EventRef, Hit},
    ids::event_id,
};
use crate::store::{EventStore, ExpectedRevision, NewEvent, RecordedEvent, StoreError};

/// How often an optimistic append is retried after losing a race before giving up with
/// `ABORTED`. Each attempt reloads the stream, so contention resolves quickly in practice.
const MAX_ATTEMPTS: usize = 8;

/// Who sent a command and how it must be applied; built once by the gRPC handler.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommandContext {
    /// The idempotency key. Required, non-empty.
    pub command_id: String,
    /// When set, the stream must be at exactly this revision; a mismatch fails at once.
    pub expected_revision: Option<u64>,
    /// Business flow id; the command id when the caller gave none.
    pub correlation_id: Option<String>,
    /// Authenticated caller, when known.
    pub actor: Option<String>,
    /// Tenant, when known.
    pub tenant: Option<String>,
    /// W3C `traceparent` of the request.
    pub traceparent: Option<String>,
}

impl CommandContext {
    /// A context with only a command id, as tests and internal callers need.
    pub fn new(command_id: impl Into<String>) -> Self {
        Self {
            command_id: command_id.into(),
            ..Self::default()
        }
    }

    fn metadata(&self, event_type: &str, schema_version: u32, timestamp: &str) -> EventMetadata {
        EventMetadata {
            event_type: event_type.to_owned(),
            schema_version,
            command_id: self.command_id.clone(),
            correlation_id: self
                .correlation_id
                .clone()
                .unwrap_or_else(|| self.command_id.clone()),
            causation_id: self.command_id.clone(),
            actor: self.actor.clone(),
            tenant: self.tenant.clone(),
            timestamp: timestamp.to_owned(),
            traceparent: self.traceparent.clone(),
        }
    }
}

/// What a handled command acknowledges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    /// The stream written.
    pub stream_id: String,
    /// The stream's revision after the command.
    pub revision: u64,
    /// Global position of the command's last event (the read-your-writes token).
    pub position: u64,
    /// The command id had been handled before; nothing was appended this time.
    pub deduplicated: bool,
}

/// An aggregate as loaded from its stream.
#[derive(Debug)]
pub struct Loaded<A> {
    /// State after every event.
    pub state: A,
    /// Last event's revision and position; `None` for a stream that does not exist.
    pub head: Option<(u64, u64)>,
    history: Vec<EventRef>,
}

/// Runs commands against aggregates in an [`EventStore`].
#[derive(Clone)]
pub struct CommandHandler {
    store: Arc<dyn EventStore>,
    upcasters: Arc<Upcasters>,
    cache: AggregateCache,
}

impl CommandHandler {
    /// A handler over `store`, reading old event versions through `upcasters`, with an
    /// aggregate cache of [`AggregateCache::DEFAULT_CAPACITY`].
    pub fn new(store: Arc<dyn EventStore>, upcasters: Arc<Upcasters>) -> Self {
        Self {
            store,
            upcasters,
            cache: AggregateCache::new(AggregateCache::DEFAULT_CAPACITY),
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
        let head = records.last().map(|r| (r.revision, r.position));
        Ok(Loaded {
            state,
            head,
            history,
        })
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
        let earlier_run = |history: &[EventRef]| previous_run(&stream, &ctx.command_id, history);
        let mut trust_cache = true;
        // A state caught up after a lost race, to decide on in the next attempt.
        let mut carried: Option<Basis<A>> = None;
        for attempt in 1..=MAX_ATTEMPTS {
            let cached = match carried.take() {
                Some(caught_up) => Some(Ok(caught_up)),
                None if trust_cache => self.cache.get::<A>(&stream, earlier_run).map(Err),
                None => None,
            };
            let (state, head, history) = match cached {
                Some(Ok(caught_up)) => caught_up,
                Some(Err(Hit::Deduplicated(last))) => return Ok(deduplicated(&stream, last)),
                Some(Err(Hit::State(state, head))) => (state, Some(head), None),
                None => {
                    let loaded = self.load::<A>(&stream).await?;
                    if let Some(last) = earlier_run(&loaded.history) {
                        self.remember(&stream, loaded.state, loaded.head, loaded.history);
                        return Ok(deduplicated(&stream, last));
                    }
                    (loaded.state, loaded.head, Some(loaded.history))
                }
            };
            let current = head.map(|(revision, _)| revision);
            let decision = match ctx.expected_revision {
                Some(expected) if current != Some(expected) => {
                    Err(conflict(&stream, Some(expected), current))
                }
                _ => decide(&state).map_err(Into::into),
            };
            let events = match (decision, history) {
                (Ok(events), history) if !events.is_empty() => (events, history),
                // Anything but an append is answered from the store, not from the cache.
                (_, None) => {
                    trust_cache = false;
                    continue;
                }
                (Err(refused), Some(history)) => {
                    self.remember(&stream, state, head, history);
                    return Err(refused);
                }
                (Ok(_), Some(history)) => {
                    let (revision, position) = head.unwrap_or((0, 0));
                    self.remember(&stream, state, head, history);
                    return Ok(Ack {
                        stream_id: stream,
                        revision,
                        position,
                        deduplicated: false,
                    });
                }
            };
            let (events, history) = events;
            let expected = current.map_or(ExpectedRevision::NoStream, ExpectedRevision::Exact);
            let encoded = self.encode(&stream, ctx, &events);
            let ids: Vec<Uuid> = encoded.iter().map(|e| e.id).collect();
            match self.store.append(&stream, expected, encoded).await {
                Ok(appended) => {
                    let mut next = state;
                    for event in &events {
                        next.apply(event);
                    }
                    let head = (appended.revision, appended.position);
                    let first = appended
                        .revision
                        .saturating_sub(ids.len().saturating_sub(1) as u64);
                    let written: Vec<EventRef> = (first..)
                        .zip(ids)
                        .map(|(revision, id)| EventRef {
                            id,
                            revision,
                            // Only the command's last position is ever answered.
                            position: appended.position,
                        })
                        .collect();
                    match history {
                        Some(mut history) => {
                            history.extend(written);
                            self.cache.put(&stream, next, head, history);
                        }
                        None => self.cache.advance(&stream, current, next, head, &written),
                    }
                    return Ok(Ack {
                        stream_id: stream,
                        revision: appended.revision,
                        position: appended.position,
                        deduplicated: false,
                    });
                }
                Err(StoreError::WrongExpectedRevision { actual, .. }) => {
                    if ctx.expected_revision.is_some() {
                        self.cache.forget(&stream);
                        return Err(conflict(&stream, ctx.expected_revision, actual.0));
                    }
                    debug!(%stream, attempt, "lost an append race; catching up");
                    match self
                        .catch_up(&stream, &ctx.command_id, state, head, history)
                        .await?
                    {
                        CaughtUp::Deduplicated(last) => return Ok(deduplicated(&stream, last)),
                        CaughtUp::State(state, head, history) => {
                            carried = Some((state, Some(head), history));
                        }
                        CaughtUp::Nothing => {
                            self.cache.forget(&stream);
                            trust_cache = false;
                        }
                    }
                }
                Err(other) => return Err(other.into()),
            }
        }
        Err(CommandError::Conflict {
            stream,
            detail: format!("still contested after {MAX_ATTEMPTS} attempts"),
        })
    }

    /// Folds what was written to `stream` after `head` into `state`, the state a lost append
    /// was decided on: after a lost race only the winners' events are read, not the whole
    /// stream. Keeps the cache in step.
    async fn catch_up<A: Aggregate>(
        &self,
        stream: &str,
        command_id: &str,
        mut state: A,
        head: Option<(u64, u64)>,
        history: Option<Vec<EventRef>>,
    ) -> Result<CaughtUp<A>, CommandError> {
        let from = head.map_or(0, |(revision, _)| revision + 1);
        let records = self.store.read_stream(stream, from).await?;
        let Some(last) = records.last() else {
            return Ok(CaughtUp::Nothing);
        };
        let new_head = (last.revision, last.position);
        let newer = self.fold(stream, &mut state, &records)?;
        // A retry of this very command may be among the winners (handled by another process).
        if let Some(last) = previous_run(stream, command_id, &newer) {
            return Ok(CaughtUp::Deduplicated(last));
        }
        let history = match history {
            Some(mut history) => {
                history.extend_from_slice(&newer);
                self.cache
                    .put(stream, state.clone(), new_head, history.clone());
                Some(history)
            }
            None => {
                let from = head.map(|(revision, _)| revision);
                self.cache
                    .advance(stream, from, state.clone(), new_head, &newer);
                None
            }
        };
        Ok(CaughtUp::State(state, new_head, history))
    }

    /// Folds `records` of `stream` (upcast as needed) into `state`; returns their ids for
    /// deduplication.
    fn fold<A: Aggregate>(
        &self,
        stream: &str,
        state: &mut A,
        records: &[RecordedEvent],
    ) -> Result<Vec<EventRef>, CommandError> {
        records
            .iter()
            .map(|record| {
                let event: A::Event = self.upcasters.decode(record).map_err(|e| {
                    CommandError::Corrupt(format!("{stream}@{}: {e}", record.revision))
                })?;
                state.apply(&event);
                Ok(EventRef {
                    id: record.id,
                    revision: record.revision,
                    position: record.position,
                })
            })
            .collect()
    }

    /// Caches a state loaded from the store.
    fn remember<A: Aggregate>(
        &self,
        stream: &str,
        state: A,
        head: Option<(u64, u64)>,
        history: Vec<EventRef>,
    ) {
        if let Some(head) = head {
            self.cache.put(stream, state, head, history);
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

/// The last event a command with `command_id` wrote to this stream, if it was handled before.
/// Event ids are derived from the command id, so no metadata needs parsing: the command's events
/// are the contiguous run starting with its event 0.
fn previous_run(stream: &str, command_id: &str, history: &[EventRef]) -> Option<EventRef> {
    let first_id = event_id(command_id, stream, 0);
    let start = history.iter().position(|r| r.id == first_id)?;
    let count = history[start..]
        .iter()
        .enumerate()
        .take_while(|(index, r)| r.id == event_id(command_id, stream, *index))
        .count();
    history.get(start + count - 1).copied()
}

/// What a decision is based on: the state, its head (revision, position) and, when it came
/// from the store whole, the stream's full history.
type Basis<A> = (A, Option<(u64, u64)>, Option<Vec<EventRef>>);

/// What catching up after a lost race found.
enum CaughtUp<A> {
    /// The command itself was among the winners.
    Deduplicated(EventRef),
    /// The state, head and (when known) full history after the winners' events.
    State(A, (u64, u64), Option<Vec<EventRef>>),
    /// Nothing after the head: the stream is not what the conflict said; reload it whole.
    Nothing,
}

fn deduplicated(stream: &str, last: EventRef) -> Ack {
    Ack {
        stream_id: stream.to_owned(),
        revision: last.revision,
        position: last.position,
        deduplicated: true,
    }
}

fn conflict(stream: &str, expected: Option<u64>, actual: Option<u64>) -> CommandError {
    let show =
        |r: Option<u64>| r.map_or_else(|| "no stream".to_owned(), |r| format!("revision {r}"));
    CommandError::Conflict {
        stream: stream.to_owned(),
        detail: format!("expected {}, found {}", show(expected), show(actual)),
    }
}

#[cfg(test)]
mod tests;
