//! How the protocol encodes the double's records, ids, positions, filters and errors.

use std::collections::HashMap;

use tonic::{Status, metadata::MetadataValue};
use uuid::Uuid;

use super::protocol::event_store::client::Uuid as WireUuid;
use super::{
    log::Record,
    protocol::event_store::client::{
        StreamIdentifier,
        streams::{
            ReadResp,
            read_req::options::{
                FilterOptions, UuidOption,
                filter_options::{Filter as FilterKind, Window},
                uuid_option::Content as UuidContent,
            },
            read_resp::{self, ReadEvent, read_event},
        },
        uuid::{Structured, Value as UuidValue},
    },
};

/// Window of events a filtered subscription considers between checkpoints when the client
/// names none.
const DEFAULT_WINDOW: u32 = 32;

/// Which encoding of event ids the reader asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UuidFormat {
    Structured,
    String,
}

impl UuidFormat {
    /// The reader's choice; structured when it made none.
    pub(crate) fn of(option: Option<&UuidOption>) -> Self {
        match option.and_then(|o| o.content.as_ref()) {
            Some(UuidContent::String(_)) => Self::String,
            _ => Self::Structured,
        }
    }

    fn encode(self, id: Uuid) -> WireUuid {
        let value = match self {
            Self::String => UuidValue::String(id.to_string()),
            Self::Structured => {
                let (high, low) = id.as_u64_pair();
                UuidValue::Structured(Structured {
                    most_significant_bits: i64::from_ne_bytes(high.to_ne_bytes()),
                    least_significant_bits: i64::from_ne_bytes(low.to_ne_bytes()),
                })
            }
        };
        WireUuid { value: Some(value) }
    }
}

/// A proposed event's id, in either encoding.
pub(crate) fn decode_uuid(id: Option<&WireUuid>) -> Result<Uuid, Status> {
    match id.and_then(|id| id.value.as_ref()) {
        Some(UuidValue::Structured(s)) => {
            let high = u64::from_ne_bytes(s.most_significant_bits.to_ne_bytes());
            let low = u64::from_ne_bytes(s.least_significant_bits.to_ne_bytes());
            Ok(Uuid::from_u64_pair(high, low))
        }
        Some(UuidValue::String(s)) => s
            .parse()
            .map_err(|_| Status::invalid_argument("an event id is not a UUID")),
        None => Err(Status::invalid_argument("an event has no id")),
    }
}

/// A stream name from the wire; names are UTF-8 and not empty.
pub(crate) fn stream_name(identifier: Option<&StreamIdentifier>) -> Result<String, Status> {
    let bytes = identifier
        .map(|i| i.stream_name.as_slice())
        .unwrap_or_default();
    if bytes.is_empty() {
        return Err(Status::invalid_argument("the stream name is empty"));
    }
    String::from_utf8(bytes.to_vec())
        .map_err(|_| Status::invalid_argument("the stream name is not UTF-8"))
}

/// One recorded event as a read or subscription sends it.
pub(crate) fn event(record: &Record, ids: UuidFormat) -> ReadResp {
    let metadata = HashMap::from([
        ("type".to_owned(), record.event_type.clone()),
        ("content-type".to_owned(), record.content_type.clone()),
        ("created".to_owned(), record.created.to_string()),
    ]);
    let recorded = read_event::RecordedEvent {
        id: Some(ids.encode(record.id)),
        stream_identifier: Some(StreamIdentifier {
            stream_name: record.stream.clone().into_bytes(),
        }),
        stream_revision: record.revision,
        prepare_position: record.position,
        commit_position: record.position,
        metadata,
        custom_metadata: record.custom_metadata.clone(),
        data: record.data.clone(),
    };
    content(read_resp::Content::Event(ReadEvent {
        event: Some(recorded),
        link: None,
        position: Some(read_event::Position::CommitPosition(record.position)),
    }))
}

/// A `ReadResp` carrying `content`.
pub(crate) fn content(content: read_resp::Content) -> ReadResp {
    ReadResp {
        content: Some(content),
    }
}

/// A `$all` position as replies carry it (commit == prepare in the double).
pub(crate) fn position(position: u64) -> read_resp::Position {
    read_resp::Position {
        commit_position: position,
        prepare_position: position,
    }
}

/// A server-side filter: by stream name or event type prefix.
#[derive(Debug, Clone)]
pub(crate) struct Filter {
    on_stream: bool,
    prefixes: Vec<String>,
    /// Events considered between two checkpoints of a subscription.
    pub(crate) checkpoint_interval: u32,
}

impl Filter {
    /// The filter a request asks for; regular expressions are not implemented by the double.
    pub(crate) fn from_options(options: &FilterOptions) -> Result<Self, Status> {
        let (on_stream, expression) = match &options.filter {
            Some(FilterKind::StreamIdentifier(e)) => (true, e),
            Some(FilterKind::EventType(e)) => (false, e),
            None => return Err(Status::invalid_argument("a filter needs an expression")),
        };
        if !expression.regex.is_empty() {
            return Err(Status::unimplemented(
                "the KurrentDB double implements prefix filters only",
            ));
        }
        let window = match options.window {
            Some(Window::Max(max)) if max > 0 => max,
            _ => DEFAULT_WINDOW,
        };
        Ok(Self {
            on_stream,
            prefixes: expression.prefix.clone(),
            checkpoint_interval: window
                .saturating_mul(options.checkpoint_interval_multiplier.max(1)),
        })
    }

    /// Whether `record` passes.
    pub(crate) fn matches(&self, record: &Record) -> bool {
        let subject = if self.on_stream {
            &record.stream
        } else {
            &record.event_type
        };
        self.prefixes
            .iter()
            .any(|p| subject.starts_with(p.as_str()))
    }
}

/// The error KurrentDB answers for a tombstoned stream; the client reads the `exception` entry.
pub(crate) fn stream_deleted(stream: &str) -> Status {
    with_exception(
        Status::failed_precondition(format!("stream {stream} is deleted")),
        "stream-deleted",
    )
}

/// A delete or tombstone whose expected revision did not hold (a status, unlike appends).
pub(crate) fn wrong_expected_version(stream: &str) -> Status {
    with_exception(
        Status::failed_precondition(format!("wrong expected version for stream {stream}")),
        "wrong-expected-version",
    )
}

fn with_exception(mut status: Status, exception: &'static str) -> Status {
    status
        .metadata_mut()
        .insert("exception", MetadataValue::from_static(exception));
    status
}
