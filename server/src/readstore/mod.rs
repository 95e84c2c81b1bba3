//! The `ReadStore` port: JSON documents per collection that projections write and queries read.
//!
//! Layout: `filter` (the small query language every adapter translates), `embedded` (SQLite,
//! the default), `mongodb` (MongoDB, selected by `MONGODB_URL`), `conformance` (the one suite
//! every adapter passes unchanged).
//!
//! A projection writes a batch of document changes together with its checkpoint in one atomic
//! step ([`ReadStore::apply`]), so a crash can neither skip an event nor apply one twice to what
//! queries see. Each adapter also keeps the runners' leases ([`ReadStore::leases`]), so that a
//! batch can be fenced by its writer's lease in that same step ([`ReadStore::apply_fenced`]).

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;

use crate::lease::{Fence, Leases};

#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
pub mod embedded;
pub mod filter;
#[cfg(feature = "mongodb")]
pub mod mongodb;

pub use filter::{Filter, Query, SortDirection, SortKey};

/// One read-model document: an id unique in its collection and a JSON object body.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// Unique within the collection.
    pub id: String,
    /// A JSON object.
    pub body: Value,
}

/// A change to one document, applied as part of a batch.
#[derive(Debug, Clone, PartialEq)]
pub enum WriteOp {
    /// Insert or replace the whole document.
    Upsert {
        /// Target collection.
        collection: String,
        /// The document.
        document: Document,
    },
    /// Remove the document if present.
    Delete {
        /// Target collection.
        collection: String,
        /// Its id.
        id: String,
    },
}

/// An index a read model declares so its queries stay fast; `unique` indexes also reject
/// duplicate values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexSpec {
    /// Collection indexed.
    pub collection: String,
    /// Dotted field paths, in index order.
    pub fields: Vec<String>,
    /// Whether two documents may share the indexed values.
    pub unique: bool,
}

/// One page of a query.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// The documents, in the query's order.
    pub documents: Vec<Document>,
    /// Opaque cursor for the next page; `None` on the last page.
    pub next: Option<String>,
}

/// Failures of the read store.
#[derive(Debug, thiserror::Error)]
pub enum ReadStoreError {
    /// The backend is unreachable or failed; retry later.
    #[error("read store unavailable: {0}")]
    Unavailable(String),
    /// The request cannot be served as asked (bad cursor, bad field path, ...).
    #[error("invalid read-store request: {0}")]
    Invalid(String),
    /// A write was refused for this document (e.g. too large, unique index violated). The
    /// projection runner parks the event that produced it instead of retrying forever.
    #[error("document rejected: {0}")]
    Rejected(String),
    /// A fenced commit was refused: the writer's lease was granted again since (its epoch is
    /// no longer current), so another replica runs the projection now. Nothing was written.
    #[error("commit fenced off: {0}")]
    Fenced(String),
}

/// Storage of read models.
#[async_trait]
pub trait ReadStore: Send + Sync + 'static {
    /// Creates the declared indexes if missing (idempotent; called at start-up).
    async fn ensure_indexes(&self, indexes: &[IndexSpec]) -> Result<(), ReadStoreError>;

    /// The document with `id` in `collection`, if any.
    async fn get(&self, collection: &str, id: &str) -> Result<Option<Document>, ReadStoreError>;

    /// One page of `query`, ordered by its sort keys and then by id (so pages are stable).
    async fn query(&self, query: &Query) -> Result<Page, ReadStoreError>;

    /// The position a projection has applied up to, `None` before its first batch.
    async fn checkpoint(&self, projection: &str) -> Result<Option<u64>, ReadStoreError>;

    /// Applies `ops` in order and moves `projection`'s checkpoint to `position`, all or
    /// nothing. A batch whose `position` is not beyond the stored checkpoint is ignored
    /// (already applied), which makes a replay after a crash harmless.
    async fn apply(
        &self,
        projection: &str,
        ops: Vec<WriteOp>,
        position: u64,
    ) -> Result<(), ReadStoreError>;

    /// [`ReadStore::apply`], but only while `fence` names the current epoch of its lease: the
    /// epoch is checked inside the same atomic write as the documents and checkpoint, so a
    /// writer that lost its lease (however long it was paused) commits nothing and gets
    /// [`ReadStoreError::Fenced`].
    async fn apply_fenced(
        &self,
        projection: &str,
        ops: Vec<WriteOp>,
        position: u64,
        fence: &Fence,
    ) -> Result<(), ReadStoreError>;

    /// The leases kept in this store, which [`ReadStore::apply_fenced`] checks.
    fn leases(&self) -> Arc<dyn Leases>;

    /// Removes a collection and its documents (used to drop a superseded rebuild generation).
    async fn drop_collection(&self, collection: &str) -> Result<(), ReadStoreError>;

    /// Forgets a projection's checkpoint (before rebuilding it from scratch).
    async fn reset_checkpoint(&self, projection: &str) -> Result<(), ReadStoreError>;
}
