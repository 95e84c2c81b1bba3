//! The application hop of every query: wait for read-your-writes, resolve the active rebuild
//! generation, read the read store. Query handlers convert requests and responses only.

use std::sync::Arc;

use causeway_proto::common::Consistency;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::time::Instant;
use tonic::metadata::MetadataMap;

use crate::{
    kernel::FieldViolation,
    projection::{
        consistency::{ConsistencyError, DEFAULT_WAIT_CAP, ReadYourWrites, wait_budget},
        generation,
    },
    readstore::{Page, Query, ReadStore, ReadStoreError},
};

/// Page size when the caller asks for none.
pub const DEFAULT_PAGE_SIZE: usize = 50;
/// Largest page served; larger requests are clamped.
pub const MAX_PAGE_SIZE: usize = 500;

/// Why a query did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// The request is malformed.
    #[error("invalid query")]
    Invalid(Vec<FieldViolation>),
    /// Nothing has that id.
    #[error("{0} not found")]
    NotFound(String),
    /// The read model did not reach the requested position in time.
    #[error(transparent)]
    NotReached(#[from] ConsistencyError),
    /// The read store failed.
    #[error(transparent)]
    Store(#[from] ReadStoreError),
    /// A stored document is not in its projection's shape: the server's fault (the projection
    /// wrote it), which retrying cannot fix. The detail is logged, never sent to the caller.
    #[error("corrupt read model: {0}")]
    Corrupt(String),
    /// The document did not reach the state the caller waits for within the deadline; the
    /// text says which state it is still in.
    #[error("{0}")]
    NotSettled(String),
}

impl QueryError {
    /// A single-field validation failure.
    pub fn invalid(field: &str, description: impl Into<String>) -> Self {
        Self::Invalid(vec![FieldViolation::new(field, description)])
    }
}

/// One page of typed documents, and the token of the next (empty on the last page).
#[derive(Debug)]
pub struct TypedPage<D> {
    /// The documents, in the query's order.
    pub documents: Vec<D>,
    /// The `nextPageToken` to answer.
    pub next_page_token: String,
}

/// `body`, the stored document `id` of `collection`, as its projection's type. A document not
/// in that shape is the server's fault (the projection wrote it): `Corrupt`, logged and never
/// leaked, which retrying cannot fix.
pub fn decode<D: DeserializeOwned>(
    collection: &str,
    id: &str,
    body: Value,
) -> Result<D, QueryError> {
    serde_json::from_value(body)
        .map_err(|e| QueryError::Corrupt(format!("{collection} document {id} is malformed: {e}")))
}
/// Reads the read models of one projection with read-your-writes.
#[derive(Clone)]
pub struct ReadModel {
    projection: &'static str,
    reads: Arc<dyn ReadStore>,
    consistency: ReadYourWrites,
}

impl ReadModel {
    /// Queries over `projection`'s documents in `reads`.
    pub fn new(
        projection: &'static str,
        reads: Arc<dyn ReadStore>,
        consistency: ReadYourWrites,
    ) -> Self {
        Self {
            projection,
            reads,
            consistency,
        }
    }

    /// Waits for `consistency` within the request's deadline, then returns the generation to read.
    async fn ready(
        &self,
        consistency: Option<&Consistency>,
        metadata: &MetadataMap,
    ) -> Result<u64, QueryError> {
        if let Some(min) = consistency.map(|c| c.min_position).filter(|p| *p > 0) {
            let budget = deadline(metadata).saturating_duration_since(Instant::now());
            self.consistency.wait(self.projection, min, budget).await?;
        }
        Ok(generation::active(&*self.reads, self.projection).await?)
    }

    /// The document `id` of `collection` as `D` once `settled` holds for it (or once it is
    /// known not to exist), after `consistency`: each time the projection applies more, it is
    /// read again, until the request's deadline, past which the answer is
    /// [`QueryError::NotSettled`] with `unsettled`'s description of it.
    pub async fn get_when<D: DeserializeOwned>(
        &self,
        collection: &str,
        id: &str,
        consistency: Option<&Consistency>,
        metadata: &MetadataMap,
        settled: impl Fn(&D) -> bool,
        unsettled: impl Fn(&D) -> String,
    ) -> Result<Option<D>, QueryError> {
        let deadline = deadline(metadata);
        self.ready(consistency, metadata).await?;
        loop {
            // Read how far the projection got BEFORE the document: any later change to it then
            // moves the projection past `seen`, so the wait below cannot miss it.
            let seen = self.consistency.reached(self.projection).await?;
            let found = self.get_as::<D>(collection, id, None, metadata).await?;
            match found {
                Some(doc) if !settled(&doc) => {
                    if !self
                        .consistency
                        .advanced(self.projection, seen, deadline)
                        .await?
                    {
                        return Err(QueryError::NotSettled(unsettled(&doc)));
                    }
                }
                other => return Ok(other),
            }
        }
    }

    /// The document `id` of the logical `collection`.
    pub async fn get(
        &self,
        collection: &str,
        id: &str,
        consistency: Option<&Consistency>,
        metadata: &MetadataMap,
    ) -> Result<Option<Value>, QueryError> {
        let mut generation = self.ready(consistency, metadata).await?;
        loop {
            let physical = generation::collection(collection, generation);
            let found = self.reads.get(&physical, id).await?.map(|d| d.body);
            match self.switched_since(generation, found.is_none()).await? {
                Some(newer) => generation = newer,
                None => return Ok(found),
            }
        }
    }

    /// A miss may come from a generation a rebuild has just retired (dropped between choosing
    /// it and reading it): then the newer generation to read again. Hits are always served,
    /// so this costs nothing on the common path.
    async fn switched_since(
        &self,
        generation: u64,
        missed: bool,
    ) -> Result<Option<u64>, QueryError> {
        if !missed {
            return Ok(None);
        }
        let now = generation::active(&*self.reads, self.projection).await?;
        Ok((now != generation).then_some(now))
    }

    /// The document `id` of `collection` as the projection's type `D`.
    pub async fn get_as<D: DeserializeOwned>(
        &self,
        collection: &str,
        id: &str,
        consistency: Option<&Consistency>,
        metadata: &MetadataMap,
    ) -> Result<Option<D>, QueryError> {
        self.get(collection, id, consistency, metadata)
            .await?
            .map(|body| decode(collection, id, body))
            .transpose()
    }

    /// One page of `query` as the projection's type `D`.
    pub async fn page_as<D: DeserializeOwned>(
        &self,
        query: Query,
        consistency: Option<&Consistency>,
        metadata: &MetadataMap,
    ) -> Result<TypedPage<D>, QueryError> {
        let collection = query.collection.clone();
        let page = self.page(query, consistency, metadata).await?;
        Ok(TypedPage {
            documents: page
                .documents
                .into_iter()
                .map(|doc| decode(&collection, &doc.id, doc.body))
                .collect::<Result<_, _>>()?,
            next_page_token: page.next.unwrap_or_default(),
        })
    }

    /// One page of `query` (whose collection is logical). A continuation the store refuses is
    /// reported as the caller's `page_token` fault.
    pub async fn page(
        &self,
        mut query: Query,
        consistency: Option<&Consistency>,
        metadata: &MetadataMap,
    ) -> Result<Page, QueryError> {
        let mut generation = self.ready(consistency, metadata).await?;
        let logical = std::mem::take(&mut query.collection);
        let continues = query.after.as_deref().is_some_and(|t| !t.is_empty());
        loop {
            query.collection = generation::collection(&logical, generation);
            let page = self.reads.query(&query).await.map_err(|e| match e {
                // The handler validated everything else, so a refused continuation is the token's.
                ReadStoreError::Invalid(reason) if continues => {
                    QueryError::invalid("pageToken", reason)
                }
                other => other.into(),
            })?;
            match self
                .switched_since(generation, page.documents.is_empty())
                .await?
            {
                Some(newer) => generation = newer,
                None => return Ok(page),
            }
        }
    }
}

/// When a query must have answered by: its `grpc-timeout` (see [`wait_budget`]), or
/// [`DEFAULT_WAIT_CAP`] from now.
fn deadline(metadata: &MetadataMap) -> Instant {
    let timeout = metadata.get("grpc-timeout").and_then(|v| v.to_str().ok());
    Instant::now() + wait_budget(timeout, DEFAULT_WAIT_CAP)
}

/// The page size to use for a request's `page_size` (0 = default; clamped to the maximum).
pub fn page_size(requested: u32) -> usize {
    match requested as usize {
        0 => DEFAULT_PAGE_SIZE,
        n => n.min(MAX_PAGE_SIZE),
    }
}

/// The cursor to continue from: an empty token is the first page.
pub fn page_token(token: &str) -> Option<String> {
    (!token.is_empty()).then(|| token.to_owned())
}
