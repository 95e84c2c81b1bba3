//! The application hop of every command: load the aggregate's stream, answer a repeated command
//! id with its original ack, decide (pure), append with the revision the decision was based on,
//! and on a concurrent write reload and decide again, a bounded number of times.

use std::{sync::Arc, time::SystemTime};

use tracing::debug;

use super::{Aggregate, CommandError, DomainEvent, EventMetadata, Upcasters, ids::event_id};
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
    records: Vec<RecordedEvent>,
}

/// Runs commands against aggregates in an [`EventStore`].
#[derive(Clone)]
pub struct CommandHandler {
    store: Arc<dyn EventStore>,
    upcasters: Arc<Upcasters>,
}

impl CommandHandler {
    /// A handler over `store`, reading old event versions through `upcasters`.
    pub fn new(store: Arc<dyn EventStore>, upcasters: Arc<Upcasters>) -> Self {
        Self { store, upcasters }
    }

    /// The store commands write to.
    pub fn store(&self) -> &Arc<dyn EventStore> {
        &self.store
    }

    /// Loads the aggregate of `stream` by folding its events (upcast as needed).
    pub async fn load<A: Aggregate>(&self, stream: &str) -> Result<Loaded<A>, CommandError> {
        let records = self.store.read_stream(stream, 0).await?;
        let mut state = A::default();
        for record in &records {
            let event: A::Event = self
                .upcasters
                .decode(record)
                .map_err(|e| CommandError::Corrupt(format!("{stream}@{}: {e}", record.revision)))?;
            state.apply(&event);
        }
        let head = records.last().map(|r| (r.revision, r.position));
        Ok(Loaded {
            state,
            head,
            records,
        })
    }

    /// Handles one command on the aggregate `A` with id `id`: `decide` sees the current state and
    /// returns the events to append (possibly none) or the domain's refusal.
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
        for attempt in 1..=MAX_ATTEMPTS {
            let loaded = self.load::<A>(&stream).await?;
            if let Some(ack) = previous_ack(&stream, &ctx.command_id, &loaded.records) {
                return Ok(ack);
            }
            let current = loaded.head.map(|(revision, _)| revision);
            if let Some(expected) = ctx.expected_revision {
                if current != Some(expected) {
                    return Err(conflict(&stream, Some(expected), current));
                }
            }
            let events = decide(&loaded.state).map_err(Into::into)?;
            if events.is_empty() {
                let (revision, position) = loaded.head.unwrap_or((0, 0));
                return Ok(Ack {
                    stream_id: stream,
                    revision,
                    position,
                    deduplicated: false,
                });
            }
            let expected = current.map_or(ExpectedRevision::NoStream, ExpectedRevision::Exact);
            match self
                .store
                .append(&stream, expected, self.encode(&stream, ctx, &events))
                .await
            {
                Ok(appended) => {
                    return Ok(Ack {
                        stream_id: stream,
                        revision: appended.revision,
                        position: appended.position,
                        deduplicated: false,
                    });
                }
                Err(StoreError::WrongExpectedRevision { actual, .. }) => {
                    if ctx.expected_revision.is_some() {
                        return Err(conflict(&stream, ctx.expected_revision, actual.0));
                    }
                    debug!(%stream, attempt, "lost an append race; reloading");
                }
                Err(other) => return Err(other.into()),
            }
        }
        Err(CommandError::Conflict {
            stream,
            detail: format!("still contested after {MAX_ATTEMPTS} attempts"),
        })
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

/// The ack a command with `command_id` got when it was first handled, if it wrote to this stream.
/// Event ids are derived from the command id, so no metadata needs parsing: the command's events
/// are the contiguous run starting with its event 0.
fn previous_ack(stream: &str, command_id: &str, records: &[RecordedEvent]) -> Option<Ack> {
    let first_id = event_id(command_id, stream, 0);
    let start = records.iter().position(|r| r.id == first_id)?;
    let count = records[start..]
        .iter()
        .enumerate()
        .take_while(|(index, r)| r.id == event_id(command_id, stream, *index))
        .count();
    let last = &records[start + count - 1];
    Some(Ack {
        stream_id: stream.to_owned(),
        revision: last.revision,
        position: last.position,
        deduplicated: true,
    })
}

fn conflict(stream: &str, expected: Option<u64>, actual: Option<u64>) -> CommandError {
    let show =
        |r: Option<u64>| r.map_or_else(|| "no stream".to_owned(), |r| format!("revision {r}"));
    CommandError::Conflict {
        stream: stream.to_owned(),
        detail: format!("expected {}, found {}", show(expected), show(actual)),
    }
}
