//! Test support for the history queries: an embedded event store holding given events, and a
//! [`History`] over it, so that `asOf` answers can be checked against the same events a read
//! model was folded from.

use std::{path::Path, sync::Arc};

use super::{Converter, History};
use crate::store::{
    EventStore, ExpectedRevision, NewEvent, RecordedEvent,
    embedded::{Durability, EmbeddedEventStore},
};

/// A [`History`] over an embedded event store in `dir` into which `events` were appended, each
/// to its own stream in the order given (positions are the store's own).
pub async fn history_of(dir: &Path, events: &[RecordedEvent]) -> History {
    let store = EmbeddedEventStore::open(dir, Durability::Relaxed).expect("open the event store");
    for event in events {
        let new = NewEvent {
            id: event.id,
            event_type: event.event_type.clone(),
            data: event.data.clone(),
            metadata: event.metadata.clone(),
        };
        store
            .append(&event.stream, ExpectedRevision::Any, vec![new])
            .await
            .expect("append a test event");
    }
    let converter = Converter::new(
        Arc::new(crate::server::upcasters()),
        causeway_proto::FILE_DESCRIPTOR_SET,
    )
    .expect("the contracts' descriptors");
    History::new(Arc::new(store), converter)
}
