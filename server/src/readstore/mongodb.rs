//! The MongoDB read store, on the official `mongodb` driver: what production read models use
//! (`MONGODB_URL`), with the semantics of the embedded adapter (the conformance suite runs
//! unchanged against both).
//!
//! - `deployment`: the client (failing fast) and detecting what kind of deployment answers.
//! - `convert`: JSON <-> BSON and the stored shape `{_id, body, pos}`.
//! - `read`: a document by id, a page of a query.
//! - `translate`: filters, sorts, keyset cursors and index specs as MongoDB documents.
//! - `batch`: a batch's writes as unordered bulk `delete`/`update` commands.
//! - `transaction`: commit on replica sets and sharded clusters: one multi-document transaction.
//! - `journal`: commit on a standalone server: a redo journal behind a commit marker.
//! - `errors`: driver errors as `Rejected` (the document's fault) or `Unavailable`.
//! - `leases`: the runners' leases in `causeway.leases`, and how a batch is fenced by one.
//!
//! Read models live in one database (`--mongodb-database`, default `causeway`), one collection
//! per physical read-model collection (`orders_g1`, ...). The adapter's own collections have a
//! dot in their names, which read-model names cannot have: checkpoints in
//! `causeway.checkpoints` (`{_id: <key>, position}`), the standalone journal in
//! `causeway.journal`, the leases and their fences in `causeway.leases` and `causeway.fences`.
//! Which commit path is used is decided once, from the server's `hello` (a replica-set name or
//! a mongos means transactions), and logged.
//!
//! The client fails fast: unless the URL says otherwise, server selection and connecting give
//! up after 2 s, so a health probe or a batch reports `Unavailable` instead of hanging while
//! MongoDB is away, and the driver reconnects by itself when it is back.

mod batch;
mod convert;
mod deployment;
mod errors;
mod journal;
mod leases;
mod read;
mod transaction;
mod translate;

pub use self::deployment::url_error;

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicBool, Ordering},
    },
};

use async_trait::async_trait;
use mongodb::{
    Client, Collection, Database,
    bson::{Bson, Document, doc},
    error::ErrorKind,
};
use tokio::sync::OnceCell;
use tracing::warn;

pub use self::leases::{FENCES, LEASES};
use self::{batch::Plan, errors::unavailable, leases::MongoLeases};
use crate::lease::{Fence, Leases};

use super::{
    Document as ReadDocument, IndexSpec, Page, ReadStore, ReadStoreError, WriteOp,
    filter::{Query, validate_collection},
};

/// Collection of the projections' checkpoints.
pub const CHECKPOINTS: &str = "causeway.checkpoints";
/// Collection of the standalone journal (see the `journal` module).
pub const JOURNAL: &str = "causeway.journal";
/// Namespace not found: dropping what is not there.
const NOT_FOUND: i32 = 26;

/// How batches are committed atomically on the connected deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Atomicity {
    /// Documents and checkpoint in one multi-document transaction (replica sets, sharding).
    Transactions,
    /// Through the redo journal and its commit marker (standalone servers, which have no
    /// multi-document transactions).
    Journal,
}

/// How to use the database. Built with [`MongoSettings::new`], refined by the `with_*` methods.
#[derive(Debug, Clone)]
pub struct MongoSettings {
    database: String,
    transactions: bool,
    finishes_batches: bool,
}

impl MongoSettings {
    /// Read models in `database`; transactions whenever the deployment has them; the store
    /// finishes batches an earlier run left pending (what a projection process needs).
    pub fn new(database: &str) -> Self {
        Self {
            database: database.to_owned(),
            transactions: true,
            finishes_batches: true,
        }
    }

    /// `false` commits through the journal even where transactions exist: for tests of the
    /// standalone path against a replica set, or deployments that forbid transactions.
    pub fn with_transactions(mut self, use_them: bool) -> Self {
        self.transactions = use_them;
        self
    }

    /// Whether reading a checkpoint first finishes that projection's pending batch. Only the
    /// process that runs the projection may (`--role query` processes read and never write):
    /// two finishers racing the live writer could write an old batch's documents back.
    pub fn with_finishing_batches(mut self, finish: bool) -> Self {
        self.finishes_batches = finish;
        self
    }
}

/// [`ReadStore`] on a MongoDB database.
pub struct MongoReadStore {
    inner: Arc<Inner>,
}

/// What the store's operations share.
struct Inner {
    client: Client,
    db: Database,
    checkpoints: Collection<Document>,
    journal: Collection<Document>,
    leases: Collection<Document>,
    fences: Collection<Document>,
    settings: MongoSettings,
    atomicity: OnceCell<Atomicity>,
    /// One lock per checkpoint key: a batch and the finishing of a pending batch of the same
    /// projection never interleave within this process.
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    fail_next_apply: AtomicBool,
}

impl MongoReadStore {
    /// Connects to the deployment `url` names and checks the settings. The server need not be
    /// up yet: the commit path is detected on first contact (tried here and logged), and every
    /// operation fails `Unavailable` until it answers. `url` is never logged or echoed.
    pub async fn connect(url: &str, settings: MongoSettings) -> Result<Self, ReadStoreError> {
        deployment::validate_database(&settings.database)?;
        let client = deployment::client(url).await?;
        let db = client.database(&settings.database);
        let store = Self {
            inner: Arc::new(Inner {
                checkpoints: db.collection(CHECKPOINTS),
                journal: db.collection(JOURNAL),
                leases: db.collection(LEASES),
                fences: db.collection(FENCES),
                db,
                client,
                settings,
                atomicity: OnceCell::new(),
                locks: Mutex::new(HashMap::new()),
                fail_next_apply: AtomicBool::new(false),
            }),
        };
        if let Err(e) = store.atomicity().await {
            warn!(error = %e, "MongoDB does not answer yet; read models wait for it");
        }
        Ok(store)
    }

    /// How this store commits batches on its deployment (asked once, then remembered).
    pub async fn atomicity(&self) -> Result<Atomicity, ReadStoreError> {
        self.inner.atomicity().await
    }

    /// Fault injection for crash tests: the next [`ReadStore::apply`] that gets past its
    /// checkpoint check writes its documents and then fails with `Unavailable` instead of
    /// moving the checkpoint, exactly like a crash between the two. In a transaction nothing of
    /// the batch becomes visible; on a standalone server its documents stay written and the
    /// batch stays pending until a writer finishes it. Not meant for production code paths.
    pub fn fail_next_apply_after_documents(&self) {
        self.inner.fail_next_apply.store(true, Ordering::SeqCst);
    }
}

impl MongoReadStore {
    /// A batch and its checkpoint, committed the deployment's way, under `fence` if any.
    async fn commit(
        &self,
        projection: &str,
        ops: &[WriteOp],
        position: u64,
        fence: Option<&Fence>,
    ) -> Result<(), ReadStoreError> {
        validate_projection(projection)?;
        let position = i64::try_from(position)
            .map_err(|_| ReadStoreError::Invalid("position beyond i64::MAX".to_owned()))?;
        let plan = Plan::new(ops, position)?;
        let inner = &self.inner;
        let atomicity = inner.atomicity().await?;
        let _guard = inner.lock(projection).await;
        if let (Some(fence), Atomicity::Journal) = (fence, atomicity) {
            // A former holder must not finish its successor's pending batch either.
            leases::check_fence(&inner.leases, fence).await?;
        }
        journal::recover(inner, projection).await?;
        let stale = inner
            .checkpoints
            .find_one(doc! { "_id": projection })
            .await
            .map_err(|e| unavailable("reading a checkpoint", &e))?
            .as_ref()
            .and_then(stored_position)
            .is_some_and(|applied| applied >= position);
        if stale {
            return Ok(());
        }
        let fault = inner.fail_next_apply.swap(false, Ordering::SeqCst);
        match atomicity {
            Atomicity::Transactions => {
                transaction::apply(inner, projection, &plan, position, fault, fence).await
            }
            Atomicity::Journal => {
                journal::apply(inner, projection, &plan, position, fault, fence).await
            }
        }
    }
}

/// The `position` of a checkpoint document.
fn stored_position(stored: &Document) -> Option<i64> {
    match stored.get("position")? {
        Bson::Int64(n) => Some(*n),
        Bson::Int32(n) => Some(i64::from(*n)),
        _ => None,
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

impl Inner {
    /// Holds `key`'s lock until the guard drops.
    async fn lock(&self, key: &str) -> tokio::sync::OwnedMutexGuard<()> {
        let lock = {
            // A panic while holding the map's lock cannot leave the map inconsistent.
            let mut locks = self.locks.lock().unwrap_or_else(PoisonError::into_inner);
            Arc::clone(locks.entry(key.to_owned()).or_default())
        };
        lock.lock_owned().await
    }

    async fn atomicity(&self) -> Result<Atomicity, ReadStoreError> {
        self.atomicity
            .get_or_try_init(|| deployment::detect(&self.client, &self.settings))
            .await
            .copied()
    }
}

#[async_trait]
impl ReadStore for MongoReadStore {
    async fn ensure_indexes(&self, indexes: &[IndexSpec]) -> Result<(), ReadStoreError> {
        let models = indexes
            .iter()
            .map(|spec| translate::index_model(spec).map(|model| (spec, model)))
            .collect::<Result<Vec<_>, _>>()?;
        for (spec, model) in models {
            let collection = self.inner.db.collection::<Document>(&spec.collection);
            if let Err(e) = collection.create_index(model).await {
                return Err(if errors::is_duplicate_key(&e) {
                    ReadStoreError::Rejected(format!(
                        "{}: existing documents violate the unique index on {}",
                        spec.collection,
                        spec.fields.join(", ")
                    ))
                } else {
                    unavailable(&format!("creating an index on {}", spec.collection), &e)
                });
            }
        }
        Ok(())
    }

    async fn get(
        &self,
        collection: &str,
        id: &str,
    ) -> Result<Option<ReadDocument>, ReadStoreError> {
        validate_collection(collection)?;
        read::get(&self.inner.db, collection, id).await
    }

    async fn query(&self, query: &Query) -> Result<Page, ReadStoreError> {
        query.validate()?;
        read::page(&self.inner.db, query).await
    }

    async fn checkpoint(&self, projection: &str) -> Result<Option<u64>, ReadStoreError> {
        validate_projection(projection)?;
        let inner = &self.inner;
        let read = || async {
            inner
                .checkpoints
                .find_one(doc! { "_id": projection })
                .await
                .map_err(|e| unavailable("reading a checkpoint", &e))
        };
        let mut stored = read().await?;
        if inner.settings.finishes_batches && stored.as_ref().and_then(journal::pending).is_some() {
            let _guard = inner.lock(projection).await;
            journal::recover(inner, projection).await?;
            stored = read().await?;
        }
        stored
            .as_ref()
            .and_then(stored_position)
            .map(|p| {
                u64::try_from(p).map_err(|_| {
                    ReadStoreError::Unavailable("a stored checkpoint is corrupt".into())
                })
            })
            .transpose()
    }

    async fn apply(
        &self,
        projection: &str,
        ops: Vec<WriteOp>,
        position: u64,
    ) -> Result<(), ReadStoreError> {
        self.commit(projection, &ops, position, None).await
    }

    async fn apply_fenced(
        &self,
        projection: &str,
        ops: Vec<WriteOp>,
        position: u64,
        fence: &Fence,
    ) -> Result<(), ReadStoreError> {
        self.commit(projection, &ops, position, Some(fence)).await
    }

    fn leases(&self) -> Arc<dyn Leases> {
        Arc::new(MongoLeases {
            leases: self.inner.leases.clone(),
            fences: self.inner.fences.clone(),
        })
    }

    async fn drop_collection(&self, collection: &str) -> Result<(), ReadStoreError> {
        validate_collection(collection)?;
        match self
            .inner
            .db
            .collection::<Document>(collection)
            .drop()
            .await
        {
            Err(e) if matches!(e.kind.as_ref(), ErrorKind::Command(c) if c.code == NOT_FOUND) => {
                Ok(())
            }
            other => other.map_err(|e| unavailable("dropping a collection", &e)),
        }
    }

    async fn reset_checkpoint(&self, projection: &str) -> Result<(), ReadStoreError> {
        validate_projection(projection)?;
        let inner = &self.inner;
        let _guard = inner.lock(projection).await;
        inner
            .checkpoints
            .delete_one(doc! { "_id": projection })
            .await
            .map_err(|e| unavailable("resetting a checkpoint", &e))?;
        journal::clear(inner, projection).await
    }
}
