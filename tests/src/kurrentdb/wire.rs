//! How the protocol encodes the double's records, ids, positions, filters and errors.

use std::{collections::HashMap, sync::Arc};

use regex::Regex;
use tonic::{
    Status,
    metadata::{MetadataMap, MetadataValue},
};
use uuid::Uuid;

use super::protocol::event_store::client::Uuid as WireUuid;
use super::{
    log::{LINK_TYPE, Log, Record},
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

/// Events a filtered subscription considers per catch-up page, and between checkpoints, when the
/// client names no window (KurrentDB's read batch size).
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

/// One entry of a read or subscription: a recorded event, or a link with (when the reader asked
/// for links to be resolved and the target is readable) the event it points to.
pub(crate) struct Entry {
    /// The record in the log at this place (the link itself, for a link).
    pub(crate) original: Arc<Record>,
    /// The link's target, when resolved.
    pub(crate) target: Option<Arc<Record>>,
    /// Whether the reader asked for links to be resolved.
    pub(crate) resolving: bool,
}

/// The entry for `record`, resolving it if it is a link and the reader asked for that.
pub(crate) fn entry(log: &Log, record: &Arc<Record>, resolving: bool) -> Entry {
    Entry {
        original: Arc::clone(record),
        target: resolving.then(|| log.resolve(record)).flatten(),
        resolving,
    }
}

/// One entry as a read or subscription sends it. A resolved link carries its target as the
/// event and itself as the link; a link that could not be resolved carries only the link.
pub(crate) fn event(entry: &Entry, ids: UuidFormat) -> ReadResp {
    let is_link = entry.original.event_type == LINK_TYPE;
    let (event, link) = match &entry.target {
        Some(target) => (
            Some(recorded(target, ids)),
            Some(recorded(&entry.original, ids)),
        ),
        None if entry.resolving && is_link => (None, Some(recorded(&entry.original, ids))),
        None => (Some(recorded(&entry.original, ids)), None),
    };
    content(read_resp::Content::Event(ReadEvent {
        event,
        link,
        position: Some(read_event::Position::CommitPosition(
            entry.original.position,
        )),
    }))
}

fn recorded(record: &Record, ids: UuidFormat) -> read_event::RecordedEvent {
    let metadata = HashMap::from([
        ("type".to_owned(), record.event_type.clone()),
        ("content-type".to_owned(), record.content_type.clone()),
        ("created".to_owned(), record.created.to_string()),
    ]);
    read_event::RecordedEvent {
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
    }
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

/// A server-side filter on the stream name or the event type: a regular expression if the
/// request has one (searched anywhere in the subject, as .NET's `Regex.IsMatch` does), else a
/// list of prefixes.
#[derive(Debug, Clone)]
pub(crate) struct Filter {
    on_stream: bool,
    rule: Rule,
    /// Events considered per page of a subscription's catch-up (the search window).
    pub(crate) window: u32,
    /// Events considered between two checkpoints of a subscription: window x multiplier.
    pub(crate) checkpoint_interval: u32,
}

#[derive(Debug, Clone)]
enum Rule {
    Regex(Regex),
    Prefixes(Vec<String>),
}

impl Filter {
    /// The filter a request asks for; a malformed expression is INVALID_ARGUMENT.
    pub(crate) fn from_options(options: &FilterOptions) -> Result<Self, Status> {
        let (on_stream, expression) = match &options.filter {
            Some(FilterKind::StreamIdentifier(e)) => (true, e),
            Some(FilterKind::EventType(e)) => (false, e),
            None => return Err(Status::invalid_argument("a filter needs an expression")),
        };
        let rule = if expression.regex.is_empty() {
            Rule::Prefixes(expression.prefix.clone())
        } else {
            let regex = Regex::new(&expression.regex).map_err(|_| {
                Status::invalid_argument("the filter's regular expression is malformed")
            })?;
            Rule::Regex(regex)
        };
        let window = match options.window {
            Some(Window::Max(max)) if max > 0 => max,
            _ => DEFAULT_WINDOW,
        };
        Ok(Self {
            on_stream,
            rule,
            window,
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
        match &self.rule {
            Rule::Regex(regex) => regex.is_match(subject),
            Rule::Prefixes(prefixes) => prefixes.iter().any(|p| subject.starts_with(p.as_str())),
        }
    }
}

/// The error KurrentDB answers for a deleted stream: `exception` and `stream-name` trailers.
pub(crate) fn stream_deleted(stream: &str) -> Status {
    let mut status = Status::failed_precondition(format!("Event stream '{stream}' is deleted."));
    let metadata = status.metadata_mut();
    metadata.insert("exception", MetadataValue::from_static("stream-deleted"));
    insert(metadata, "stream-name", stream);
    status
}

/// A delete or tombstone whose expected revision did not hold (a status, unlike appends), with
/// the `stream-name`, `expected-version` (-2 any, -1 no stream, -4 stream exists, else the
/// revision) and `actual-version` (-1 when the stream has no events) trailers.
pub(crate) fn wrong_expected_version(
    operation: &str,
    stream: &str,
    expected: i64,
    actual: Option<u64>,
) -> Status {
    let actual = actual.map_or(-1, |r| i64::try_from(r).unwrap_or(i64::MAX));
    let mut status = Status::failed_precondition(format!(
        "{operation} failed due to WrongExpectedVersion. Stream: {stream}, \
         Expected version: {expected}, Actual version: {actual}"
    ));
    let metadata = status.metadata_mut();
    metadata.insert(
        "exception",
        MetadataValue::from_static("wrong-expected-version"),
    );
    insert(metadata, "stream-name", stream);
    insert(metadata, "expected-version", &expected.to_string());
    insert(metadata, "actual-version", &actual.to_string());
    status
}

/// Adds an ASCII trailer; a value that cannot be one (a stream name with control characters)
/// is percent-escaped rather than dropped.
fn insert(metadata: &mut MetadataMap, key: &'static str, value: &str) {
    let value = MetadataValue::try_from(value).unwrap_or_else(|_| {
        let escaped: String = value
            .bytes()
            .map(|b| match b {
                0x20..=0x7e if b != b'%' => char::from(b).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect();
        MetadataValue::try_from(escaped.as_str()).unwrap_or_else(|_| MetadataValue::from_static(""))
    });
    metadata.insert(key, value);
}
