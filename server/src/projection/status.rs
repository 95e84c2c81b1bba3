//! Live status of every projection runner in this process: position, lag, health and the event
//! it is stuck on. Queries wait on it for read-your-writes (and say which position they wait
//! for); health and the admin API report it.

use std::{
    collections::BTreeMap,
    sync::{Arc, RwLock},
};

use tokio::sync::watch;

/// An event a projection cannot apply, kept visible until it is fixed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StuckEvent {
    /// The event's stream.
    pub stream: String,
    /// Its revision in the stream.
    pub revision: u64,
    /// Its global position.
    pub position: u64,
    /// Why it fails.
    pub reason: String,
}

/// Where one projection is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProjectionStatus {
    /// The generation queries read.
    pub generation: u64,
    /// Checkpoint of that generation: every matching event up to here is applied.
    pub position: Option<u64>,
    /// Newest position in the event store when last looked.
    pub head: Option<u64>,
    /// Store positions between the checkpoint and the head (events, for the embedded store).
    pub behind: u64,
    /// Age of the newest applied event while behind; 0 once caught up.
    pub behind_seconds: f64,
    /// False while the runner cannot make progress (store down, poison event).
    pub healthy: bool,
    /// The event the projection is stuck on, if any.
    pub stuck: Option<StuckEvent>,
    /// Last transient error (store unavailable), cleared on progress.
    pub last_error: Option<String>,
    /// Events parked because the read store refused their documents.
    pub parked: u64,
    /// The generation being rebuilt and how far it got.
    pub rebuilding: Option<(u64, Option<u64>)>,
}

impl ProjectionStatus {
    /// Progress after a committed batch: the checkpoint, the store's head when last asked (kept
    /// when it could not be asked), the lag between them, and health restored.
    pub fn progressed(&mut self, checkpoint: Option<u64>, head: Option<u64>) {
        self.position = self.position.max(checkpoint);
        self.head = head.or(self.head);
        self.behind = self
            .head
            .unwrap_or(0)
            .saturating_sub(checkpoint.unwrap_or(0));
        if self.behind == 0 {
            self.behind_seconds = 0.0;
        }
        self.healthy = true;
        self.stuck = None;
        self.last_error = None;
    }
}

/// The in-process registry of projection statuses, and of the positions readers wait for.
#[derive(Clone, Default)]
pub struct Projections {
    inner: Arc<RwLock<BTreeMap<String, Entry>>>,
}

/// One projection's channels: its status (runner to readers) and the highest position a
/// reader has waited for (readers to runner).
struct Entry {
    status: watch::Sender<ProjectionStatus>,
    wanted: watch::Sender<u64>,
}

impl Default for Entry {
    fn default() -> Self {
        Self {
            status: watch::channel(ProjectionStatus::default()).0,
            wanted: watch::channel(0).0,
        }
    }
}

impl std::fmt::Debug for Projections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.snapshot()).finish()
    }
}

impl Projections {
    /// Registers `name` (or returns its existing sender) so a runner can publish its status.
    pub fn register(&self, name: &str) -> watch::Sender<ProjectionStatus> {
        let mut map = self.inner.write().unwrap_or_else(|e| e.into_inner());
        map.entry(name.to_owned()).or_default().status.clone()
    }

    /// Follows `name`'s status, if a runner for it lives in this process.
    pub fn watch(&self, name: &str) -> Option<watch::Receiver<ProjectionStatus>> {
        let map = self.inner.read().unwrap_or_else(|e| e.into_inner());
        map.get(name).map(|entry| entry.status.subscribe())
    }

    /// Tells `name`'s runner that a reader waits for `position`, so the runner can find out
    /// whether anything of its categories lies before it rather than wait for its feed to say.
    /// Does nothing when no runner for `name` lives in this process.
    pub fn want(&self, name: &str, position: u64) {
        let map = self.inner.read().unwrap_or_else(|e| e.into_inner());
        if let Some(entry) = map.get(name) {
            entry.wanted.send_if_modified(|wanted| {
                let higher = position > *wanted;
                *wanted = (*wanted).max(position);
                higher
            });
        }
    }

    /// The highest position readers have waited for on `name` (0: none), for its runner.
    pub fn wanted(&self, name: &str) -> watch::Receiver<u64> {
        let mut map = self.inner.write().unwrap_or_else(|e| e.into_inner());
        map.entry(name.to_owned()).or_default().wanted.subscribe()
    }

    /// Every projection's current status, by name.
    pub fn snapshot(&self) -> Vec<(String, ProjectionStatus)> {
        let map = self.inner.read().unwrap_or_else(|e| e.into_inner());
        map.iter()
            .map(|(name, entry)| (name.clone(), entry.status.borrow().clone()))
            .collect()
    }
}
