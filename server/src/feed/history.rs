//! An entity's past, read from its own stream in the event store (never from a read model):
//! its events a page at a time, and its read-model document as it was at a revision or a time,
//! folded with the same [`Evolve`] step its projection applies.

use std::sync::Arc;

use causeway_proto::{
    common::{AsOf, as_of},
    events::FeedEvent,
};

use super::{Converter, FeedError, convert::timestamp_micros};
use crate::{
    grpc::Invalid,
    projection::Evolve,
    store::{EventStore, RecordedEvent},
};

/// Events per page when the caller asks for none.
pub const DEFAULT_PAGE_EVENTS: usize = 100;
/// Most events per page; larger requests are served this many.
pub const MAX_PAGE_EVENTS: usize = 1000;

/// A point in a stream's past.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Point {
    /// After the event at this revision.
    Revision(u64),
    /// After every event committed at or before this time (microseconds since the epoch).
    Time(i64),
}

impl Point {
    /// The `asOf` field of a query, under `field` for its violations; `None` when absent.
    pub fn of(as_of: Option<&AsOf>, field: &str) -> Result<Option<Self>, Invalid> {
        let Some(as_of) = as_of else {
            return Ok(None);
        };
        match &as_of.point {
            Some(as_of::Point::Revision(revision)) => Ok(Some(Self::Revision(*revision))),
            Some(as_of::Point::Time(time)) => timestamp_micros(time)
                .map(|micros| Some(Self::Time(micros)))
                .ok_or_else(|| Invalid::field(format!("{field}.time"), "not a valid timestamp")),
            None => Err(Invalid::field(
                field,
                "set either revision or time, or leave asOf out",
            )),
        }
    }

    /// Whether `event` (of the stream asked about) had happened at this point.
    pub fn includes(self, event: &RecordedEvent) -> bool {
        match self {
            Self::Revision(revision) => event.revision <= revision,
            Self::Time(micros) => event.created_micros <= micros,
        }
    }
}

/// One page of a stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// The events, oldest first.
    pub events: Vec<FeedEvent>,
    /// Whether the page reaches the stream's last event.
    pub end_of_stream: bool,
}

/// Reads entities' pasts from the event store. Cheap to clone.
#[derive(Clone)]
pub struct History {
    store: Arc<dyn EventStore>,
    converter: Converter,
}

impl History {
    /// History over `store`, delivering events as `converter` makes them.
    pub fn new(store: Arc<dyn EventStore>, converter: Converter) -> Self {
        Self { store, converter }
    }

    /// Every event of `stream`, oldest first, as stored.
    pub async fn recorded(&self, stream: &str) -> Result<Vec<RecordedEvent>, FeedError> {
        Ok(self.store.read_stream(stream, 0).await?)
    }

    /// Up to `max_count` (0: the default; clamped) events of `stream` from `from_revision`.
    /// `NotFound` when the stream has no events at all.
    pub async fn page(
        &self,
        stream: &str,
        from_revision: u64,
        max_count: u32,
    ) -> Result<Page, FeedError> {
        let mut events = self.store.read_stream(stream, from_revision).await?;
        if events.is_empty()
            && (from_revision == 0 || self.store.read_stream(stream, 0).await?.is_empty())
        {
            return Err(FeedError::NotFound(format!("stream {stream}")));
        }
        self.paged(&mut events, max_count)
    }

    /// The page of `events` (already read, from the wanted revision on) that `max_count` allows.
    pub fn paged(
        &self,
        events: &mut Vec<RecordedEvent>,
        max_count: u32,
    ) -> Result<Page, FeedError> {
        let limit = match usize::try_from(max_count).unwrap_or(usize::MAX) {
            0 => DEFAULT_PAGE_EVENTS,
            n => n.min(MAX_PAGE_EVENTS),
        };
        let end_of_stream = events.len() <= limit;
        events.truncate(limit);
        Ok(Page {
            events: events
                .iter()
                .map(|e| self.converter.event(e))
                .collect::<Result<_, _>>()?,
            end_of_stream,
        })
    }

    /// The document `D` folded from `events` (one stream, oldest first) up to `point`; `None`
    /// when the entity did not exist yet at that point.
    pub fn fold<D: Evolve>(
        &self,
        events: &[RecordedEvent],
        point: Point,
    ) -> Result<Option<D>, FeedError> {
        let mut state: Option<D> = None;
        for event in events.iter().take_while(|e| point.includes(e)) {
            let corrupt = |why: String| {
                FeedError::Corrupt(format!(
                    "{} at {}@{} (position {}): {why}",
                    event.event_type, event.stream, event.revision, event.position
                ))
            };
            let decoded = self
                .converter
                .upcasters()
                .decode::<D::Event>(event)
                .map_err(|e| corrupt(e.to_string()))?;
            state = Some(D::evolve(state, decoded, event).map_err(corrupt)?);
        }
        Ok(state)
    }

    /// The document `D` of `stream` as it was at `point`, read and folded; `None` when the
    /// entity did not exist yet then.
    pub async fn as_of<D: Evolve>(
        &self,
        stream: &str,
        point: Point,
    ) -> Result<Option<D>, FeedError> {
        let events = self.recorded(stream).await?;
        self.fold(&events, point)
    }
}
