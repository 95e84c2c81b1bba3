//! Cases on writing: documents, batches, checkpoints, unique indexes, dropping and resetting.

use std::sync::Arc;

use serde_json::json;

use super::{delete, ids, unique_name, upsert, write};
use crate::readstore::{Filter, IndexSpec, Query, ReadStore, ReadStoreError};

/// A document reads back as written, is replaced whole by an upsert and is gone after a delete;
/// collections do not see each other's documents.
pub async fn get_upsert_delete_round_trip(store: Arc<dyn ReadStore>) {
    let (c, other) = (unique_name("docs"), unique_name("docs"));
    assert_eq!(store.get(&c, "a").await.expect("get"), None);
    let body = json!({"name": "Ada", "tags": ["x"], "nested": {"n": 1.5}, "ok": true});
    write(&store, vec![upsert(&c, "a", body.clone())]).await;
    let doc = store.get(&c, "a").await.expect("get").expect("present");
    assert_eq!((doc.id.as_str(), &doc.body), ("a", &body));
    assert_eq!(store.get(&other, "a").await.expect("get"), None);

    write(&store, vec![upsert(&c, "a", json!({"name": "Grace"}))]).await;
    let doc = store.get(&c, "a").await.expect("get").expect("present");
    assert_eq!(
        doc.body,
        json!({"name": "Grace"}),
        "an upsert replaces the whole body"
    );

    write(&store, vec![delete(&c, "a"), delete(&c, "never-existed")]).await;
    assert_eq!(store.get(&c, "a").await.expect("get"), None);
}

/// The ops of one batch take effect in order.
pub async fn ops_apply_in_order(store: Arc<dyn ReadStore>) {
    let c = unique_name("order");
    let ops = vec![
        upsert(&c, "a", json!({"v": 1})),
        upsert(&c, "a", json!({"v": 2})),
        upsert(&c, "b", json!({"v": 1})),
        delete(&c, "b"),
        delete(&c, "c"),
        upsert(&c, "c", json!({"v": 3})),
    ];
    write(&store, ops).await;
    for (id, expected) in [
        ("a", Some(json!({"v": 2}))),
        ("b", None),
        ("c", Some(json!({"v": 3}))),
    ] {
        let body = store.get(&c, id).await.expect("get").map(|d| d.body);
        assert_eq!(body, expected, "{id}");
    }
}

/// A checkpoint is absent before the first batch and follows each applied batch; projections
/// have independent checkpoints.
pub async fn checkpoint_moves_with_apply(store: Arc<dyn ReadStore>) {
    let (p, q, c) = (unique_name("proj"), unique_name("proj"), unique_name("cp"));
    assert_eq!(store.checkpoint(&p).await.expect("checkpoint"), None);
    store.apply(&p, vec![], 5).await.expect("empty batch");
    assert_eq!(store.checkpoint(&p).await.expect("checkpoint"), Some(5));
    let ops = vec![upsert(&c, "x", json!({}))];
    store.apply(&p, ops, 9).await.expect("apply");
    assert_eq!(store.checkpoint(&p).await.expect("checkpoint"), Some(9));
    assert_eq!(store.checkpoint(&q).await.expect("checkpoint"), None);
}

/// A batch at or below the checkpoint was applied before (a replay after a crash) and is
/// ignored: documents and checkpoint stay as they are.
pub async fn stale_batches_are_ignored(store: Arc<dyn ReadStore>) {
    let (p, c) = (unique_name("proj"), unique_name("stale"));
    let batch = |v: i64| {
        vec![
            upsert(&c, "a", json!({"v": v})),
            upsert(&c, &format!("n{v}"), json!({})),
        ]
    };
    store.apply(&p, batch(1), 10).await.expect("apply");
    store
        .apply(&p, batch(2), 10)
        .await
        .expect("replay at the checkpoint");
    store
        .apply(&p, batch(3), 7)
        .await
        .expect("replay below the checkpoint");
    let doc = store.get(&c, "a").await.expect("get").expect("present");
    assert_eq!(doc.body, json!({"v": 1}));
    assert_eq!(ids(&store, Query::new(&c)).await, ["a", "n1"]);
    assert_eq!(store.checkpoint(&p).await.expect("checkpoint"), Some(10));
}

/// A unique index refuses a batch that would duplicate a value, whole: nothing of it becomes
/// visible and the checkpoint stays. Documents lacking the field are not constrained; the index
/// is per collection; a value freed earlier in the batch can be taken.
pub async fn unique_index_rejects_whole_batch(store: Arc<dyn ReadStore>) {
    let (p, c, other) = (
        unique_name("proj"),
        unique_name("users"),
        unique_name("users"),
    );
    let spec = IndexSpec {
        collection: c.clone(),
        fields: vec!["email".to_owned()],
        unique: true,
    };
    store
        .ensure_indexes(std::slice::from_ref(&spec))
        .await
        .expect("index");
    store.ensure_indexes(&[spec]).await.expect("index again");
    let user = |email: &str| json!({"email": email});

    let dup = vec![upsert(&c, "u1", user("a@x")), upsert(&c, "u2", user("a@x"))];
    match store.apply(&p, dup, 1).await {
        Err(ReadStoreError::Rejected(message)) => assert!(message.contains(&c), "{message}"),
        other => panic!("expected Rejected, got {other:?}"),
    }
    assert_eq!(ids(&store, Query::new(&c)).await, Vec::<String>::new());
    assert_eq!(store.checkpoint(&p).await.expect("checkpoint"), None);

    store
        .apply(&p, vec![upsert(&c, "u1", user("a@x"))], 1)
        .await
        .expect("apply");
    let clash = vec![upsert(&c, "u3", user("b@x")), upsert(&c, "u2", user("a@x"))];
    let result = store.apply(&p, clash, 2).await;
    assert!(
        matches!(result, Err(ReadStoreError::Rejected(_))),
        "{result:?}"
    );
    assert_eq!(ids(&store, Query::new(&c)).await, ["u1"]);
    assert_eq!(store.checkpoint(&p).await.expect("checkpoint"), Some(1));

    let fine = vec![
        upsert(
            &c,
            "u1",
            json!({"email": "a@x", "name": "same doc, same value"}),
        ),
        upsert(&c, "n1", json!({})),
        upsert(&c, "n2", json!({})),
        upsert(&other, "u9", user("a@x")),
    ];
    store.apply(&p, fine, 3).await.expect("no violation");
    let moved = vec![delete(&c, "u1"), upsert(&c, "u2", user("a@x"))];
    store.apply(&p, moved, 4).await.expect("freed value reused");
    assert_eq!(ids(&store, Query::new(&c)).await, ["n1", "n2", "u2"]);
    assert_eq!(store.checkpoint(&p).await.expect("checkpoint"), Some(4));
}

/// Dropping a collection removes its documents and indexes, leaves other collections and
/// checkpoints alone, and is harmless when the collection does not exist.
pub async fn drop_collection_removes_documents_and_indexes(store: Arc<dyn ReadStore>) {
    let (p, c, keep) = (
        unique_name("proj"),
        unique_name("gen1"),
        unique_name("gen2"),
    );
    let spec = IndexSpec {
        collection: c.clone(),
        fields: vec!["k".to_owned()],
        unique: true,
    };
    store.ensure_indexes(&[spec]).await.expect("index");
    let ops = vec![
        upsert(&c, "a", json!({"k": 1})),
        upsert(&c, "b", json!({"k": 2})),
        upsert(&keep, "a", json!({"k": 1})),
    ];
    store.apply(&p, ops, 3).await.expect("apply");
    store.drop_collection(&c).await.expect("drop");
    store.drop_collection(&c).await.expect("drop again");
    assert_eq!(store.get(&c, "a").await.expect("get"), None);
    assert!(ids(&store, Query::new(&c)).await.is_empty());
    assert_eq!(ids(&store, Query::new(&keep)).await, ["a"]);
    assert_eq!(store.checkpoint(&p).await.expect("checkpoint"), Some(3));
    let same = vec![
        upsert(&c, "x", json!({"k": 1})),
        upsert(&c, "y", json!({"k": 1})),
    ];
    write(&store, same).await;
    assert_eq!(
        ids(&store, Query::new(&c)).await,
        ["x", "y"],
        "the index went too"
    );
}

/// After a reset the projection starts over: no checkpoint, and low positions apply again.
pub async fn reset_checkpoint_allows_rebuild(store: Arc<dyn ReadStore>) {
    let (p, c) = (unique_name("proj"), unique_name("rebuild"));
    store.reset_checkpoint(&p).await.expect("reset unknown");
    store
        .apply(&p, vec![upsert(&c, "a", json!({"v": 1}))], 5)
        .await
        .expect("apply");
    store.reset_checkpoint(&p).await.expect("reset");
    assert_eq!(store.checkpoint(&p).await.expect("checkpoint"), None);
    store
        .apply(&p, vec![upsert(&c, "a", json!({"v": 2}))], 1)
        .await
        .expect("apply");
    assert_eq!(store.checkpoint(&p).await.expect("checkpoint"), Some(1));
    let doc = store.get(&c, "a").await.expect("get").expect("present");
    assert_eq!(doc.body, json!({"v": 2}));
}

/// Malformed names and queries are `Invalid`; a document that cannot be stored is `Rejected`
/// and takes its batch with it.
pub async fn invalid_requests_are_refused(store: Arc<dyn ReadStore>) {
    let (p, c) = (unique_name("proj"), unique_name("bad"));
    let invalid = |r: Result<(), ReadStoreError>| matches!(r, Err(ReadStoreError::Invalid(_)));
    assert!(invalid(store.get("no spaces", "a").await.map(|_| ())));
    assert!(invalid(store.query(&Query::new("a.b")).await.map(|_| ())));
    for filter in [
        Filter::eq("a;b", 1),
        Filter::eq("", 1),
        Filter::eq("a..b", 1),
        Filter::eq("a", serde_json::Value::Null),
        Filter::eq("a", json!({"$gt": 1})),
        Filter::between("a", 1, "z"),
    ] {
        let query = Query::new(&c).with_filter(filter.clone());
        assert!(invalid(store.query(&query).await.map(|_| ())), "{filter:?}");
    }
    let bad_index = IndexSpec {
        collection: c.clone(),
        fields: vec!["x') --".to_owned()],
        unique: false,
    };
    assert!(invalid(store.ensure_indexes(&[bad_index]).await));
    let not_object = vec![upsert(&c, "a", json!({})), upsert(&c, "b", json!([1]))];
    let result = store.apply(&p, not_object, 1).await;
    assert!(
        matches!(result, Err(ReadStoreError::Rejected(_))),
        "{result:?}"
    );
    assert_eq!(store.get(&c, "a").await.expect("get"), None);
    assert_eq!(store.checkpoint(&p).await.expect("checkpoint"), None);
}
