//! SIGKILL under load, over each backend: the embedded stores, events in KurrentDB (the
//! protocol double) and read models in MongoDB (SecantusDB, standalone: the journal path). A
//! command process and a projection process serve concurrent clients and are killed together
//! at a random moment, for several rounds; then no acknowledged command is missing, every
//! acknowledged command id answers `deduplicated` with its ack, nothing is applied twice, and
//! the read models equal a clean rebuild (see `causeway_tests::crash`).

use std::sync::Arc;

use causeway_server::store::{EventStore, kurrentdb::KurrentDbEventStore};
use causeway_tests::{
    crash::{Deployment, Seed, run},
    kurrentdb::KurrentDbDouble,
    mongo::{MongoServer, Topology, unique_database},
};

const ROUNDS: usize = 3;

fn seed() -> Seed {
    Seed::from_env_or_clock()
}

#[tokio::test(flavor = "multi_thread")]
async fn embedded_stores_keep_every_promise_across_sigkills() {
    let data = tempfile::tempdir().unwrap();
    let deployment = Deployment::embedded(data.path());
    let ledger = run(&deployment, ROUNDS, seed()).await;
    assert!(ledger.acknowledged().count() >= ROUNDS * 10);
}

#[tokio::test(flavor = "multi_thread")]
async fn kurrentdb_keeps_every_promise_across_sigkills() {
    let (_double, url) = KurrentDbDouble::start().await;
    let data = tempfile::tempdir().unwrap();
    let events: Arc<dyn EventStore> = Arc::new(KurrentDbEventStore::connect(&url).unwrap());
    let deployment = Deployment {
        data_dir: data.path(),
        env: vec![("KURRENTDB_URL", url.clone())],
        events,
    };
    run(&deployment, ROUNDS, seed()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn mongodb_read_models_keep_every_promise_across_sigkills() {
    let mongo = MongoServer::start(Topology::Standalone).await;
    let data = tempfile::tempdir().unwrap();
    let deployment = Deployment {
        env: vec![
            ("MONGODB_URL", mongo.url().to_owned()),
            ("CAUSEWAY_MONGODB_DATABASE", unique_database()),
        ],
        ..Deployment::embedded(data.path())
    };
    run(&deployment, ROUNDS, seed()).await;
}
