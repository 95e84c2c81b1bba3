//! Committed samples of stored events, one per event type and schema version it ever had:
//! `tests/fixtures/events/<event type>/v<version>.json`, each `{"metadata": .., "data": ..}`
//! exactly as the store holds them. Each is decoded as the server reads a stored event (its
//! upcasters, then its context's decoder) and must come out as today's message, the very
//! payload today's server writes for that event.
//!
//! The fixtures are also how the gate learns what only the server knows: today's schema version
//! of each event type (asked of the decoded domain event) and whether an upcaster exists for a
//! version (the server's registry answers a payload with no step unchanged).

use std::{
    borrow::Cow,
    collections::{BTreeMap, BTreeSet},
    fmt,
    path::Path,
};

use causeway_server::{
    fulfilment::FulfilmentEvent,
    identity::domain::{EmailEvent, UserEvent},
    inventory::ProductEvent,
    kernel::{DecodeError, DomainEvent, EventMetadata, Upcasters},
    orders::OrderEvent,
    store::RecordedEvent,
};
use prost_reflect::{
    DescriptorPool, DynamicMessage, MessageDescriptor, ReflectMessage, Value as Field,
};
use serde_json::Value;

use super::{ContractError, events::EventVersions, events::event_messages};

/// One stored event sample.
#[derive(Debug, Clone)]
pub struct Fixture {
    /// `<event type>/v<version>.json`, for reports.
    pub name: String,
    /// Full protobuf name of the payload (the directory).
    pub event_type: String,
    /// The schema version it was written at (the file name).
    pub version: u32,
    /// Metadata JSON as stored.
    pub metadata: Vec<u8>,
    /// Payload JSON as stored.
    pub data: Vec<u8>,
}

/// Every fixture under `dir`, ordered by event type and version.
pub fn load(dir: &Path) -> Result<Vec<Fixture>, ContractError> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(ContractError::io(dir))? {
        let type_dir = entry.map_err(ContractError::io(dir))?.path();
        let event_type = file_name(&type_dir);
        for file in std::fs::read_dir(&type_dir).map_err(ContractError::io(&type_dir))? {
            let path = file.map_err(ContractError::io(&type_dir))?.path();
            let version = file_name(&path)
                .strip_prefix('v')
                .and_then(|v| v.strip_suffix(".json"))
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| ContractError::malformed(&path, "expected v<version>.json"))?;
            let text = std::fs::read(&path).map_err(ContractError::io(&path))?;
            let json: Value =
                serde_json::from_slice(&text).map_err(|e| ContractError::malformed(&path, e))?;
            let part = |key: &str| match json.get(key) {
                Some(v @ Value::Object(_)) => Ok(v.to_string().into_bytes()),
                _ => Err(ContractError::malformed(
                    &path,
                    format!("no `{key}` object"),
                )),
            };
            out.push(Fixture {
                name: format!("{event_type}/{}", file_name(&path)),
                event_type: event_type.clone(),
                version,
                metadata: part("metadata")?,
                data: part("data")?,
            });
        }
    }
    out.sort_by(|a, b| (&a.event_type, a.version).cmp(&(&b.event_type, b.version)));
    Ok(out)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// What a fixture (or the set of them) gets wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
// Each variant's doc says what its fields (`from`, `to`, `number`, ...) are.
#[allow(missing_docs)]
pub enum FixtureProblem {
    /// A stored event message has no fixture at all.
    NoFixtures { event_type: String },
    /// A version from 1 to today's has no fixture.
    MissingVersion { event_type: String, version: u32 },
    /// A fixture claims a version above today's.
    BeyondCurrent { fixture: String, current: u32 },
    /// The metadata does not match the file's place, or is not what the server writes.
    Mislabelled { fixture: String, reason: String },
    /// The server cannot read it.
    Undecodable { fixture: String, error: String },
    /// The server reads it as another event type.
    WrongType { fixture: String, decoded_as: String },
    /// The upcast payload is not today's message, or not what today's server writes for it.
    NotTodaysMessage { fixture: String, reason: String },
    /// The sample at today's version leaves fields unset, so a change to them would go unseen.
    Incomplete { fixture: String, unset: Vec<String> },
}

impl fmt::Display for FixtureProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoFixtures { event_type } => write!(
                f,
                "{event_type}: no fixture; add {event_type}/v1.json with every field set"
            ),
            Self::MissingVersion {
                event_type,
                version,
            } => write!(f, "{event_type}: no fixture of schema version {version}"),
            Self::BeyondCurrent { fixture, current } => {
                write!(f, "{fixture}: today's schema version is {current}")
            }
            Self::Mislabelled { fixture, reason } => write!(f, "{fixture}: {reason}"),
            Self::Undecodable { fixture, error } => {
                write!(f, "{fixture}: the server cannot read it: {error}")
            }
            Self::WrongType {
                fixture,
                decoded_as,
            } => write!(f, "{fixture}: the server reads it as {decoded_as}"),
            Self::NotTodaysMessage { fixture, reason } => write!(f, "{fixture}: {reason}"),
            Self::Incomplete { fixture, unset } => write!(
                f,
                "{fixture}: fields left unset (set each to a non-default value): {}",
                unset.join(", ")
            ),
        }
    }
}

/// What the fixtures showed.
#[derive(Debug, Default)]
pub struct FixtureCheck {
    /// Today's schema version of each event type with a decodable fixture.
    pub versions: EventVersions,
    /// The fixtures that decoded to today's message, as (event type, version).
    pub decoded: Vec<(String, u32)>,
    /// Everything wrong.
    pub problems: Vec<FixtureProblem>,
}

/// Decodes every fixture through `upcasters` and checks the set against today's contracts.
pub fn verify(
    fixtures: &[Fixture],
    upcasters: &Upcasters,
    current: &DescriptorPool,
) -> FixtureCheck {
    let mut check = FixtureCheck::default();
    let mut seen: BTreeMap<&str, BTreeSet<u32>> = BTreeMap::new();
    for fixture in fixtures {
        seen.entry(&fixture.event_type)
            .or_default()
            .insert(fixture.version);
        match read(fixture, upcasters, current) {
            Ok(version) => {
                check.versions.insert(fixture.event_type.clone(), version);
                check
                    .decoded
                    .push((fixture.event_type.clone(), fixture.version));
            }
            Err(problem) => check.problems.push(problem),
        }
    }
    for event in event_messages(current) {
        let event_type = event.full_name().to_owned();
        let Some(versions) = seen.get(event_type.as_str()) else {
            check
                .problems
                .push(FixtureProblem::NoFixtures { event_type });
            continue;
        };
        let Some(&today) = check.versions.get(&event_type) else {
            continue; // every fixture of it failed, each reported
        };
        for version in (1..=today).filter(|v| !versions.contains(v)) {
            let event_type = event_type.clone();
            check.problems.push(FixtureProblem::MissingVersion {
                event_type,
                version,
            });
        }
        for fixture in fixtures.iter().filter(|f| f.event_type == event_type) {
            if fixture.version > today {
                check.problems.push(FixtureProblem::BeyondCurrent {
                    fixture: fixture.name.clone(),
                    current: today,
                });
            } else if fixture.version == today {
                complete(fixture, &event, &mut check.problems);
            }
        }
    }
    check
}

/// Whether the server has an upcaster from `version` of `event_type`: with no step, its
/// registry hands any payload back unchanged and borrowed.
pub fn has_upcaster(upcasters: &Upcasters, event_type: &str, version: u32) -> bool {
    !matches!(
        upcasters.upcast(event_type, version, b"{}"),
        Ok(Cow::Borrowed(_))
    )
}

/// Today's schema version of the fixture's event type, read as the server reads it.
fn read(
    fixture: &Fixture,
    upcasters: &Upcasters,
    current: &DescriptorPool,
) -> Result<u32, FixtureProblem> {
    let name = || fixture.name.clone();
    let mislabelled = |reason: String| FixtureProblem::Mislabelled {
        fixture: name(),
        reason,
    };
    let metadata = EventMetadata::from_json(&fixture.metadata)
        .map_err(|e| mislabelled(format!("metadata is not what the server writes: {e}")))?;
    if metadata.event_type != fixture.event_type || metadata.schema_version != fixture.version {
        return Err(mislabelled(format!(
            "metadata says {} version {}",
            metadata.event_type, metadata.schema_version
        )));
    }
    let record = RecordedEvent {
        id: uuid::Uuid::nil(),
        stream: "fixture-0".to_owned(),
        revision: 0,
        position: 1,
        event_type: fixture.event_type.clone(),
        data: fixture.data.clone(),
        metadata: fixture.metadata.clone(),
        created_micros: 0,
    };
    let decoded = decode(upcasters, &record).map_err(|e| FixtureProblem::Undecodable {
        fixture: name(),
        error: e.to_string(),
    })?;
    if decoded.event_type != fixture.event_type {
        return Err(FixtureProblem::WrongType {
            fixture: name(),
            decoded_as: decoded.event_type.to_owned(),
        });
    }
    let not_today = |reason: String| FixtureProblem::NotTodaysMessage {
        fixture: name(),
        reason,
    };
    let message = current
        .get_message_by_name(&fixture.event_type)
        .ok_or_else(|| not_today("no such message in proto/".to_owned()))?;
    let upcast = upcasters
        .upcast(&fixture.event_type, fixture.version, &fixture.data)
        .map_err(|e| not_today(e.to_string()))?;
    let read = todays(&message, &upcast).map_err(|e| not_today(format!("upcast payload: {e}")))?;
    let written =
        todays(&message, &decoded.written).map_err(|e| not_today(format!("re-encoded: {e}")))?;
    if read != written {
        return Err(not_today(format!(
            "reads as {read} but today's server writes that event as {written}"
        )));
    }
    Ok(decoded.schema_version)
}

/// What the server made of a stored event.
struct Decoded {
    event_type: &'static str,
    schema_version: u32,
    written: Vec<u8>,
}

/// Reads `record` with the decoder of whichever context knows its type. A context added later
/// shows up here as an `UnknownType` for its fixtures until it is listed.
fn decode(upcasters: &Upcasters, record: &RecordedEvent) -> Result<Decoded, DecodeError> {
    fn read_as<E: DomainEvent>(
        upcasters: &Upcasters,
        record: &RecordedEvent,
    ) -> Option<Result<Decoded, DecodeError>> {
        match upcasters.decode::<E>(record) {
            Err(DecodeError::UnknownType(_)) => None,
            Err(e) => Some(Err(e)),
            Ok(event) => Some(Ok(Decoded {
                event_type: event.event_type(),
                schema_version: event.schema_version(),
                written: event.encode(),
            })),
        }
    }
    read_as::<OrderEvent>(upcasters, record)
        .or_else(|| read_as::<ProductEvent>(upcasters, record))
        .or_else(|| read_as::<UserEvent>(upcasters, record))
        .or_else(|| read_as::<EmailEvent>(upcasters, record))
        .or_else(|| read_as::<FulfilmentEvent>(upcasters, record))
        .unwrap_or_else(|| Err(DecodeError::UnknownType(record.event_type.clone())))
}

/// `json` as today's `message` (unknown fields refused), in canonical proto3 JSON.
fn todays(message: &MessageDescriptor, json: &[u8]) -> Result<Value, String> {
    let mut reader = serde_json::Deserializer::from_slice(json);
    let decoded =
        DynamicMessage::deserialize(message.clone(), &mut reader).map_err(|e| e.to_string())?;
    reader.end().map_err(|e| e.to_string())?;
    serde_json::to_value(&decoded).map_err(|e| e.to_string())
}

/// Reports the fields (recursively) the fixture leaves at their defaults.
fn complete(fixture: &Fixture, message: &MessageDescriptor, out: &mut Vec<FixtureProblem>) {
    let mut reader = serde_json::Deserializer::from_slice(&fixture.data);
    let Ok(decoded) = DynamicMessage::deserialize(message.clone(), &mut reader) else {
        return; // reported by `read`
    };
    let mut unset = Vec::new();
    unset_fields(&decoded, "", &mut unset);
    if !unset.is_empty() {
        out.push(FixtureProblem::Incomplete {
            fixture: fixture.name.clone(),
            unset,
        });
    }
}

fn unset_fields(message: &DynamicMessage, prefix: &str, out: &mut Vec<String>) {
    let descriptor = message.descriptor();
    for oneof in descriptor.oneofs().filter(|o| !o.is_synthetic()) {
        if !oneof.fields().any(|f| message.has_field(&f)) {
            out.push(format!("{prefix}{} (any member)", oneof.name()));
        }
    }
    for field in descriptor.fields() {
        let in_oneof = field.containing_oneof().is_some_and(|o| !o.is_synthetic());
        let path = format!("{prefix}{}", field.json_name());
        if !message.has_field(&field) {
            if !in_oneof {
                out.push(path);
            }
            continue;
        }
        match &*message.get_field(&field) {
            Field::Message(inner) => unset_fields(inner, &format!("{path}."), out),
            Field::List(items) => {
                for (i, item) in items.iter().enumerate() {
                    if let Field::Message(inner) = item {
                        unset_fields(inner, &format!("{path}[{i}]."), out);
                    }
                }
            }
            _ => {}
        }
    }
}
