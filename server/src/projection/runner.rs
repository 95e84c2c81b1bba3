//! The loop that keeps one projection up to date: subscribe from the checkpoint, apply events in
//! batches, commit documents + checkpoint atomically, and never stop silently. Store failures
//! and poison events are retried with backoff and reported unhealthy; documents the read store
//! refuses are parked with their event so the rest of the stream flows. Rebuilds fill a new
//! generation beside the live one and switch readers over once it has caught up.
//!
//! With a lease ([`ProjectionRunner::with_lease`], as every server runs them), the loop runs
//! only while this replica holds the projection's lease, and every commit carries the lease's
//! fence: a commit refused as fenced (the lease went to another replica while this one was
//! paused) stops the loop at once, and so does a failed renewal; the runner then stands by.

use std::{
    sync::{Arc, Mutex, OnceLock},
    time::Duration,
};

use futures::StreamExt;
use tokio::sync::{mpsc, watch};
use tracing::{error, info, warn};

use super::{
    Projection, ProjectionStatus, Projections, generation, lookahead::LookAhead,
    read_ahead::read_ahead, status::StuckEvent,
};
use crate::{
    lease::{Fence, LeaseMetrics, Tenure},
    readstore::{IndexSpec, ReadStore, ReadStoreError},
    store::{EventStore, StoreError, SubscriptionFilter},
};

mod apply;
mod handle;
mod leased;

use self::handle::RebuildReply;
pub use self::handle::{RebuildError, RunnerHandle};

use self::leased::Aborting;

/// Events folded per committed batch at most.
const BATCH_SIZE: usize = 1000;
/// Where events whose documents the read store refused are kept for operators.
pub const PARKED_COLLECTION: &str = "parked_events";

/// Why a runner paused.
#[derive(Debug, thiserror::Error)]
enum RunError {
    #[error("store: {0}")]
    Store(String),
    #[error("poison event {}@{} (position {}): {}", .0.stream, .0.revision, .0.position, .0.reason)]
    Poison(StuckEvent),
    #[error("{0}")]
    Fenced(String),
}

impl From<StoreError> for RunError {
    fn from(e: StoreError) -> Self {
        Self::Store(e.to_string())
    }
}

impl From<ReadStoreError> for RunError {
    fn from(e: ReadStoreError) -> Self {
        match e {
            ReadStoreError::Fenced(why) => Self::Fenced(why),
            e => Self::Store(e.to_string()),
        }
    }
}

/// What every task of one projection shares.
struct Parts {
    events: Arc<dyn EventStore>,
    reads: Arc<dyn ReadStore>,
    projection: Arc<dyn Projection>,
    status: watch::Sender<ProjectionStatus>,
    filter: SubscriptionFilter,
    projections: Projections,
    /// The fence of the lease this replica holds; `None` when the runner runs without a lease.
    fence: Mutex<Option<Fence>>,
    /// Where refused commits are counted (set with the lease).
    lease_metrics: OnceLock<LeaseMetrics>,
}

/// Keeps one projection up to date; run it with [`ProjectionRunner::run`].
pub struct ProjectionRunner {
    parts: Arc<Parts>,
    rebuilds: mpsc::Receiver<RebuildReply>,
    /// The highest position a reader in this process has waited for.
    wanted: watch::Receiver<u64>,
    /// The lease it runs under, if any.
    tenure: Option<Tenure>,
}

impl ProjectionRunner {
    /// A runner for `projection`, publishing its status in `projections`.
    pub fn new(
        events: Arc<dyn EventStore>,
        reads: Arc<dyn ReadStore>,
        projection: Arc<dyn Projection>,
        projections: &Projections,
    ) -> (Self, RunnerHandle) {
        let name = projection.name();
        let status = projections.register(name);
        let watching = status.subscribe();
        let wanted = projections.wanted(name);
        let filter = SubscriptionFilter::categories(projection.categories().iter().copied());
        let (tx, rx) = mpsc::channel(4);
        let parts = Arc::new(Parts {
            events,
            reads,
            projection,
            status,
            filter,
            projections: projections.clone(),
            fence: Mutex::new(None),
            lease_metrics: OnceLock::new(),
        });
        (
            Self {
                parts,
                rebuilds: rx,
                wanted,
                tenure: None,
            },
            RunnerHandle {
                name,
                rebuilds: tx,
                status: watching,
            },
        )
    }

    /// Follows the projection until a commit is fenced off (never, without a lease).
    pub(super) async fn serve(&mut self) {
        let mut backoff = Backoff::default();
        loop {
            match self.follow_live(&mut backoff).await {
                Ok(switched) => {
                    info!(
                        projection = self.parts.projection.name(),
                        generation = switched,
                        "now serving rebuilt generation"
                    );
                    continue;
                }
                Err(RunError::Store(reason)) => {
                    warn!(projection = self.parts.projection.name(), %reason, "projection paused; retrying");
                    self.parts.status.send_modify(|s| {
                        s.healthy = false;
                        s.last_error = Some(reason);
                    });
                }
                Err(RunError::Fenced(reason)) => {
                    warn!(projection = self.parts.projection.name(), %reason,
                        "commit refused: another replica holds the lease now; standing by");
                    return;
                }
                Err(RunError::Poison(stuck)) => {
                    error!(projection = self.parts.projection.name(), stream = %stuck.stream,
                        revision = stuck.revision, position = stuck.position, reason = %stuck.reason,
                        "projection cannot apply an event; retrying with backoff");
                    self.parts.status.send_modify(|s| {
                        s.healthy = false;
                        s.stuck = Some(stuck);
                    });
                }
            }
            tokio::time::sleep(backoff.next()).await;
        }
    }

    /// Follows the active generation live. Returns the new generation after a rebuild switched
    /// readers to it (the caller then follows that one).
    async fn follow_live(&mut self, backoff: &mut Backoff) -> Result<u64, RunError> {
        let parts = self.parts.clone();
        let name = parts.projection.name();
        let generation = generation::active(&*parts.reads, name).await?;
        parts.prepare(generation).await?;
        let mut checkpoint = parts
            .reads
            .checkpoint(&generation::checkpoint_key(name, generation))
            .await?;
        // Reachable stores: healthy, unless still stuck on a poison event from the last round.
        parts.status.send_modify(|s| {
            s.generation = generation;
            s.position = s.position.max(checkpoint);
            s.healthy = s.stuck.is_none();
            s.last_error = None;
        });
        // The head now, not at the first batch: a projection already level with the log (or
        // whose categories see no new events) may not commit a batch for a long time.
        parts.measure_lag(checkpoint).await;
        let mut feed = read_ahead(
            parts.events.subscribe_all(checkpoint, parts.filter.clone()),
            BATCH_SIZE,
        )
        .ready_chunks(BATCH_SIZE);
        let mut rebuild: Option<(u64, Aborting)> = None;
        let mut look_ahead = LookAhead::default();
        look_ahead.want(*self.wanted.borrow_and_update());
        look_ahead.ask(&parts.events, &parts.filter, checkpoint);
        loop {
            tokio::select! {
                chunk = feed.next() => {
                    let chunk = chunk.ok_or_else(|| RunError::Store("subscription ended".into()))?;
                    parts.process(generation, chunk, &mut checkpoint).await?;
                    backoff.reset();
                    parts.published(checkpoint).await;
                    look_ahead.ask(&parts.events, &parts.filter, checkpoint);
                }
                Ok(()) = self.wanted.changed() => {
                    look_ahead.want(*self.wanted.borrow_and_update());
                    look_ahead.ask(&parts.events, &parts.filter, checkpoint);
                }
                Some(clear) = look_ahead.answer(name) => {
                    parts.skip_to(generation, clear, &mut checkpoint).await?;
                    parts.measure_lag(checkpoint).await;
                    look_ahead.ask(&parts.events, &parts.filter, checkpoint);
                }
                Some(reply) = self.rebuilds.recv() => {
                    if reply.is_closed() {
                        // Asked before this replica lost its lease, and given up since.
                        continue;
                    }
                    if rebuild.is_some() {
                        let _ = reply.send(Err(RebuildError::AlreadyRunning(name.to_owned())));
                        continue;
                    }
                    let target = match parts.claim_rebuild(generation).await {
                        Ok(target) => target,
                        Err(e) => {
                            let _ = reply.send(Err(RebuildError::NotRunning(name.to_owned())));
                            return Err(e.into());
                        }
                    };
                    let builder = parts.clone();
                    let task = tokio::spawn(async move { builder.rebuild_into(target).await });
                    rebuild = Some((target, Aborting(task)));
                    let _ = reply.send(Ok(target));
                }
                finished = async {
                    match &mut rebuild {
                        Some((_, task)) => (&mut task.0).await,
                        None => std::future::pending().await,
                    }
                } => {
                    let (target, _) = rebuild.take().expect("the branch only runs with a rebuild");
                    match finished {
                        Ok(Ok(())) => {
                            // Bring the new generation level with the live one, then switch.
                            parts.follow_until(target, checkpoint).await?;
                            let (key, ops) = generation::activation(name, target);
                            parts.commit(&key, ops, target).await?;
                            parts.retire(generation).await?;
                            parts.status.send_modify(|s| s.rebuilding = None);
                            return Ok(target);
                        }
                        Ok(Err(e)) => warn!(projection = name, error = %e, "rebuild failed; the current generation keeps serving"),
                        Err(e) => warn!(projection = name, error = %e, "rebuild task ended abnormally"),
                    }
                    parts.status.send_modify(|s| s.rebuilding = None);
                }
            }
        }
    }
}

impl Parts {
    fn key(&self, generation: u64) -> String {
        generation::checkpoint_key(self.projection.name(), generation)
    }

    /// Declares the generation's indexes.
    async fn prepare(&self, generation: u64) -> Result<(), RunError> {
        let specs: Vec<IndexSpec> = self
            .projection
            .indexes()
            .into_iter()
            .map(|spec| IndexSpec {
                collection: generation::collection(&spec.collection, generation),
                ..spec
            })
            .collect();
        Ok(self.reads.ensure_indexes(&specs).await?)
    }

    /// Picks the generation a rebuild fills (above the one serving and every one claimed
    /// before) and claims it under the lease's fence, before anything of it is dropped.
    async fn claim_rebuild(&self, serving: u64) -> Result<u64, ReadStoreError> {
        let name = self.projection.name();
        let target = serving.max(generation::last_started(&*self.reads, name).await?) + 1;
        let (key, ops) = generation::claim(name, target);
        self.commit(&key, ops, target).await?;
        Ok(target)
    }

    /// Fills `target` (claimed by [`Parts::claim_rebuild`]) from scratch up to the store's
    /// head at the time of the request.
    async fn rebuild_into(self: Arc<Self>, target: u64) -> Result<(), RunError> {
        for spec in self.projection.indexes() {
            self.reads
                .drop_collection(&generation::collection(&spec.collection, target))
                .await?;
        }
        self.reads.reset_checkpoint(&self.key(target)).await?;
        self.prepare(target).await?;
        self.status
            .send_modify(|s| s.rebuilding = Some((target, None)));
        let head = self.events.head_position().await?;
        self.follow_until(target, head).await
    }

    /// Applies `generation` until its checkpoint reaches `until` (`None`: nothing to do),
    /// asking the store after each batch whether the rest of the way is clear of our events.
    async fn follow_until(&self, generation: u64, until: Option<u64>) -> Result<(), RunError> {
        let mut checkpoint = self.reads.checkpoint(&self.key(generation)).await?;
        let Some(until) = until else { return Ok(()) };
        self.skip_clear(generation, until, &mut checkpoint).await?;
        if checkpoint >= Some(until) {
            return Ok(());
        }
        let mut feed = read_ahead(
            self.events.subscribe_all(checkpoint, self.filter.clone()),
            BATCH_SIZE,
        )
        .ready_chunks(BATCH_SIZE);
        while let Some(chunk) = feed.next().await {
            self.process(generation, chunk, &mut checkpoint).await?;
            self.skip_clear(generation, until, &mut checkpoint).await?;
            self.status.send_modify(|s| {
                if let Some((g, _)) = s.rebuilding
                    && g == generation
                {
                    s.rebuilding = Some((g, checkpoint));
                }
            });
            if checkpoint >= Some(until) {
                return Ok(());
            }
        }
        Err(RunError::Store("subscription ended".into()))
    }

    /// Moves the checkpoint towards `until` as far as the store says no event of ours lies.
    async fn skip_clear(
        &self,
        generation: u64,
        until: u64,
        checkpoint: &mut Option<u64>,
    ) -> Result<(), RunError> {
        if *checkpoint >= Some(until) {
            return Ok(());
        }
        match self
            .events
            .clear_through(*checkpoint, until, &self.filter)
            .await?
        {
            Some(clear) => self.skip_to(generation, clear, checkpoint).await,
            None => Ok(()),
        }
    }

    /// Drops a superseded generation's documents and checkpoint.
    async fn retire(&self, generation: u64) -> Result<(), RunError> {
        for spec in self.projection.indexes() {
            self.reads
                .drop_collection(&generation::collection(&spec.collection, generation))
                .await?;
        }
        Ok(self.reads.reset_checkpoint(&self.key(generation)).await?)
    }
}

/// Exponential backoff between retries of a paused projection: 100 ms doubling to 30 s.
#[derive(Debug, Default)]
struct Backoff {
    failures: u32,
}

impl Backoff {
    fn next(&mut self) -> Duration {
        let delay = Duration::from_millis(100) * 2u32.saturating_pow(self.failures.min(9));
        self.failures = self.failures.saturating_add(1);
        delay.min(Duration::from_secs(30))
    }

    fn reset(&mut self) {
        self.failures = 0;
    }
}
