//! The `ReadStore` and lease conformance suites, unchanged, against MongoDB in both commit
//! paths: a one-node replica set (transactions) and a standalone server (the journal). Plus what only
//! this adapter promises: the commit path detected from the deployment, a crash between the
//! documents and the checkpoint, indexes as declared, and failing fast while MongoDB is away.

use std::{sync::Arc, time::Duration};

use causeway_server::readstore::{
    Filter, IndexSpec, Query, ReadStore, ReadStoreError,
    conformance::{ids, unique_name, upsert},
    mongodb::{Atomicity, MongoReadStore, MongoSettings},
};
use causeway_tests::mongo::{MongoServer, Topology};
use serde_json::json;

mod replica_set {
    use super::*;

    causeway_server::readstore_conformance!(async {
        let server = MongoServer::start(Topology::ReplicaSet).await;
        let store: Arc<dyn ReadStore> = server.store().await;
        (store, server)
    });

    causeway_server::lease_conformance!(async {
        let server = MongoServer::start(Topology::ReplicaSet).await;
        let store: Arc<dyn ReadStore> = server.store().await;
        (store, server)
    });
}

mod standalone {
    use super::*;

    causeway_server::readstore_conformance!(async {
        let server = MongoServer::start(Topology::Standalone).await;
        let store: Arc<dyn ReadStore> = server.store().await;
        (store, server)
    });

    causeway_server::lease_conformance!(async {
        let server = MongoServer::start(Topology::Standalone).await;
        let store: Arc<dyn ReadStore> = server.store().await;
        (store, server)
    });
}

/// A crash between writing a batch's documents and its checkpoint leaves no trace of the batch
/// (transactions) or leaves it pending until the writer finishes it (journal); either way the
/// checkpoint and the documents agree once the writer reads the checkpoint again, and readers
/// that do not finish batches never see the checkpoint ahead of the documents.
async fn a_crash_between_documents_and_checkpoint(topology: Topology) {
    let server = MongoServer::start(topology).await;
    let database = causeway_tests::mongo::unique_database();
    let writer = server.store_in(&database).await;
    let reader = MongoReadStore::connect(
        server.url(),
        server.settings(&database).with_finishing_batches(false),
    )
    .await
    .expect("reader");
    let (p, c) = (unique_name("proj"), unique_name("crash"));
    writer
        .apply(&p, vec![upsert(&c, "a", json!({"v": 1}))], 1)
        .await
        .expect("apply");

    let batch = vec![
        upsert(&c, "a", json!({"v": 2})),
        upsert(&c, "b", json!({"v": 1})),
    ];
    writer.fail_next_apply_after_documents();
    let failed = writer.apply(&p, batch.clone(), 2).await;
    assert!(
        matches!(failed, Err(ReadStoreError::Unavailable(_))),
        "{failed:?}"
    );
    assert_eq!(reader.checkpoint(&p).await.expect("checkpoint"), Some(1));
    let b = reader.get(&c, "b").await.expect("get");
    match topology {
        Topology::ReplicaSet => assert_eq!(b, None, "an aborted transaction leaves nothing"),
        Topology::Standalone => assert!(b.is_some(), "the journal's writes are in"),
    }

    // The writer's next look at its checkpoint finishes (or finds nothing of) the batch.
    let after = writer.checkpoint(&p).await.expect("checkpoint");
    let a = writer.get(&c, "a").await.expect("get").expect("a").body;
    match topology {
        Topology::ReplicaSet => assert_eq!((after, a), (Some(1), json!({"v": 1}))),
        Topology::Standalone => assert_eq!((after, a), (Some(2), json!({"v": 2}))),
    }
    // The runner replays from the checkpoint: a replay of batch 2 is ignored or applies once.
    writer.apply(&p, batch, 2).await.expect("replay");
    assert_eq!(writer.checkpoint(&p).await.expect("checkpoint"), Some(2));
    assert_eq!(
        ids(&(writer.clone() as Arc<dyn ReadStore>), Query::new(&c)).await,
        ["a", "b"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn replica_set_crash_between_documents_and_checkpoint() {
    a_crash_between_documents_and_checkpoint(Topology::ReplicaSet).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn standalone_crash_between_documents_and_checkpoint() {
    a_crash_between_documents_and_checkpoint(Topology::Standalone).await;
}

/// A unique violation met after the journal's commit point (here: a document another writer put
/// in between) rolls the batch back whole and rejects it; the checkpoint stays.
#[tokio::test(flavor = "multi_thread")]
async fn standalone_unique_violation_after_the_commit_point_rolls_back() {
    let server = MongoServer::start(Topology::Standalone).await;
    let store = server.store().await;
    let (p, c) = (unique_name("proj"), unique_name("users"));
    let spec = IndexSpec {
        collection: c.clone(),
        fields: vec!["email".into()],
        unique: true,
    };
    store.ensure_indexes(&[spec]).await.expect("index");
    store
        .apply(&p, vec![upsert(&c, "u1", json!({"email": "a", "n": 1}))], 1)
        .await
        .expect("apply");
    let batch = vec![
        upsert(&c, "u1", json!({"email": "a", "n": 2})),
        upsert(&c, "u2", json!({"email": "b"})),
        upsert(&c, "u3", json!({"email": "a"})),
    ];
    let result = store.apply(&p, batch, 2).await;
    assert!(
        matches!(result, Err(ReadStoreError::Rejected(ref m)) if m.contains(&c)),
        "{result:?}"
    );
    let u1 = store.get(&c, "u1").await.expect("get").expect("u1");
    assert_eq!(u1.body, json!({"email": "a", "n": 1}), "restored");
    assert_eq!(store.get(&c, "u2").await.expect("get"), None);
    assert_eq!(store.checkpoint(&p).await.expect("checkpoint"), Some(1));
}

/// A batch may move a unique value from one document to another, in either order.
async fn unique_values_move_within_a_batch(topology: Topology) {
    let server = MongoServer::start(topology).await;
    let store = server.store().await;
    let (p, c) = (unique_name("proj"), unique_name("users"));
    let spec = IndexSpec {
        collection: c.clone(),
        fields: vec!["email".into()],
        unique: true,
    };
    store.ensure_indexes(&[spec]).await.expect("index");
    store
        .apply(&p, vec![upsert(&c, "u1", json!({"email": "a"}))], 1)
        .await
        .expect("apply");
    // u2 takes "a" before u1 gives it up: an unordered write trips the index, the retry fits.
    // A write to a collection after it (by name) is not lost to the conflict.
    let later = format!("zz_{c}");
    let batch = vec![
        upsert(&c, "u2", json!({"email": "a"})),
        upsert(&c, "u1", json!({"email": "b"})),
        upsert(&later, "x", json!({})),
    ];
    store
        .apply(&p, batch, 2)
        .await
        .expect("the batch's end state is valid");
    assert!(store.get(&later, "x").await.expect("get").is_some());
    let email = |id: &'static str| {
        let store = store.clone();
        let c = c.clone();
        async move { store.get(&c, id).await.expect("get").expect("doc").body["email"].clone() }
    };
    assert_eq!(
        (email("u1").await, email("u2").await),
        (json!("b"), json!("a"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn replica_set_unique_values_move_within_a_batch() {
    unique_values_move_within_a_batch(Topology::ReplicaSet).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn standalone_unique_values_move_within_a_batch() {
    unique_values_move_within_a_batch(Topology::Standalone).await;
}

/// Declared indexes exist under the body's paths, unique ones partial; bodies keep numbers'
/// kinds, huge integers exactly, and a document over 16 MiB is rejected with its batch.
#[tokio::test(flavor = "multi_thread")]
async fn documents_and_indexes_are_stored_as_declared() {
    let server = MongoServer::start(Topology::ReplicaSet).await;
    let store = server.store().await;
    let (p, c) = (unique_name("proj"), unique_name("shape"));
    let specs = [
        IndexSpec {
            collection: c.clone(),
            fields: vec!["customerId".into(), "placedAt".into()],
            unique: false,
        },
        IndexSpec {
            collection: c.clone(),
            fields: vec!["email".into()],
            unique: true,
        },
    ];
    store.ensure_indexes(&specs).await.expect("indexes");
    store.ensure_indexes(&specs).await.expect("idempotent");
    let body = json!({"big": u64::MAX, "f": 2.0, "i": 2, "neg": -1, "nested": {"$oid": "x"}});
    store
        .apply(&p, vec![upsert(&c, "a", body.clone())], 1)
        .await
        .expect("apply");
    assert_eq!(
        store.get(&c, "a").await.expect("get").expect("a").body,
        body
    );
    let exact = Query::new(&c).with_filter(Filter::eq("big", u64::MAX));
    let store_dyn: Arc<dyn ReadStore> = store.clone();
    assert_eq!(ids(&store_dyn, exact).await, ["a"]);
    assert_eq!(
        ids(&store_dyn, Query::new(&c).with_filter(Filter::gt("big", 1))).await,
        ["a"]
    );

    let huge = json!({"blob": "x".repeat(17 * 1024 * 1024)});
    let batch = vec![upsert(&c, "ok", json!({})), upsert(&c, "huge", huge)];
    let result = store.apply(&p, batch, 2).await;
    assert!(
        matches!(result, Err(ReadStoreError::Rejected(ref m)) if m.contains("16 MiB")),
        "{result:?}"
    );
    assert_eq!(store.get(&c, "ok").await.expect("get"), None);
    assert_eq!(store.checkpoint(&p).await.expect("checkpoint"), Some(1));
}

/// With nothing listening, every operation fails `Unavailable` within the short server
/// selection timeout instead of hanging, and the store works once the server is there.
#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_server_fails_fast_and_is_picked_up_when_it_appears() {
    let mut server = MongoServer::start_durable(Topology::ReplicaSet).await;
    let store = server.store().await;
    store
        .apply("p", vec![upsert("c", "a", json!({}))], 1)
        .await
        .expect("apply");
    server.stop().await;
    let started = tokio::time::Instant::now();
    let down = store.checkpoint("p").await;
    assert!(
        matches!(down, Err(ReadStoreError::Unavailable(_))),
        "{down:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    server.restart().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        match store.checkpoint("p").await {
            Ok(position) => {
                assert_eq!(position, Some(1), "durable storage kept the checkpoint");
                break;
            }
            Err(e) => assert!(
                tokio::time::Instant::now() < deadline,
                "never recovered: {e}"
            ),
        }
    }
    let atomicity = store.atomicity().await.expect("atomicity");
    assert_eq!(atomicity, Atomicity::Transactions);
    // A bad database name is refused up front.
    let bad = MongoReadStore::connect(server.url(), MongoSettings::new("a.b")).await;
    assert!(matches!(bad, Err(ReadStoreError::Invalid(_))));
}
