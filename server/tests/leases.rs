//! A projection leader paused past its lease, in this process and deterministically: runner A
//! of the `products` projection is frozen (its commits and lease renewals held at a gate, as a
//! SIGSTOP or a long GC pause would hold them) while it has a batch in hand; runner B, standing
//! by on the same embedded stores, takes the lease over and commits; then A is let go. Its
//! late commit reaches the store and is refused as fenced, it counts the refusal and stands
//! by, and the read model is what a clean rebuild gives.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, SystemTime},
};

use async_trait::async_trait;
use causeway_server::{
    inventory::{
        domain::{ProductName, RegisterProduct, Sku},
        projection::ProductsProjection,
    },
    kernel::{CommandContext, CommandHandler},
    lease::{Claim, Fence, Grant, LeaseError, LeaseMetrics, LeaseRecord, Leases, Tenure},
    projection::{ProjectionRunner, ProjectionStatus, Projections},
    readstore::{
        Document, IndexSpec, Page, Query, ReadStore, ReadStoreError, WriteOp,
        embedded::EmbeddedReadStore,
    },
    server::upcasters,
    store::{
        EventStore,
        embedded::{Durability, EmbeddedEventStore},
    },
};
use tokio::sync::watch;

const TTL: Duration = Duration::from_secs(1);
const BOUND: Duration = Duration::from_secs(60);

/// Holds whatever passes through it while closed.
#[derive(Clone)]
struct Gate(watch::Sender<bool>);

impl Gate {
    fn open() -> Self {
        Self(watch::channel(true).0)
    }
    fn set(&self, open: bool) {
        self.0.send_replace(open);
    }
    async fn pass(&self) {
        let _ = self.0.subscribe().wait_for(|open| *open).await;
    }
}

/// A's read store: fenced commits wait at `commits`; once through, each runs to its end on a
/// task of its own (as a request already sent would) and its answer is kept.
struct Frozen {
    inner: Arc<dyn ReadStore>,
    commits: Gate,
    renewals: Gate,
    waiting: watch::Sender<usize>,
    answers: Arc<Mutex<Vec<Result<(), ReadStoreError>>>>,
    answered: watch::Sender<usize>,
}

#[async_trait]
impl ReadStore for Frozen {
    async fn ensure_indexes(&self, indexes: &[IndexSpec]) -> Result<(), ReadStoreError> {
        self.inner.ensure_indexes(indexes).await
    }
    async fn get(&self, collection: &str, id: &str) -> Result<Option<Document>, ReadStoreError> {
        self.inner.get(collection, id).await
    }
    async fn query(&self, query: &Query) -> Result<Page, ReadStoreError> {
        self.inner.query(query).await
    }
    async fn checkpoint(&self, projection: &str) -> Result<Option<u64>, ReadStoreError> {
        self.inner.checkpoint(projection).await
    }
    async fn apply(&self, p: &str, ops: Vec<WriteOp>, at: u64) -> Result<(), ReadStoreError> {
        self.inner.apply(p, ops, at).await
    }
    async fn apply_fenced(
        &self,
        projection: &str,
        ops: Vec<WriteOp>,
        position: u64,
        fence: &Fence,
    ) -> Result<(), ReadStoreError> {
        self.waiting.send_modify(|n| *n += 1);
        self.commits.pass().await;
        let (inner, answers) = (self.inner.clone(), self.answers.clone());
        let answered = self.answered.clone();
        let (projection, fence) = (projection.to_owned(), fence.clone());
        let commit = tokio::spawn(async move {
            let answer = inner.apply_fenced(&projection, ops, position, &fence).await;
            let echoed = match &answer {
                Ok(()) => Ok(()),
                Err(ReadStoreError::Fenced(why)) => Err(ReadStoreError::Fenced(why.clone())),
                Err(e) => Err(ReadStoreError::Unavailable(e.to_string())),
            };
            answers.lock().unwrap().push(answer);
            answered.send_modify(|n| *n += 1);
            echoed
        });
        commit.await.expect("commit task")
    }
    fn leases(&self) -> Arc<dyn Leases> {
        Arc::new(FrozenLeases {
            inner: self.inner.leases(),
            renewals: self.renewals.clone(),
        })
    }
    async fn drop_collection(&self, collection: &str) -> Result<(), ReadStoreError> {
        self.inner.drop_collection(collection).await
    }
    async fn reset_checkpoint(&self, projection: &str) -> Result<(), ReadStoreError> {
        self.inner.reset_checkpoint(projection).await
    }
}

/// A's leases: renewals wait at the gate, so its lease lapses while it is frozen.
struct FrozenLeases {
    inner: Arc<dyn Leases>,
    renewals: Gate,
}

#[async_trait]
impl Leases for FrozenLeases {
    async fn acquire(
        &self,
        lease: &str,
        holder: &str,
        now: SystemTime,
        ttl: Duration,
    ) -> Result<Claim, LeaseError> {
        self.inner.acquire(lease, holder, now, ttl).await
    }
    async fn renew(
        &self,
        grant: &Grant,
        _: SystemTime,
        ttl: Duration,
    ) -> Result<Grant, LeaseError> {
        self.renewals.pass().await;
        self.inner.renew(grant, SystemTime::now(), ttl).await
    }
    async fn release(&self, grant: &Grant) -> Result<(), LeaseError> {
        self.inner.release(grant).await
    }
    async fn current(&self, lease: &str) -> Result<Option<LeaseRecord>, LeaseError> {
        self.inner.current(lease).await
    }
}

async fn until(
    status: &mut watch::Receiver<ProjectionStatus>,
    what: &str,
    holds: impl FnMut(&ProjectionStatus) -> bool,
) {
    let reached = tokio::time::timeout(BOUND, status.wait_for(holds))
        .await
        .map(|r| r.is_ok());
    assert!(reached == Ok(true), "never {what}: {:?}", *status.borrow());
}

async fn register(kernel: &CommandHandler, from: usize, to: usize) -> u64 {
    let mut position = 0;
    for n in from..to {
        let sku = format!("sku-{n}");
        let command = RegisterProduct {
            sku: Sku::parse(&sku).unwrap(),
            name: ProductName::parse(&sku).unwrap(),
        };
        let ctx = CommandContext::new(format!("register-{n}"));
        position = kernel
            .handle(&ctx, &command)
            .await
            .expect("register")
            .position;
    }
    position
}

fn runner(
    events: &Arc<dyn EventStore>,
    reads: Arc<dyn ReadStore>,
    holder: &str,
    metrics: &LeaseMetrics,
) -> (ProjectionRunner, watch::Receiver<ProjectionStatus>) {
    let projections = Projections::default();
    let projection = Arc::new(ProductsProjection::new(Arc::new(upcasters())));
    let leases = reads.leases();
    let (runner, _) = ProjectionRunner::new(events.clone(), reads, projection, &projections);
    let tenure = Tenure::new(leases, "products", holder, TTL, metrics.clone());
    let status = projections.watch("products").expect("registered");
    (runner.with_lease(tenure), status)
}

async fn products(reads: &dyn ReadStore) -> Vec<Document> {
    let query = Query::new("products_g1").with_limit(Query::MAX_LIMIT);
    reads.query(&query).await.expect("products").documents
}

#[tokio::test(flavor = "multi_thread")]
async fn a_leader_paused_past_its_lease_commits_nothing_after_it_wakes() {
    let dir = tempfile::tempdir().unwrap();
    let events: Arc<dyn EventStore> =
        Arc::new(EmbeddedEventStore::open(dir.path(), Durability::Relaxed).unwrap());
    let reads: Arc<dyn ReadStore> = Arc::new(EmbeddedReadStore::open(dir.path()).unwrap());
    let kernel = CommandHandler::new(events.clone(), Arc::new(upcasters()));
    let frozen = Arc::new(Frozen {
        inner: reads.clone(),
        commits: Gate::open(),
        renewals: Gate::open(),
        waiting: watch::channel(0).0,
        answers: Arc::default(),
        answered: watch::channel(0).0,
    });
    let (a_metrics, b_metrics) = (LeaseMetrics::default(), LeaseMetrics::default());
    let (a, mut a_status) = runner(&events, frozen.clone(), "a", &a_metrics);
    let a = tokio::spawn(a.run());
    let head = register(&kernel, 0, 5).await;
    until(&mut a_status, "caught up under A's lease", |s| {
        s.lease.as_ref().is_some_and(|l| l.held) && s.position >= Some(head)
    })
    .await;

    // Frozen with the next batch in hand.
    let mut waiting = frozen.waiting.subscribe();
    let before = *waiting.borrow_and_update();
    frozen.answers.lock().unwrap().clear();
    let answered_before = *frozen.answered.borrow();
    frozen.commits.set(false);
    frozen.renewals.set(false);
    let head = register(&kernel, 5, 10).await;
    tokio::time::timeout(BOUND, waiting.wait_for(|n| *n > before))
        .await
        .expect("A reaches its commit")
        .unwrap();

    let (b, mut b_status) = runner(&events, reads.clone(), "b", &b_metrics);
    let b = tokio::spawn(b.run());
    until(&mut b_status, "caught up under B's lease", |s| {
        s.lease.as_ref().is_some_and(|l| l.held && l.epoch == 2) && s.position >= Some(head)
    })
    .await;
    let after_b = reads.checkpoint("products_g1").await.unwrap();

    // A wakes: its batch reaches the store and is refused; then it learns it lost the lease.
    let mut answered = frozen.answered.subscribe();
    frozen.commits.set(true);
    tokio::time::timeout(BOUND, answered.wait_for(|n| *n > answered_before))
        .await
        .expect("A's commit runs")
        .unwrap();
    let answers = std::mem::take(&mut *frozen.answers.lock().unwrap());
    assert!(
        matches!(answers.as_slice(), [Err(ReadStoreError::Fenced(_))]),
        "{answers:?}"
    );
    frozen.renewals.set(true);
    until(&mut a_status, "standing by after waking", |s| {
        s.lease.as_ref().is_some_and(|l| !l.held)
    })
    .await;
    assert_eq!(a_metrics.fenced_count("products"), 1);
    assert_eq!(b_metrics.fenced_count("products"), 0);
    assert_eq!(reads.checkpoint("products_g1").await.unwrap(), after_b);

    // Nothing of A's batch landed: the read model is what a clean rebuild gives.
    let clean_dir = tempfile::tempdir().unwrap();
    let clean: Arc<dyn ReadStore> = Arc::new(EmbeddedReadStore::open(clean_dir.path()).unwrap());
    let (c, mut c_status) = runner(&events, clean.clone(), "c", &LeaseMetrics::default());
    let c = tokio::spawn(c.run());
    until(&mut c_status, "rebuilt", |s| s.position >= Some(head)).await;
    assert_eq!(products(&*reads).await, products(&*clean).await);
    assert_eq!(products(&*reads).await.len(), 10);
    for task in [a, b, c] {
        task.abort();
    }
}
