//! What a projection sees while folding one batch: documents as they will be once the batch's
//! earlier writes are committed. Reads fall through to the store; writes are queued and
//! committed with the checkpoint by the runner.
//!
//! Only the last write to a document is committed: a catch-up batch of 1,000 events over a handful
//! of streams folds each document many times, and writing every intermediate state would make
//! the read store, not the projection, the bottleneck of a replay. Final writes are committed in
//! the order their documents were first written. A unique index can still refuse that order
//! where the one-by-one history would have passed (two documents swapping a unique value); the
//! runner then applies the batch event by event, so nothing is lost, only that batch is slower.
//!
//! Documents written with [`BatchView::put_as`] stay typed until the batch is committed, so a
//! projection folding one document many times pays for JSON once per batch, not per event.

use std::{any::Any, collections::HashMap};

use serde_json::Value;

use super::{ProjectionError, generation};
use crate::readstore::{Document, ReadStore, WriteOp};

/// A document a projection queued as its own type; turned into JSON when the batch commits.
trait TypedDocument: Send + Sync {
    fn as_any(&self) -> &dyn Any;
    fn to_json(&self) -> Result<Value, serde_json::Error>;
}

impl<T: serde::Serialize + Send + Sync + 'static> TypedDocument for T {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn to_json(&self) -> Result<Value, serde_json::Error> {
        serde_json::to_value(self)
    }
}

/// The state of a document this batch wrote.
enum Queued {
    Json(Value),
    Typed(Box<dyn TypedDocument>),
    Deleted,
}

impl Queued {
    fn to_json(&self, collection: &str, id: &str) -> Result<Option<Value>, ProjectionError> {
        match self {
            Self::Json(body) => Ok(Some(body.clone())),
            Self::Typed(doc) => doc
                .to_json()
                .map(Some)
                .map_err(|e| unserialisable(collection, id, &e)),
            Self::Deleted => Ok(None),
        }
    }
}

fn unserialisable(collection: &str, id: &str, e: &serde_json::Error) -> ProjectionError {
    ProjectionError::Inconsistent(format!("{collection}/{id} cannot be written as JSON: {e}"))
}

fn malformed(collection: &str, id: &str, e: &serde_json::Error) -> ProjectionError {
    ProjectionError::Inconsistent(format!("{collection}/{id} is malformed: {e}"))
}

/// Reads and queued writes of one batch of one projection generation.
pub struct BatchView<'a> {
    reads: &'a dyn ReadStore,
    generation: u64,
    /// Latest queued state per logical collection, then per document id.
    queued: HashMap<String, HashMap<String, Queued>>,
    /// (collection, id) in the order of first writes; may repeat after a rollback.
    order: Vec<(String, String)>,
    /// What each write replaced (`None`: the document had no queued state), for rollbacks.
    undo: Vec<(String, String, Option<Queued>)>,
}

impl<'a> BatchView<'a> {
    /// An empty batch writing to `generation`.
    pub fn new(reads: &'a dyn ReadStore, generation: u64) -> Self {
        Self {
            reads,
            generation,
            queued: HashMap::new(),
            order: Vec::new(),
            undo: Vec::new(),
        }
    }

    fn queued(&self, collection: &str, id: &str) -> Option<&Queued> {
        self.queued.get(collection)?.get(id)
    }

    /// The document `id` of the logical `collection`, including this batch's queued writes.
    pub async fn get(&self, collection: &str, id: &str) -> Result<Option<Value>, ProjectionError> {
        if let Some(queued) = self.queued(collection, id) {
            return queued.to_json(collection, id);
        }
        let physical = generation::collection(collection, self.generation);
        Ok(self.reads.get(&physical, id).await?.map(|doc| doc.body))
    }

    /// The document `id` of the logical `collection` read as `T`. A stored body that is not a
    /// `T` means the read model is not what the events made it, which retrying cannot fix.
    ///
    /// A document this batch queued as a `T` is cloned, not read back from JSON: folding a batch
    /// re-reads the same documents often.
    pub async fn get_as<T: serde::de::DeserializeOwned + Clone + 'static>(
        &self,
        collection: &str,
        id: &str,
    ) -> Result<Option<T>, ProjectionError> {
        let body = match self.queued(collection, id) {
            Some(Queued::Typed(doc)) => {
                if let Some(doc) = doc.as_any().downcast_ref::<T>() {
                    return Ok(Some(doc.clone()));
                }
                doc.to_json()
                    .map_err(|e| unserialisable(collection, id, &e))?
            }
            Some(Queued::Json(body)) => {
                return T::deserialize(body)
                    .map(Some)
                    .map_err(|e| malformed(collection, id, &e));
            }
            Some(Queued::Deleted) => return Ok(None),
            None => match self.get(collection, id).await? {
                Some(body) => body,
                None => return Ok(None),
            },
        };
        serde_json::from_value(body)
            .map(Some)
            .map_err(|e| malformed(collection, id, &e))
    }

    /// Queues an insert-or-replace of document `id`.
    pub fn put(&mut self, collection: &str, id: &str, body: Value) {
        self.queue(collection, id, Queued::Json(body));
    }

    /// Queues an insert-or-replace of document `id` as a `T`, written as JSON when the batch
    /// commits. A `T` that cannot be JSON (a map with non-string keys) fails the commit, and the
    /// runner then parks the event that wrote it.
    pub fn put_as<T: serde::Serialize + Send + Sync + 'static>(
        &mut self,
        collection: &str,
        id: &str,
        document: T,
    ) {
        self.queue(collection, id, Queued::Typed(Box::new(document)));
    }

    /// Queues the removal of document `id`.
    pub fn delete(&mut self, collection: &str, id: &str) {
        self.queue(collection, id, Queued::Deleted);
    }

    fn queue(&mut self, collection: &str, id: &str, state: Queued) {
        let documents = match self.queued.get_mut(collection) {
            Some(documents) => documents,
            None => self.queued.entry(collection.to_owned()).or_default(),
        };
        let replaced = match documents.get_mut(id) {
            Some(slot) => Some(std::mem::replace(slot, state)),
            None => {
                documents.insert(id.to_owned(), state);
                self.order.push((collection.to_owned(), id.to_owned()));
                None
            }
        };
        self.undo
            .push((collection.to_owned(), id.to_owned(), replaced));
    }

    /// How many writes are queued, counting every write to the same document.
    pub fn len(&self) -> usize {
        self.undo.len()
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.undo.is_empty()
    }

    /// Marks where a savepoint is: the runner rolls back to it when one event of the batch fails,
    /// keeping the writes of the events before it.
    pub fn savepoint(&self) -> usize {
        self.undo.len()
    }

    /// Undoes the writes queued after `savepoint`, newest first.
    pub fn rollback_to(&mut self, savepoint: usize) {
        while self.undo.len() > savepoint {
            let Some((collection, id, replaced)) = self.undo.pop() else {
                break;
            };
            let Some(documents) = self.queued.get_mut(&collection) else {
                continue;
            };
            match replaced {
                Some(previous) => {
                    documents.insert(id, previous);
                }
                None => {
                    documents.remove(&id);
                }
            }
        }
    }

    /// The last queued write of every document, in the order documents were first written, for
    /// the runner to commit. Fails when a typed document cannot be written as JSON.
    pub fn into_ops(mut self) -> Result<Vec<WriteOp>, ProjectionError> {
        let mut ops = Vec::with_capacity(self.order.len());
        for (collection, id) in self.order {
            let Some(state) = self
                .queued
                .get_mut(&collection)
                .and_then(|documents| documents.remove(&id))
            else {
                continue; // rolled back, or already emitted under an earlier first write
            };
            let body = match state {
                Queued::Json(body) => Some(body),
                Queued::Typed(doc) => Some(
                    doc.to_json()
                        .map_err(|e| unserialisable(&collection, &id, &e))?,
                ),
                Queued::Deleted => None,
            };
            let collection = generation::collection(&collection, self.generation);
            ops.push(match body {
                Some(body) => WriteOp::Upsert {
                    collection,
                    document: Document { id, body },
                },
                None => WriteOp::Delete { collection, id },
            });
        }
        Ok(ops)
    }
}

#[cfg(test)]
mod tests;
