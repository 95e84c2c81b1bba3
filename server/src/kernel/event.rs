//! How a context's domain events cross into storage: each event names its protobuf type and
//! schema version, and turns into / back from proto3 JSON. Implementations live in each context's
//! `events.rs`, keeping protobuf types out of the domain.

/// A domain event that can be stored.
pub trait DomainEvent: Sized + Send + Sync + 'static {
    /// Full protobuf name of the payload, e.g. `causeway.orders.v1.OrderPlaced`.
    fn event_type(&self) -> &'static str;

    /// Current schema version of this event's type; stored in metadata so readers can upcast.
    fn schema_version(&self) -> u32 {
        1
    }

    /// Proto3 JSON of the payload.
    fn encode(&self) -> Vec<u8>;

    /// The event from a (current-version) proto3 JSON payload of `event_type`.
    fn decode(event_type: &str, data: &[u8]) -> Result<Self, DecodeError>;
}

/// A stored event that cannot be read back as a domain event.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The type is not one this reader knows.
    #[error("unknown event type {0}")]
    UnknownType(String),
    /// The payload is not valid proto3 JSON of its type.
    #[error("malformed {event_type} payload: {reason}")]
    Malformed {
        /// The event's type.
        event_type: String,
        /// What was wrong.
        reason: String,
    },
    /// The payload decoded but breaks an invariant of the domain (e.g. an unknown status).
    #[error("invalid {event_type}: {reason}")]
    Invalid {
        /// The event's type.
        event_type: String,
        /// What was wrong.
        reason: String,
    },
}

impl DecodeError {
    /// A payload that decoded but holds a value the domain cannot represent.
    pub fn invalid(event_type: &str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            event_type: event_type.to_owned(),
            reason: reason.into(),
        }
    }
}
