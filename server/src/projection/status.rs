//! Live status of every projection runner in this process: position, lag, health and the event
//! it is stuck on. Queries wait on it for read-your-writes (and say which position they wait
//! for); health and the admin API report it.

use std::{
    collections::BTreeMap,
    sync::{Arc, RwLock},
};

use tokio::sync::watch;

use super::observe::{Observations, ProjectionLabel, WaitLabels};
use crate::lease::{Holding, LeaseView};

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
    /// The runner's lease as this replica last saw it; `None` when it runs without one or
    /// has not heard from the store yet.
    pub lease: Option<LeaseView>,
    /// Whether the runner runs under a lease at all (set before it first asks for one).
    pub leased: bool,
}

/// What state a projection is in, as operators and load balancers see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProjectionState {
    /// Up to date within its lag objective.
    Serving,
    /// Making progress, but further behind than its lag objective: its answers are stale.
    Lagging,
    /// Cannot make progress (a poison event, an unreachable store).
    Stuck,
    /// Serving while a rebuild fills a new generation.
    Rebuilding,
    /// Another replica holds the lease and runs it; this one takes over if that one stops.
    Standby,
}

impl ProjectionState {
    /// Every state, in the order the metrics list them.
    pub const ALL: [Self; 5] = [
        Self::Serving,
        Self::Lagging,
        Self::Stuck,
        Self::Rebuilding,
        Self::Standby,
    ];

    /// Its name in the admin API and the metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Serving => "serving",
            Self::Lagging => "lagging",
            Self::Stuck => "stuck",
            Self::Rebuilding => "rebuilding",
            Self::Standby => "standby",
        }
    }
}

impl ProjectionStatus {
    /// The state this status is in, against a lag objective (`None`: never lagging).
    pub fn state(&self, lag_slo: Option<std::time::Duration>) -> ProjectionState {
        if !self.healthy {
            ProjectionState::Stuck
        } else if self.standing_by() {
            ProjectionState::Standby
        } else if lag_slo.is_some_and(|slo| self.behind_seconds > slo.as_secs_f64()) {
            ProjectionState::Lagging
        } else if self.rebuilding.is_some() {
            ProjectionState::Rebuilding
        } else {
            ProjectionState::Serving
        }
    }

    /// Whether another replica runs this projection (this one's position is not moving).
    pub fn standing_by(&self) -> bool {
        self.lease.as_ref().is_some_and(|lease| !lease.held)
    }

    /// Whether the runner runs in this replica now: it has no lease to hold, or holds it.
    /// Until a leased runner first hears from the store, it does not (nor does what must
    /// only run beside it).
    pub fn runs_here(&self) -> bool {
        !self.leased || self.lease.as_ref().is_some_and(|lease| lease.held)
    }

    /// The checkpoint and the store's head when last asked (kept when it could not be asked;
    /// never behind the checkpoint), and the lag between them.
    pub fn measured(&mut self, checkpoint: Option<u64>, head: Option<u64>) {
        self.position = self.position.max(checkpoint);
        self.head = head.or(self.head).max(self.position);
        self.behind = self
            .head
            .unwrap_or(0)
            .saturating_sub(checkpoint.unwrap_or(0));
        if self.behind == 0 {
            self.behind_seconds = 0.0;
        }
    }

    /// Progress after a committed batch: measured as above, and health restored.
    pub fn progressed(&mut self, checkpoint: Option<u64>, head: Option<u64>) {
        self.measured(checkpoint, head);
        self.healthy = true;
        self.stuck = None;
        self.last_error = None;
    }
}

/// The in-process registry of projection statuses, and of the positions readers wait for.
#[derive(Clone, Default)]
pub struct Projections {
    inner: Arc<RwLock<BTreeMap<String, Entry>>>,
    observations: Arc<Observations>,
    lag_slo: Option<std::time::Duration>,
}

/// What a runner under a lease tells its status about the lease. Until it first hears from
/// the store it is neither running nor standing by (not ready, as before its first batch);
/// while it stands by it is healthy (its stores answer) and what it was stuck on is the active
/// replica's business.
pub fn lease_reporter(status: &watch::Sender<ProjectionStatus>) -> Holding {
    let standing_by = |s: &mut ProjectionStatus, view: LeaseView| {
        if !view.held {
            s.healthy = true;
            s.stuck = None;
            s.last_error = None;
        }
        s.lease = Some(view);
    };
    status.send_modify(|s| s.leased = true);
    let status = status.clone();
    Arc::new(move |view| status.send_modify(|s| standing_by(s, view)))
}

/// One projection's channels: its status (runner to readers) and the highest position a
/// reader has waited for (readers to runner).
struct Entry {
    status: watch::Sender<ProjectionStatus>,
    wanted: watch::Sender<u64>,
    categories: Vec<String>,
}

impl Default for Entry {
    fn default() -> Self {
        Self {
            status: watch::channel(ProjectionStatus::default()).0,
            wanted: watch::channel(0).0,
            categories: Vec::new(),
        }
    }
}

impl std::fmt::Debug for Projections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.snapshot()).finish()
    }
}

impl Projections {
    /// A registry whose projections count as lagging beyond `lag_slo` behind the head.
    pub fn with_lag_slo(lag_slo: Option<std::time::Duration>) -> Self {
        Self {
            lag_slo,
            ..Self::default()
        }
    }

    /// The lag objective.
    pub fn lag_slo(&self) -> Option<std::time::Duration> {
        self.lag_slo
    }

    /// Records which stream categories `name` reads, so commands on them can ask how far
    /// behind it is.
    pub fn set_categories(&self, name: &str, categories: &[&str]) {
        let mut map = self.inner.write().unwrap_or_else(|e| e.into_inner());
        map.entry(name.to_owned()).or_default().categories =
            categories.iter().map(|c| (*c).to_owned()).collect();
    }

    /// The statuses of the projections that read `category` and run in this replica (not
    /// standing by).
    pub fn reading(&self, category: &str) -> Vec<(String, ProjectionStatus)> {
        let map = self.inner.read().unwrap_or_else(|e| e.into_inner());
        map.iter()
            .filter(|(_, entry)| entry.categories.iter().any(|c| c == category))
            .filter(|(_, entry)| !entry.status.borrow().standing_by())
            .map(|(name, entry)| (name.clone(), entry.status.borrow().clone()))
            .collect()
    }

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

    /// Follows `name`'s status if its runner lives in this process and runs it here now; a
    /// standby's position does not move, so readers then ask the read store instead.
    pub fn watch_active(&self, name: &str) -> Option<watch::Receiver<ProjectionStatus>> {
        self.watch(name)
            .filter(|status| !status.borrow().standing_by())
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

    /// Records how long `name`'s runner took to fold and commit one batch.
    pub fn observe_batch(&self, name: &str, seconds: f64) {
        let label = ProjectionLabel {
            projection: name.to_owned(),
        };
        self.observations
            .batch_seconds
            .get_or_create(&label)
            .observe(seconds);
    }

    /// Records a read-your-writes wait on `name` that `reached` its position or timed out.
    pub fn observe_wait(&self, name: &str, reached: bool) {
        let labels = WaitLabels {
            projection: name.to_owned(),
            outcome: if reached { "reached" } else { "timed_out" },
        };
        self.observations.waits.get_or_create(&labels).inc();
    }

    pub(super) fn observations(&self) -> &Observations {
        &self.observations
    }

    /// Every projection's current status, by name.
    pub fn snapshot(&self) -> Vec<(String, ProjectionStatus)> {
        let map = self.inner.read().unwrap_or_else(|e| e.into_inner());
        map.iter()
            .map(|(name, entry)| (name.clone(), entry.status.borrow().clone()))
            .collect()
    }
}

#[cfg(test)]
mod lease_tests {
    use tokio::sync::watch;

    use super::{ProjectionStatus, lease_reporter};
    use crate::lease::LeaseView;

    fn view(held: bool) -> LeaseView {
        LeaseView {
            holder: "other/1/a".into(),
            epoch: 3,
            held,
        }
    }

    #[test]
    fn a_leased_runner_runs_here_only_once_it_holds_its_lease() {
        // Given a runner without a lease, it runs here.
        assert!(ProjectionStatus::default().runs_here());
        // When it is put under a lease, it does not until the store answers,
        let (status, watching) = watch::channel(ProjectionStatus::default());
        let report = lease_reporter(&status);
        assert!(!watching.borrow().runs_here(), "before its first answer");
        // nor while another replica holds the lease; then it does once it holds it.
        report(view(false));
        assert!(!watching.borrow().runs_here());
        assert!(watching.borrow().standing_by());
        report(view(true));
        assert!(watching.borrow().runs_here());
    }
}
