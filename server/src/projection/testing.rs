//! Test support for projections: fold domain events through a projection into a real embedded
//! read store, exactly as the runner commits them (one batch, documents + checkpoint).

use std::sync::Arc;

use tempfile::TempDir;

use super::{BatchView, Projection, ProjectionError, generation};
use crate::{
    kernel::{DomainEvent, EventMetadata},
    readstore::{ReadStore, embedded::EmbeddedReadStore},
    store::RecordedEvent,
};

/// A stored event as the event store would hand it to a projection.
pub fn recorded<E: DomainEvent>(
    stream: &str,
    revision: u64,
    position: u64,
    event: &E,
) -> RecordedEvent {
    let metadata = EventMetadata {
        event_type: event.event_type().to_owned(),
        schema_version: event.schema_version(),
        command_id: format!("test-{position}"),
        correlation_id: format!("test-{position}"),
        causation_id: format!("test-{position}"),
        actor: None,
        tenant: None,
        timestamp: "2026-01-01T00:00:00.000Z".to_owned(),
        traceparent: None,
        fingerprint: None,
    };
    RecordedEvent {
        id: uuid::Uuid::new_v4(),
        stream: stream.to_owned(),
        revision,
        position,
        event_type: event.event_type().to_owned(),
        data: event.encode(),
        metadata: metadata.to_json(),
        created_micros: 0,
    }
}

/// A fresh embedded read store in its own temporary directory.
pub fn read_store() -> (Arc<dyn ReadStore>, TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = EmbeddedReadStore::open(dir.path()).expect("open read store");
    (Arc::new(store), dir)
}

/// Folds `events` through `projection` into `reads` (generation 1) as one committed batch.
pub async fn fold(
    projection: &dyn Projection,
    reads: &dyn ReadStore,
    events: &[RecordedEvent],
) -> Result<(), ProjectionError> {
    let specs: Vec<_> = projection
        .indexes()
        .into_iter()
        .map(|mut spec| {
            spec.collection = generation::collection(&spec.collection, 1);
            spec
        })
        .collect();
    reads.ensure_indexes(&specs).await?;
    let mut view = BatchView::new(reads, 1);
    for event in events {
        projection.apply(event, &mut view).await?;
    }
    let position = events.iter().map(|e| e.position).max().unwrap_or(0);
    let key = generation::checkpoint_key(projection.name(), 1);
    reads.apply(&key, view.into_ops()?, position).await?;
    Ok(())
}

/// The generation-1 document `id` of the logical `collection`.
pub async fn document(
    reads: &dyn ReadStore,
    collection: &str,
    id: &str,
) -> Option<serde_json::Value> {
    reads
        .get(&generation::collection(collection, 1), id)
        .await
        .expect("read store answers")
        .map(|d| d.body)
}
