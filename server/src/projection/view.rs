//! What a projection sees while folding one batch: documents as they will be once the batch's
//! earlier writes are committed. Reads fall through to the store; writes are queued and
//! committed with the checkpoint by the runner.

use std::collections::HashMap;

use serde_json::Value;

use super::{ProjectionError, generation};
use crate::readstore::{Document, ReadStore, ReadStoreError, WriteOp};

/// Reads and queued writes of one batch of one projection generation.
pub struct BatchView<'a> {
    reads: &'a dyn ReadStore,
    generation: u64,
    /// Latest queued state per (physical collection, id); `None` = deleted.
    overlay: HashMap<(String, String), Option<Value>>,
    ops: Vec<WriteOp>,
}

impl<'a> BatchView<'a> {
    /// An empty batch writing to `generation`.
    pub fn new(reads: &'a dyn ReadStore, generation: u64) -> Self {
        Self {
            reads,
            generation,
            overlay: HashMap::new(),
            ops: Vec::new(),
        }
    }

    /// The document `id` of the logical `collection`, including this batch's queued writes.
    pub async fn get(&self, collection: &str, id: &str) -> Result<Option<Value>, ReadStoreError> {
        let physical = generation::collection(collection, self.generation);
        if let Some(queued) = self.overlay.get(&(physical.clone(), id.to_owned())) {
            return Ok(queued.clone());
        }
        Ok(self.reads.get(&physical, id).await?.map(|doc| doc.body))
    }

    /// The document `id` of the logical `collection` read as `T`. A stored body that is not a
    /// `T` means the read model is not what the events made it, which retrying cannot fix.
    pub async fn get_as<T: serde::de::DeserializeOwned>(
        &self,
        collection: &str,
        id: &str,
    ) -> Result<Option<T>, ProjectionError> {
        match self.get(collection, id).await? {
            Some(body) => serde_json::from_value(body).map(Some).map_err(|e| {
                ProjectionError::Inconsistent(format!("{collection}/{id} is malformed: {e}"))
            }),
            None => Ok(None),
        }
    }

    /// Queues an insert-or-replace of document `id`.
    pub fn put(&mut self, collection: &str, id: &str, body: Value) {
        let physical = generation::collection(collection, self.generation);
        self.overlay
            .insert((physical.clone(), id.to_owned()), Some(body.clone()));
        self.ops.push(WriteOp::Upsert {
            collection: physical,
            document: Document {
                id: id.to_owned(),
                body,
            },
        });
    }

    /// Queues the removal of document `id`.
    pub fn delete(&mut self, collection: &str, id: &str) {
        let physical = generation::collection(collection, self.generation);
        self.overlay.insert((physical.clone(), id.to_owned()), None);
        self.ops.push(WriteOp::Delete {
            collection: physical,
            id: id.to_owned(),
        });
    }

    /// How many writes are queued.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Marks where a savepoint is: the runner rolls back to it when one event of the batch fails,
    /// keeping the writes of the events before it.
    pub fn savepoint(&self) -> usize {
        self.ops.len()
    }

    /// Drops the writes queued after `savepoint` and rebuilds the overlay.
    pub fn rollback_to(&mut self, savepoint: usize) {
        self.ops.truncate(savepoint);
        self.overlay.clear();
        for op in &self.ops {
            match op {
                WriteOp::Upsert {
                    collection,
                    document,
                } => {
                    self.overlay.insert(
                        (collection.clone(), document.id.clone()),
                        Some(document.body.clone()),
                    );
                }
                WriteOp::Delete { collection, id } => {
                    self.overlay.insert((collection.clone(), id.clone()), None);
                }
            }
        }
    }

    /// The queued writes, in order, for the runner to commit.
    pub fn into_ops(self) -> Vec<WriteOp> {
        self.ops
    }
}
