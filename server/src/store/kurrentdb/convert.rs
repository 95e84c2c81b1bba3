//! Translations between the port's types and the `kurrentdb` crate's: events both ways,
//! expected and actual revisions, and positions (a Causeway position is the commit position).

use kurrentdb::{
    CurrentRevision, EventData, Position, StreamPosition, StreamState,
    SubscriptionFilter as ServerFilter,
};
use serde_json::value::RawValue;

use crate::store::{ActualRevision, ExpectedRevision, NewEvent, RecordedEvent, SubscriptionFilter};

/// KurrentDB's `created` metadata counts 100 ns ticks since the Unix epoch.
const TICKS_PER_MICRO: i64 = 10;

/// The expected-revision rule as the crate spells it.
pub(super) fn stream_state(expected: ExpectedRevision) -> StreamState {
    match expected {
        ExpectedRevision::Any => StreamState::Any,
        ExpectedRevision::NoStream => StreamState::NoStream,
        ExpectedRevision::StreamExists => StreamState::StreamExists,
        ExpectedRevision::Exact(revision) => StreamState::StreamRevision(revision),
    }
}

/// The stream's revision reported with a wrong-expected-version answer.
pub(super) fn actual_revision(current: CurrentRevision) -> ActualRevision {
    match current {
        CurrentRevision::Current(revision) => ActualRevision(Some(revision)),
        CurrentRevision::NoStream => ActualRevision(None),
    }
}

/// The event as KurrentDB should store it: our id, our type, the payload as JSON (so
/// KurrentDB's UI and projections can read it) and our metadata JSON as custom metadata, both
/// byte for byte.
pub(super) fn event_data(event: NewEvent) -> EventData {
    let NewEvent {
        id,
        event_type,
        data,
        metadata,
    } = event;
    let data = match exact_json(&data) {
        // Serialising a RawValue writes its text verbatim.
        Some(json) => EventData::json(&event_type, &json)
            .unwrap_or_else(|_| EventData::binary(&event_type, data.into())),
        None => EventData::binary(&event_type, data.into()),
    };
    data.id(id).metadata(metadata.into())
}

/// `bytes` as a raw JSON value if they are JSON and survive serialisation unchanged.
fn exact_json(bytes: &[u8]) -> Option<Box<RawValue>> {
    let text = std::str::from_utf8(bytes).ok()?;
    let raw = RawValue::from_string(text.to_owned()).ok()?;
    (raw.get().len() == bytes.len()).then_some(raw)
}

/// An event as the port reports it.
pub(super) fn recorded(event: &kurrentdb::RecordedEvent) -> RecordedEvent {
    RecordedEvent {
        id: event.id,
        stream: event.stream_id().to_owned(),
        revision: event.revision,
        position: event.position.commit,
        event_type: event.event_type.clone(),
        data: event.data.to_vec(),
        metadata: event.custom_metadata.to_vec(),
        created_micros: created_micros(event),
    }
}

/// When the server committed `event`, in microseconds: from the raw `created` ticks, since the
/// crate's own `created` field drops everything below a second.
fn created_micros(event: &kurrentdb::RecordedEvent) -> i64 {
    event
        .metadata
        .get("created")
        .and_then(|ticks| ticks.parse::<i64>().ok())
        .map_or_else(
            || event.created.timestamp_micros(),
            |ticks| ticks / TICKS_PER_MICRO,
        )
}

/// Whether `stream` is one of KurrentDB's own (`$`-prefixed) or holds snapshots: never an
/// aggregate's events.
pub(super) fn is_internal_stream(stream: &str) -> bool {
    stream.starts_with('$') || super::snapshot::is_snapshot_stream(stream)
}

/// The `$all` position of a Causeway position. Ordinary events have commit == prepare.
pub(super) fn all_position(position: u64) -> Position {
    Position {
        commit: position,
        prepare: position,
    }
}

/// Where a `$all` read or subscription "after" a Causeway position starts.
pub(super) fn start_after(after: Option<u64>) -> StreamPosition<Position> {
    after.map_or(StreamPosition::Start, |p| {
        StreamPosition::Position(all_position(p))
    })
}

/// The server-side filter for `filter`: streams starting with `<category>-` for each category;
/// with no categories, every stream but KurrentDB's own (a regular expression, as the server
/// has no "not this prefix" filter).
pub(super) fn server_filter(filter: &SubscriptionFilter) -> ServerFilter {
    if filter.categories.is_empty() {
        return ServerFilter::on_stream_name().exclude_system_events();
    }
    let prefixes = filter.categories.iter().map(|c| format!("{c}-"));
    prefixes.fold(ServerFilter::on_stream_name(), ServerFilter::add_prefix)
}
