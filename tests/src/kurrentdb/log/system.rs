//! What KurrentDB itself writes: the system records a fresh database starts with, and stream
//! metadata (`$$<stream>`, event type `$metadata`).

use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::{METADATA_TYPE, Proposed};

/// Ticks (100 ns) in a second, the unit of `created`.
const TICKS_PER_SECOND: i64 = 10_000_000;

/// The records every fresh log starts with, in order: what a new KurrentDB node writes before
/// any client does (settings, the default users, scavenge history metadata). Their streams and
/// types start with `$`.
pub(super) fn initial_records() -> Vec<(String, Proposed)> {
    let user = |login: &str, full_name: &str, groups: &[&str]| {
        json!({
            "loginName": login,
            "fullName": full_name,
            "salt": "",
            "hash": "",
            "disabled": false,
            "groups": groups,
        })
    };
    let acl = |who: &str| json!({"$r": who, "$w": who, "$d": who, "$mr": who, "$mw": who});
    [
        ("$$$scavenges", METADATA_TYPE, json!({"$maxAge": 2_592_000})),
        (
            "$settings",
            "$settings",
            json!({"$userStreamAcl": acl("$all"), "$systemStreamAcl": acl("$admins")}),
        ),
        ("$users", "$UserCreated", json!("admin")),
        (
            "$user-admin",
            "$user",
            user("admin", "KurrentDB Administrator", &["$admins"]),
        ),
        ("$users", "$UserCreated", json!("ops")),
        (
            "$user-ops",
            "$user",
            user("ops", "KurrentDB Operations", &["$ops"]),
        ),
    ]
    .into_iter()
    .map(|(stream, event_type, data)| {
        let proposed = Proposed {
            id: Uuid::new_v4(),
            event_type: event_type.to_owned(),
            content_type: "application/json".to_owned(),
            custom_metadata: Vec::new(),
            data: data.to_string().into_bytes(),
        };
        (stream.to_owned(), proposed)
    })
    .collect()
}

/// The parts of a stream's metadata that change what reads of it return. Anything else in the
/// metadata (ACLs, custom keys) is kept as written.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Metadata {
    /// `$tb`: revisions below it are gone; [`super::DELETED`] marks a soft-deleted stream.
    pub(crate) truncate_before: Option<u64>,
    /// `$maxCount`: only this many of the newest events are kept.
    pub(crate) max_count: Option<u64>,
    /// `$maxAge`: events older than this many seconds are gone.
    pub(crate) max_age: Option<u64>,
    /// Every other key, as written.
    pub(crate) other: Map<String, Value>,
}

impl Metadata {
    /// Metadata as a client wrote it; what is not a JSON object counts as empty, as KurrentDB
    /// treats metadata it cannot read.
    pub(crate) fn from_json(data: &[u8]) -> Self {
        let Ok(Value::Object(mut object)) = serde_json::from_slice::<Value>(data) else {
            return Self::default();
        };
        let mut take = |key: &str| object.remove(key).and_then(|v| v.as_u64());
        Self {
            truncate_before: take("$tb"),
            max_count: take("$maxCount"),
            max_age: take("$maxAge"),
            other: object,
        }
    }

    /// As stored in `$$<stream>`.
    pub(crate) fn to_json(&self) -> Vec<u8> {
        let mut object = self.other.clone();
        let known = [
            ("$tb", self.truncate_before),
            ("$maxCount", self.max_count),
            ("$maxAge", self.max_age),
        ];
        for (key, value) in known {
            if let Some(value) = value {
                object.insert(key.to_owned(), json!(value));
            }
        }
        Value::Object(object).to_string().into_bytes()
    }

    /// The lowest revision a read returns when the stream's last revision is `last`.
    pub(super) fn first_visible(&self, last: u64) -> u64 {
        let by_count = self
            .max_count
            .map_or(0, |count| (last + 1).saturating_sub(count));
        self.truncate_before.unwrap_or(0).max(by_count)
    }

    /// The oldest `created` a read returns at `now` (100 ns ticks).
    pub(super) fn oldest_visible(&self, now: i64) -> i64 {
        self.max_age.map_or(i64::MIN, |seconds| {
            let age = i64::try_from(seconds).unwrap_or(i64::MAX);
            now.saturating_sub(age.saturating_mul(TICKS_PER_SECOND))
        })
    }
}
