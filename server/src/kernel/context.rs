//! What a command carries besides its payload, and what it answers: the context the edge
//! builds once per request, the acknowledgement, and where a stream stands.

use super::EventMetadata;

/// Who sent a command and how it must be applied; built once by the gRPC edge.
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
    /// A digest of the request without its options (and without secrets): a repeated command
    /// id whose request differs is refused instead of answered with the first one's ack.
    /// `None` (internal callers, tests) skips the check.
    pub fingerprint: Option<String>,
}

impl CommandContext {
    /// A context with only a command id, as tests and internal callers need.
    pub fn new(command_id: impl Into<String>) -> Self {
        Self {
            command_id: command_id.into(),
            ..Self::default()
        }
    }

    /// The metadata stored with each event the command appends.
    pub(super) fn metadata(
        &self,
        event_type: &str,
        schema_version: u32,
        timestamp: &str,
    ) -> EventMetadata {
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
            fingerprint: self.fingerprint.clone(),
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

/// Where a stream stands: its last event's revision and global position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    /// Revision of the stream's last event.
    pub revision: u64,
    /// Global position of that event.
    pub position: u64,
}

impl Head {
    /// The acknowledgement of a command that left `stream` at this head.
    pub(super) fn ack(self, stream: &str, deduplicated: bool) -> Ack {
        Ack {
            stream_id: stream.to_owned(),
            revision: self.revision,
            position: self.position,
            deduplicated,
        }
    }
}
