//! The embedded read store: one SQLite file (`read.db`) under the data directory, so read models
//! work on a laptop with no MongoDB and with the same semantics.
//!
//! - `schema`: the versioned schema, `synchronous`, error mapping; opening, pragmas (WAL, busy
//!   timeout), migration and the reader pool are `crate::sqlite`'s.
//! - `sql`: the filter AST, sort keys and cursors as SQL over `json_extract`; index DDL.
//! - `read`: `get`, `query`, `checkpoint`, run on pooled read connections.
//! - `write`: the write connection, `apply`, indexes, `drop_collection`, `reset_checkpoint`.
//! - `leases`: the runners' leases as rows of `read.db`, and the fence check of a commit.
//!
//! Documents are JSON text in `documents(collection, id, body)`; checkpoints are rows of
//! `checkpoints(projection, position)` in the same file, which is what lets [`ReadStore::apply`]
//! commit a batch and its checkpoint in one SQLite transaction. Several processes may share the
//! data directory (one projection process writing, query processes reading): SQLite's file
//! locks serialise writers, and WAL readers always see the latest commit of any process.

mod leases;
mod read;
mod schema;
mod sql;
#[cfg(test)]
mod tests;
mod write;

use std::{path::Path, sync::Arc};

use async_trait::async_trait;

use self::{leases::EmbeddedLeases, write::Writer};
use super::{
    Document, IndexSpec, Page, ReadStore, ReadStoreError, WriteOp,
    filter::{Query, validate_collection},
};
use crate::{
    lease::{Fence, Leases},
    sqlite::ReaderPool,
};

/// Name of the read-model file inside the data directory.
pub const READ_MODELS_FILE: &str = "read.db";

/// [`ReadStore`] on a SQLite file, the default adapter.
pub struct EmbeddedReadStore {
    writer: Arc<Writer>,
    readers: Arc<ReaderPool>,
}

impl EmbeddedReadStore {
    /// Opens (creating the directory and file if needed) `read.db` under `data_dir`, migrating
    /// its schema. Blocking: call it at start-up, before serving.
    pub fn open(data_dir: &Path) -> Result<Self, ReadStoreError> {
        std::fs::create_dir_all(data_dir).map_err(|e| {
            ReadStoreError::Unavailable(format!("creating the data directory: {}", e.kind()))
        })?;
        let file = schema::read_models_file(data_dir.join(READ_MODELS_FILE));
        let conn = file.open_writer(&schema::MIGRATIONS)?;
        Ok(Self {
            writer: Arc::new(Writer::new(conn)),
            readers: Arc::new(ReaderPool::new(file)),
        })
    }

    /// Fault injection for crash tests: the next [`ReadStore::apply`] that gets past its
    /// checkpoint check writes its documents and then fails with `Unavailable` instead of
    /// moving the checkpoint and committing. Because the transaction is rolled back, nothing of
    /// the batch becomes visible, which is exactly the guarantee a crash between "documents
    /// written" and "checkpoint written" relies on. Not meant for production code paths.
    pub fn fail_next_apply_after_documents(&self) {
        self.writer.arm_fault();
    }
}

fn validate_projection(projection: &str) -> Result<(), ReadStoreError> {
    if projection.is_empty() {
        return Err(ReadStoreError::Invalid(
            "a projection name must not be empty".to_owned(),
        ));
    }
    Ok(())
}

#[async_trait]
impl ReadStore for EmbeddedReadStore {
    async fn ensure_indexes(&self, indexes: &[IndexSpec]) -> Result<(), ReadStoreError> {
        let specs = indexes.to_vec();
        self.writer
            .run(move |tx, _| write::ensure_indexes(tx, &specs))
            .await
    }

    async fn get(&self, collection: &str, id: &str) -> Result<Option<Document>, ReadStoreError> {
        validate_collection(collection)?;
        let (collection, id) = (collection.to_owned(), id.to_owned());
        self.readers
            .run(move |conn| read::get(conn, &collection, &id))
            .await
    }

    async fn query(&self, query: &Query) -> Result<Page, ReadStoreError> {
        query.validate()?;
        let query = query.clone();
        self.readers
            .run(move |conn| read::query(conn, &query))
            .await
    }

    async fn checkpoint(&self, projection: &str) -> Result<Option<u64>, ReadStoreError> {
        validate_projection(projection)?;
        let projection = projection.to_owned();
        self.readers
            .run(move |conn| read::checkpoint(conn, &projection))
            .await
    }

    async fn apply(
        &self,
        projection: &str,
        ops: Vec<WriteOp>,
        position: u64,
    ) -> Result<(), ReadStoreError> {
        validate_projection(projection)?;
        let projection = projection.to_owned();
        self.writer
            .run(move |tx, writer| write::apply(tx, writer, &projection, &ops, position))
            .await
    }

    async fn apply_fenced(
        &self,
        projection: &str,
        ops: Vec<WriteOp>,
        position: u64,
        fence: &Fence,
    ) -> Result<(), ReadStoreError> {
        validate_projection(projection)?;
        let (projection, fence) = (projection.to_owned(), fence.clone());
        self.writer
            .run(move |tx, writer| {
                leases::check_fence(tx, &fence)?;
                write::apply(tx, writer, &projection, &ops, position)
            })
            .await
    }

    fn leases(&self) -> Arc<dyn Leases> {
        Arc::new(EmbeddedLeases {
            writer: self.writer.clone(),
        })
    }

    async fn drop_collection(&self, collection: &str) -> Result<(), ReadStoreError> {
        validate_collection(collection)?;
        let collection = collection.to_owned();
        self.writer
            .run(move |tx, _| write::drop_collection(tx, &collection))
            .await
    }

    async fn reset_checkpoint(&self, projection: &str) -> Result<(), ReadStoreError> {
        validate_projection(projection)?;
        let projection = projection.to_owned();
        self.writer
            .run(move |tx, _| write::reset_checkpoint(tx, &projection))
            .await
    }
}
