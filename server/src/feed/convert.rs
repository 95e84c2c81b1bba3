//! A stored event as consumers receive it: the payload upcast to its type's newest schema and
//! turned from the stored proto3 JSON into the protobuf message inside a `google.protobuf.Any`,
//! with the metadata Causeway recorded beside it.
//!
//! The JSON -> protobuf step uses the serde impls generated for every stored event message
//! (`causeway_proto::event_json_to_protobuf`), so it costs about what decoding an aggregate's
//! event costs. Fields the contract marks `(causeway.events.v1.withheld)` (a password hash)
//! are cleared afterwards through the message's descriptor: only those few types pay for it.

use std::{collections::HashMap, sync::Arc};

use causeway_proto::{
    STORED_EVENT_TYPES, event_json_to_protobuf,
    events::{EventMetadata as ProtoMetadata, FeedEvent},
};
use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor, Value};
use prost_types::{Any, Timestamp};

use super::FeedError;
use crate::{
    auth::access::AccessError,
    kernel::{EventMetadata, Upcasters},
    store::RecordedEvent,
};

/// The field option that keeps a value inside the event store.
pub const WITHHELD_OPTION: &str = "causeway.events.v1.withheld";
/// The prefix of a `google.protobuf.Any` type URL.
pub const TYPE_URL_PREFIX: &str = "type.googleapis.com/";

/// Turns recorded events into `FeedEvent`s. Cheap to clone.
#[derive(Clone)]
pub struct Converter {
    upcasters: Arc<Upcasters>,
    /// Event types with withheld fields: the descriptor to clear them through, and their numbers.
    withheld: Arc<HashMap<String, (MessageDescriptor, Vec<u32>)>>,
}

impl std::fmt::Debug for Converter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Converter")
            .field("withheld", &self.withheld.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Converter {
    /// A converter upcasting with `upcasters` and withholding what the contracts in
    /// `descriptors` (an encoded `FileDescriptorSet`) mark withheld.
    pub fn new(upcasters: Arc<Upcasters>, descriptors: &[u8]) -> Result<Self, AccessError> {
        let pool = DescriptorPool::decode(descriptors)
            .map_err(|e| AccessError::Descriptors(e.to_string()))?;
        let option = pool.get_extension_by_name(WITHHELD_OPTION);
        let mut withheld = HashMap::new();
        for event_type in STORED_EVENT_TYPES {
            let (Some(option), Some(message)) = (&option, pool.get_message_by_name(event_type))
            else {
                continue;
            };
            let numbers: Vec<u32> = message
                .fields()
                .filter(|field| {
                    let options = field.options();
                    options.has_extension(option)
                        && matches!(options.get_extension(option).as_ref(), Value::Bool(true))
                })
                .map(|field| field.number())
                .collect();
            if !numbers.is_empty() {
                withheld.insert((*event_type).to_owned(), (message, numbers));
            }
        }
        Ok(Self {
            upcasters,
            withheld: Arc::new(withheld),
        })
    }

    /// The upcasters this converter reads with (history folds use the same ones).
    pub fn upcasters(&self) -> &Arc<Upcasters> {
        &self.upcasters
    }

    /// `record` as consumers receive it.
    pub fn event(&self, record: &RecordedEvent) -> Result<FeedEvent, FeedError> {
        let corrupt = |why: String| {
            FeedError::Corrupt(format!(
                "{} at {}@{} (position {}): {why}",
                record.event_type, record.stream, record.revision, record.position
            ))
        };
        let metadata = EventMetadata::from_json(&record.metadata)
            .map_err(|e| corrupt(format!("metadata: {e}")))?;
        let payload = self
            .payload(record, metadata.schema_version)
            .map_err(corrupt)?;
        Ok(FeedEvent {
            position: record.position,
            stream: record.stream.clone(),
            revision: record.revision,
            event_id: record.id.to_string(),
            event_type: record.event_type.clone(),
            payload: Some(Any {
                type_url: format!("{TYPE_URL_PREFIX}{}", record.event_type),
                value: payload,
            }),
            recorded_at: Some(micros_timestamp(record.created_micros)),
            metadata: Some(ProtoMetadata {
                time: humantime::parse_rfc3339_weak(&metadata.timestamp)
                    .ok()
                    .map(Timestamp::from),
                command_id: metadata.command_id,
                correlation_id: metadata.correlation_id,
                causation_id: metadata.causation_id,
                schema_version: metadata.schema_version,
                actor: metadata.actor.unwrap_or_default(),
                tenant: metadata.tenant.unwrap_or_default(),
                traceparent: metadata.traceparent.unwrap_or_default(),
            }),
        })
    }

    /// The protobuf bytes of `record`'s payload at its type's newest schema.
    fn payload(&self, record: &RecordedEvent, version: u32) -> Result<Vec<u8>, String> {
        let json = self
            .upcasters
            .upcast(&record.event_type, version, &record.data)
            .map_err(|e| e.to_string())?;
        let mut reader = serde_json::Deserializer::from_slice(&json);
        let bytes = event_json_to_protobuf(&record.event_type, &mut reader)
            .ok_or_else(|| "not an event type of this server's contracts".to_owned())?
            .and_then(|bytes| reader.end().map(|()| bytes))
            .map_err(|e| format!("payload: {e}"))?;
        match self.withheld.get(&record.event_type) {
            None => Ok(bytes),
            Some((descriptor, numbers)) => {
                let mut message = DynamicMessage::decode(descriptor.clone(), bytes.as_slice())
                    .map_err(|e| format!("payload: {e}"))?;
                for number in numbers {
                    message.clear_field_by_number(*number);
                }
                Ok(message.encode_to_vec())
            }
        }
    }
}

/// A store commit time (microseconds since the Unix epoch) as a protobuf timestamp.
pub fn micros_timestamp(micros: i64) -> Timestamp {
    Timestamp {
        seconds: micros.div_euclid(1_000_000),
        // Always within 0..1_000_000_000, so the cast is exact.
        nanos: (micros.rem_euclid(1_000_000) * 1_000) as i32,
    }
}

/// A protobuf timestamp as microseconds since the Unix epoch (sub-microsecond parts dropped),
/// `None` when it is not a valid timestamp.
pub fn timestamp_micros(timestamp: &Timestamp) -> Option<i64> {
    if !(0..1_000_000_000).contains(&timestamp.nanos) {
        return None;
    }
    timestamp
        .seconds
        .checked_mul(1_000_000)?
        .checked_add(i64::from(timestamp.nanos / 1_000))
}

#[cfg(test)]
mod tests;
