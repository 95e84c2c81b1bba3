//! The JSON metadata stored beside every event: enough to trace any fact back to the command,
//! the flow and the caller that caused it, and to upcast its payload.

use serde::{Deserialize, Serialize};

/// Metadata of one stored event (JSON, camelCase keys).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventMetadata {
    /// Full protobuf name of the payload.
    pub event_type: String,
    /// Schema version of the payload as written; older versions are upcast on read.
    pub schema_version: u32,
    /// The command that produced the event (the idempotency key).
    pub command_id: String,
    /// The business flow this event belongs to.
    pub correlation_id: String,
    /// What directly caused the event: the command id.
    pub causation_id: String,
    /// Who asked, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// On whose behalf, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// When the command was handled, RFC 3339.
    pub timestamp: String,
    /// W3C trace context of the request that caused the event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
    /// Digest of the request that caused the event (see `CommandContext::fingerprint`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
}

impl EventMetadata {
    /// The JSON bytes stored with the event.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("metadata is plain strings and numbers")
    }

    /// Metadata read back from the store. Missing optional keys are tolerated; a missing schema
    /// version means 1, the version every event type starts at.
    pub fn from_json(json: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(json)
    }

    /// The request fingerprint stored in `json`, if any.
    pub fn fingerprint_of(json: &[u8]) -> Option<String> {
        #[derive(Deserialize)]
        struct Fingerprint {
            fingerprint: Option<String>,
        }
        serde_json::from_slice::<Fingerprint>(json)
            .ok()
            .and_then(|f| f.fingerprint)
    }

    /// The schema version stored in `json`, 1 when absent or unreadable.
    pub fn schema_version_of(json: &[u8]) -> u32 {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Version {
            schema_version: Option<u32>,
        }
        serde_json::from_slice::<Version>(json)
            .ok()
            .and_then(|v| v.schema_version)
            .unwrap_or(1)
    }
}
