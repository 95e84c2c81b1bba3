//! The stricter rule for stored events. A caller can upgrade; an event written years ago
//! cannot. So a change that proto3 JSON written under the old shape may not read under (a field
//! removed, renamed or retyped, in the event message or any message or enum it contains) must
//! come with a schema-version bump of that event type, and every version below today's needs an
//! upcaster from it to the next.
//!
//! Stored event messages are the top-level messages of `causeway/<context>/v1/events.proto`
//! (DESIGN: "Events are protobuf messages (`proto/causeway/<context>/v1/events.proto`)"); the
//! messages they contain, wherever declared, are held to the same rule through them.

use std::{
    collections::{BTreeMap, BTreeSet},
    fmt,
};

use prost_reflect::{DescriptorPool, Kind, MessageDescriptor};

use super::finding::Finding;

/// Schema version of each stored event type, by full protobuf name.
pub type EventVersions = BTreeMap<String, u32>;

/// The stored event messages of `pool`.
pub fn event_messages(pool: &DescriptorPool) -> Vec<MessageDescriptor> {
    pool.files()
        .filter(|f| f.name().starts_with("causeway/") && f.name().ends_with("/events.proto"))
        .flat_map(|f| f.messages().collect::<Vec<_>>())
        .collect()
}

/// Full names of `message` and of every message and enum its payload can contain.
fn contents(message: &MessageDescriptor) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut todo = vec![message.clone()];
    while let Some(next) = todo.pop() {
        if !seen.insert(next.full_name().to_owned()) {
            continue;
        }
        for field in next.fields() {
            match field.kind() {
                Kind::Message(inner) => todo.push(inner),
                Kind::Enum(e) => {
                    seen.insert(e.full_name().to_owned());
                }
                _ => {}
            }
        }
    }
    seen
}

/// A stored event type the rule refuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventFinding {
    /// Full protobuf name of the event type.
    pub event_type: String,
    /// What is wrong.
    pub problem: EventProblem,
}

/// Why old payloads of an event type would not read today.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventProblem {
    /// The event message is gone from the contracts, so its stored events have no type.
    Removed,
    /// Its shape changed in a way stored JSON may not read under, at an unchanged version.
    ChangedWithoutBump {
        /// The schema version both shapes claim.
        version: u32,
        /// The changes, each as `element: change`.
        changes: Vec<String>,
    },
    /// Today's schema version is below the baseline's.
    VersionLowered {
        /// The baseline's version.
        from: u32,
        /// Today's.
        to: u32,
    },
    /// Nothing upcasts payloads of this version to the next one.
    NoUpcaster {
        /// The version payloads are stored at.
        from: u32,
    },
    /// Today's schema version is unknown: no fixture of this type decodes.
    NoVersion,
}

impl fmt::Display for EventFinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.event_type)?;
        match &self.problem {
            EventProblem::Removed => {
                write!(f, "event message removed; its stored events no longer read")
            }
            EventProblem::ChangedWithoutBump { version, changes } => write!(
                f,
                "changed shape at schema version {version} without a version bump and an \
                 upcaster from {version}: {}",
                changes.join("; ")
            ),
            EventProblem::VersionLowered { from, to } => {
                write!(f, "schema version went down from {from} to {to}")
            }
            EventProblem::NoUpcaster { from } => write!(
                f,
                "no upcaster from schema version {from} to {}: payloads stored at {from} read \
                 as if current",
                from + 1
            ),
            EventProblem::NoVersion => write!(
                f,
                "today's schema version is unknown (no fixture of this type decodes)"
            ),
        }
    }
}

/// Today's event contracts and versions held against a baseline's.
pub struct EventRule<'a> {
    /// The baseline's descriptors.
    pub baseline: &'a DescriptorPool,
    /// The schema versions recorded with the baseline (absent means 1).
    pub baseline_versions: &'a EventVersions,
    /// Today's descriptors.
    pub current: &'a DescriptorPool,
    /// Today's schema versions.
    pub current_versions: &'a EventVersions,
    /// Whether an upcaster reads `(event type, version)` into the next version.
    pub has_upcaster: &'a dyn Fn(&str, u32) -> bool,
}

/// Every event type `rule` refuses, given the contract `findings` from baseline to today.
pub fn stored_event_findings(rule: &EventRule<'_>, findings: &[Finding]) -> Vec<EventFinding> {
    let mut out = Vec::new();
    let mut push = |event_type: &str, problem| {
        out.push(EventFinding {
            event_type: event_type.to_owned(),
            problem,
        })
    };
    for event in event_messages(rule.baseline) {
        let name = event.full_name();
        if rule.current.get_message_by_name(name).is_none() {
            push(name, EventProblem::Removed);
            continue;
        }
        let Some(&now) = rule.current_versions.get(name) else {
            continue; // reported below, with today's event types
        };
        let was = rule.baseline_versions.get(name).copied().unwrap_or(1);
        let inside = contents(&event);
        let changes: Vec<String> = findings
            .iter()
            .filter(|f| inside.contains(&f.element) && f.change.breaks_stored_json())
            .map(ToString::to_string)
            .collect();
        if now < was {
            push(name, EventProblem::VersionLowered { from: was, to: now });
        } else if now == was && !changes.is_empty() {
            push(
                name,
                EventProblem::ChangedWithoutBump {
                    version: now,
                    changes,
                },
            );
        }
    }
    for event in event_messages(rule.current) {
        let name = event.full_name();
        let Some(&now) = rule.current_versions.get(name) else {
            push(name, EventProblem::NoVersion);
            continue;
        };
        for from in (1..now).filter(|&v| !(rule.has_upcaster)(name, v)) {
            push(name, EventProblem::NoUpcaster { from });
        }
    }
    out
}
