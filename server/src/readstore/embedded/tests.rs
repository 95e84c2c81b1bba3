//! The conformance suite on temporary directories, plus what only the embedded adapter
//! promises: fault-injected atomicity, durability across reopen, sharing a file between
//! processes, and index use.

use std::sync::Arc;

use serde_json::json;

use super::{EmbeddedReadStore, schema, sql};
use crate::readstore::{
    Filter, IndexSpec, Query, ReadStore, ReadStoreError, SortKey,
    conformance::{ids, upsert},
    filter::Cursor,
};

crate::readstore_conformance!(async {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = EmbeddedReadStore::open(dir.path()).expect("open");
    (Arc::new(store) as Arc<dyn ReadStore>, dir)
});

crate::lease_conformance!(async {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = EmbeddedReadStore::open(dir.path()).expect("open");
    (Arc::new(store) as Arc<dyn ReadStore>, dir)
});

fn open(dir: &tempfile::TempDir) -> Arc<dyn ReadStore> {
    Arc::new(EmbeddedReadStore::open(dir.path()).expect("open"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_batch_leaves_nothing_and_its_retry_applies() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = EmbeddedReadStore::open(dir.path()).expect("open");
    let (p, c) = ("orders-projection", "orders");
    store
        .apply(p, vec![upsert(c, "o1", json!({"v": 1}))], 1)
        .await
        .expect("apply");

    let batch = || {
        vec![
            upsert(c, "o1", json!({"v": 2})),
            upsert(c, "o2", json!({"v": 1})),
        ]
    };
    store.fail_next_apply_after_documents();
    let failed = store.apply(p, batch(), 2).await;
    assert!(
        matches!(failed, Err(ReadStoreError::Unavailable(_))),
        "{failed:?}"
    );
    let o1 = store.get(c, "o1").await.expect("get").expect("present");
    assert_eq!(
        o1.body,
        json!({"v": 1}),
        "the failed batch's update is invisible"
    );
    assert_eq!(store.get(c, "o2").await.expect("get"), None);
    assert_eq!(store.checkpoint(p).await.expect("checkpoint"), Some(1));

    store.apply(p, batch(), 2).await.expect("the retry applies");
    let o1 = store.get(c, "o1").await.expect("get").expect("present");
    assert_eq!(o1.body, json!({"v": 2}));
    assert!(store.get(c, "o2").await.expect("get").is_some());
    assert_eq!(store.checkpoint(p).await.expect("checkpoint"), Some(2));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_fault_hook_spares_replayed_batches() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = EmbeddedReadStore::open(dir.path()).expect("open");
    store.apply("p", vec![], 5).await.expect("apply");
    store.fail_next_apply_after_documents();
    store
        .apply("p", vec![], 5)
        .await
        .expect("a replay is skipped before the fault");
    let failed = store.apply("p", vec![], 6).await;
    assert!(
        failed.is_err(),
        "the hook is still armed for the next real batch"
    );
    store
        .apply("p", vec![], 6)
        .await
        .expect("disarmed after firing once");
}

#[tokio::test(flavor = "multi_thread")]
async fn data_survives_reopen() {
    let dir = tempfile::tempdir().expect("temp dir");
    let spec = IndexSpec {
        collection: "users".into(),
        fields: vec!["email".into()],
        unique: true,
    };
    {
        let store = open(&dir);
        store
            .ensure_indexes(std::slice::from_ref(&spec))
            .await
            .expect("index");
        let ops = vec![upsert("users", "u1", json!({"email": "a@x"}))];
        store
            .apply("users-projection", ops, 42)
            .await
            .expect("apply");
    }
    let store = open(&dir);
    store
        .ensure_indexes(&[spec])
        .await
        .expect("index is idempotent across opens");
    let doc = store
        .get("users", "u1")
        .await
        .expect("get")
        .expect("persisted");
    assert_eq!(doc.body, json!({"email": "a@x"}));
    assert_eq!(
        store
            .checkpoint("users-projection")
            .await
            .expect("checkpoint"),
        Some(42)
    );
    let dup = vec![upsert("users", "u2", json!({"email": "a@x"}))];
    let result = store.apply("users-projection", dup, 43).await;
    assert!(
        matches!(result, Err(ReadStoreError::Rejected(_))),
        "the index persisted too"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn two_instances_on_one_directory_see_each_others_commits() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (projector, reader) = (open(&dir), open(&dir));
    assert_eq!(reader.get("c", "a").await.expect("get"), None);
    projector
        .apply("p", vec![upsert("c", "a", json!({"n": 1}))], 1)
        .await
        .expect("apply");
    assert!(reader.get("c", "a").await.expect("get").is_some());
    assert_eq!(reader.checkpoint("p").await.expect("checkpoint"), Some(1));
    // Writers in both instances take turns on SQLite's lock instead of failing.
    let writes = (0..20_u64).map(|i| {
        let store = if i % 2 == 0 {
            Arc::clone(&projector)
        } else {
            Arc::clone(&reader)
        };
        tokio::spawn(async move {
            let ops = vec![upsert("c", &format!("w{i:02}"), json!({"n": i}))];
            store.apply(&format!("p{i}"), ops, 1).await
        })
    });
    for write in futures::future::join_all(writes).await {
        write.expect("task").expect("apply");
    }
    let query = Query::new("c").with_filter(Filter::gte("n", 0));
    assert_eq!(ids(&projector, query).await.len(), 21);
}

#[test]
fn queries_on_indexed_fields_use_the_partial_index_in_order() {
    let dir = tempfile::tempdir().expect("temp dir");
    let conn = schema::read_models_file(dir.path().join("read.db"))
        .open_writer(&schema::MIGRATIONS)
        .expect("open");
    let spec = IndexSpec {
        collection: "orders".into(),
        fields: vec!["customer.id".into()],
        unique: false,
    };
    conn.execute_batch(&sql::create_index(&spec).expect("ddl"))
        .expect("create");
    let by_customer = Query::new("orders").with_sort(SortKey::asc("customer.id"));
    let cursor = Cursor {
        values: vec![json!("c1")],
        id: "o1".into(),
    };
    let queries = [
        (
            Query::new("orders").with_filter(Filter::eq("customer.id", "c1")),
            None,
        ),
        (by_customer.clone(), None),
        (
            by_customer
                .clone()
                .with_filter(Filter::gt("customer.id", "c")),
            None,
        ),
        (by_customer, Some(&cursor)),
    ];
    for (query, cursor) in queries {
        let statement = sql::page(&query, cursor, 10).expect("sql");
        let plan: Vec<String> = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {}", statement.sql))
            .expect("prepare")
            .query_map(rusqlite::params_from_iter(statement.params), |row| {
                row.get(3)
            })
            .expect("plan")
            .collect::<Result<_, _>>()
            .expect("rows");
        let name = sql::index_name(&spec);
        assert!(plan.iter().any(|step| step.contains(&name)), "{plan:?}");
        assert!(
            !plan.iter().any(|step| step.contains("TEMP B-TREE")),
            "{plan:?}"
        );
        if cursor.is_some() {
            assert!(plan.iter().any(|step| step.contains("<expr>>")), "{plan:?}");
        }
    }
}

#[test]
fn index_names_are_per_collection_and_spec() {
    let spec = |collection: &str, unique| IndexSpec {
        collection: collection.into(),
        fields: vec!["a".into()],
        unique,
    };
    let name = sql::index_name(&spec("orders", false));
    assert!(sql::is_index_of(&name, "orders"));
    assert!(!sql::is_index_of(&name, "order"));
    assert!(!sql::is_index_of(
        &sql::index_name(&spec("orders_v2", false)),
        "orders"
    ));
    assert_ne!(name, sql::index_name(&spec("orders", true)));
    assert!(sql::create_index(&spec("bad'name", false)).is_err());
}
