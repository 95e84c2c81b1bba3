//! Projection replicas: two real `causeway-server --role projection` processes over one
//! deployment, one holding every projection's lease (and fulfilment's), the other standing by.
//!
//! - SIGKILL the active one while commands flow: the standby takes over (a new epoch per lease)
//!   and the read models equal a clean rebuild. Run on the embedded stores (one data directory
//!   shared by every process) and on KurrentDB (the protocol double) with MongoDB read models
//!   (see [`Production`] for why a standalone server).
//! - SIGSTOP the active one past its lease, let the standby take over and commit, SIGCONT it:
//!   it notices it lost its leases, stands by, and nothing it had in flight lands (the read
//!   models equal a clean rebuild). Run on KurrentDB + MongoDB only: a process frozen inside a
//!   SQLite write transaction would hold the embedded file's write lock, and every writer of
//!   that data directory (the standby's lease grant included) waits for it; the embedded
//!   fencing itself is proven in-process (`server/tests/leases.rs`).
//!
//! Every wait is on a condition, bounded; the bound on a take-over is generous (the lease is
//! 2 s here) because the machine may be busy: the figure is printed, not asserted.

use std::{path::Path, sync::Arc, time::Duration};

use causeway_client::admin::{
    ListProjectionsRequest, ProjectionInfo, projection_admin_client::ProjectionAdminClient,
};
use causeway_server::store::kurrentdb::KurrentDbEventStore;
use causeway_tests::{
    crash::{Deployment, Ledger, Seed, load_until_killed, verify_with},
    kurrentdb::KurrentDbDouble,
    mongo::{MongoServer, Topology, process::ServerProcess, unique_database},
};
use tokio::time::Instant;

/// The lease's time to live in these tests (the default is 10 s).
const TTL: &str = "2s";
/// Bound on any wait for leases to settle: far beyond a take-over's 2 s plus a renewal, and
/// beyond MongoDB's 60 s limit on a transaction that a frozen replica left open (see
/// `readstore::mongodb::leases`).
const BOUND: Duration = Duration::from_secs(120);
/// Every lease a projection process holds.
const LEASES: [&str; 5] = [
    "fulfilment",
    "fulfilment_deadlines",
    "orders",
    "products",
    "users",
];

fn replica_with_ttl(deployment: &Deployment<'_>, log: &Path, ttl: &str) -> ServerProcess {
    deployment.start_with_args("projection", &["--lease-ttl", ttl], Some(log))
}

async fn projections(process: &ServerProcess) -> Vec<ProjectionInfo> {
    let mut admin = ProjectionAdminClient::new(process.channel().await);
    admin
        .list_projections(ListProjectionsRequest {})
        .await
        .expect("admin answers")
        .into_inner()
        .projections
}

/// Waits until every lease `process` reports satisfies `holds`; returns what it reported.
async fn until_every_lease(
    process: &ServerProcess,
    what: &str,
    holds: impl Fn(&ProjectionInfo) -> bool,
) -> Vec<ProjectionInfo> {
    let deadline = Instant::now() + BOUND;
    loop {
        let all = projections(process).await;
        let names: Vec<&str> = all.iter().map(|p| p.name.as_str()).collect();
        if names == LEASES && all.iter().all(&holds) {
            return all;
        }
        assert!(Instant::now() < deadline, "never {what}: {all:#?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Starts the active replica, then the standby once the first holds every lease; returns
/// them with the epochs the active one holds.
async fn active_and_standby(
    deployment: &Deployment<'_>,
    logs: &Path,
) -> (ServerProcess, ServerProcess, Vec<ProjectionInfo>) {
    active_and_standby_with_ttl(deployment, logs, TTL).await
}

/// [`active_and_standby`], their leases lasting `ttl`.
async fn active_and_standby_with_ttl(
    deployment: &Deployment<'_>,
    logs: &Path,
    ttl: &str,
) -> (ServerProcess, ServerProcess, Vec<ProjectionInfo>) {
    let active = replica_with_ttl(deployment, &logs.join("active.log"), ttl);
    let held = until_every_lease(&active, "held by the first replica", |p| {
        p.lease_held && p.state != "standby"
    })
    .await;
    let holder = held[0].lease_holder.clone();
    assert!(held.iter().all(|p| p.lease_holder == holder), "{held:#?}");
    let standby = replica_with_ttl(deployment, &logs.join("standby.log"), ttl);
    until_every_lease(&standby, "standing by", |p| {
        !p.lease_held && p.state == "standby" && p.lease_holder == holder
    })
    .await;
    (active, standby, held)
}

/// Waits until `standby` holds every lease under a later epoch than `before`.
async fn taken_over(standby: &ServerProcess, before: &[ProjectionInfo], since: Instant) {
    let now_held = until_every_lease(standby, "taken over by the standby", |p| p.lease_held).await;
    println!("the standby held every lease {:?} after", since.elapsed());
    for (old, new) in before.iter().zip(&now_held) {
        assert_eq!(old.name, new.name);
        assert!(
            new.lease_epoch > old.lease_epoch,
            "{}: epoch {} after {}",
            new.name,
            new.lease_epoch,
            old.lease_epoch
        );
        assert_ne!(new.lease_holder, old.lease_holder);
    }
}

async fn take_over_after_sigkill(deployment: &Deployment<'_>) {
    let logs = tempfile::tempdir().unwrap();
    let command = deployment.start_with_args("command", &[], None);
    let (active, standby, held) = active_and_standby(deployment, logs.path()).await;
    let channel = command.channel().await;
    let mut rng = Seed::from_env_or_clock();
    println!("replicas seed: {rng:?}");
    let ledger = load_until_killed(
        channel.clone(),
        Ledger::default(),
        30,
        &mut rng,
        move || active.kill(),
    )
    .await;
    let killed = Instant::now();
    // Commands keep flowing while the standby waits out the dead replica's leases.
    let ledger = load_until_killed(channel.clone(), ledger, 30, &mut rng, || {}).await;
    taken_over(&standby, &held, killed).await;
    let mut ledger = load_until_killed(channel, ledger, 30, &mut rng, || {}).await;
    verify_with(deployment, &mut ledger, &standby).await;
}

/// SIGTERM: the replica releases its leases as it stops, so they lapse when it exits rather
/// than a time to live later, and the standby takes them over at its next ask. The leases last
/// 30 s here, so a lease the stopped replica had kept would still run for 20 s or more.
#[tokio::test(flavor = "multi_thread")]
async fn a_replica_stopped_with_sigterm_releases_its_leases_to_the_standby() {
    use causeway_server::{
        lease::millis,
        readstore::{ReadStore, embedded::EmbeddedReadStore},
    };

    let data = tempfile::tempdir().unwrap();
    let deployment = Deployment::embedded(data.path());
    let logs = tempfile::tempdir().unwrap();
    let (mut active, standby, held) =
        active_and_standby_with_ttl(&deployment, logs.path(), "30s").await;
    let stopping = held[0].lease_holder.clone();
    signal(&active, "TERM");
    let deadline = Instant::now() + BOUND;
    while active.is_running() {
        assert!(Instant::now() < deadline, "the replica never stopped");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let stopped = Instant::now();

    let leases = EmbeddedReadStore::open(data.path())
        .expect("the read store opens beside the standby")
        .leases();
    let now = millis(std::time::SystemTime::now());
    for name in LEASES {
        let record = leases
            .current(name)
            .await
            .expect("the lease reads")
            .expect("granted once");
        // Taken over already, or lapsed: never still running for the replica that stopped.
        assert!(
            record.holder != stopping || record.expires_ms <= now,
            "{name} is still held by the stopped replica for {} ms",
            record.expires_ms.saturating_sub(now)
        );
    }
    taken_over(&standby, &held, stopped).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn embedded_standby_takes_over_from_a_killed_replica() {
    let data = tempfile::tempdir().unwrap();
    let deployment = Deployment::embedded(data.path());
    take_over_after_sigkill(&deployment).await;
}

/// Events in KurrentDB (the double), read models in MongoDB.
///
/// A standalone server (batches through the journal), not a replica set: SecantusDB never
/// gives up the open transaction of a client that was killed or frozen in the middle of a
/// commit, so the fence document that transaction wrote would stay locked and no successor
/// could ever be granted the lease there; MongoDB aborts such a transaction after
/// `transactionLifetimeLimitSeconds`. Fencing inside transactions is covered, deterministically,
/// by the lease conformance suite's replica-set run (`mongo_readstore`).
struct Production {
    _events: KurrentDbDouble,
    _reads: MongoServer,
    data: tempfile::TempDir,
    env: Vec<(&'static str, String)>,
    url: String,
}

impl Production {
    async fn start() -> Self {
        let (double, url) = KurrentDbDouble::start().await;
        let mongo = MongoServer::start(Topology::Standalone).await;
        let env = vec![
            ("KURRENTDB_URL", url.clone()),
            ("MONGODB_URL", mongo.url().to_owned()),
            ("CAUSEWAY_MONGODB_DATABASE", unique_database()),
        ];
        Self {
            _events: double,
            _reads: mongo,
            data: tempfile::tempdir().unwrap(),
            env,
            url,
        }
    }

    fn deployment(&self) -> Deployment<'_> {
        Deployment {
            data_dir: self.data.path(),
            env: self.env.clone(),
            events: Arc::new(KurrentDbEventStore::connect(&self.url).unwrap()),
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn mongodb_standby_takes_over_from_a_killed_replica() {
    let production = Production::start().await;
    take_over_after_sigkill(&production.deployment()).await;
}

fn signal(process: &ServerProcess, signal: &str) {
    let status = std::process::Command::new("kill")
        .args([&format!("-{signal}"), &process.pid().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -{signal}");
}

/// Mongo + KurrentDB: a replica frozen past its leases commits nothing once it wakes.
#[tokio::test(flavor = "multi_thread")]
async fn a_replica_paused_past_its_lease_commits_nothing_after_waking() {
    let production = Production::start().await;
    let deployment = production.deployment();
    let logs = tempfile::tempdir().unwrap();
    let command = deployment.start_with_args("command", &[], None);
    let (paused, standby, held) = active_and_standby(&deployment, logs.path()).await;
    let channel = command.channel().await;
    let mut rng = Seed::from_env_or_clock();
    println!("replicas seed: {rng:?}");
    // Frozen in mid-flight: batches read, commits and renewals pending.
    let ledger = load_until_killed(channel.clone(), Ledger::default(), 30, &mut rng, || {
        signal(&paused, "STOP")
    })
    .await;
    let stopped = Instant::now();
    let ledger = load_until_killed(channel.clone(), ledger, 30, &mut rng, || {}).await;
    taken_over(&standby, &held, stopped).await;
    // The new holder commits under its epoch before the old one wakes.
    let ledger = load_until_killed(channel.clone(), ledger, 30, &mut rng, || {}).await;
    signal(&paused, "CONT");
    // Awake, it holds none of the grants it had: each lease is either the successor's, or
    // (should the successor have let one lapse meanwhile) granted to it anew, a later epoch.
    until_every_lease(&paused, "rid of its old grants", |p| {
        let before = held.iter().find(|h| h.name == p.name).expect("same leases");
        !p.lease_held || p.lease_epoch > before.lease_epoch + 1
    })
    .await;
    let log = std::fs::read_to_string(logs.path().join("active.log")).expect("its log");
    assert!(
        log.contains("lease lost") || log.contains("fenced commit refused"),
        "the woken replica says why it stopped:\n{log}"
    );
    let ledger = load_until_killed(channel, ledger, 30, &mut rng, || {}).await;
    // The successor runs everything once the woken one is gone; anything the woken one had
    // in flight that landed would show as a read model unlike a clean rebuild.
    let gone = Instant::now();
    paused.kill();
    let mut ledger = ledger;
    until_every_lease(&standby, "held by the successor", |p| p.lease_held).await;
    println!("the successor held every lease {:?} after", gone.elapsed());
    verify_with(&deployment, &mut ledger, &standby).await;
}
