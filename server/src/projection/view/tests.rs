//! The batch view over a real embedded read store: reads see earlier writes of the batch, only
//! the last write of each document is committed, and rollbacks restore exactly what was queued.

use serde_json::{Value, json};
use tempfile::TempDir;

use super::BatchView;
use crate::readstore::{Document, ReadStore, WriteOp, embedded::EmbeddedReadStore};

fn store() -> (TempDir, EmbeddedReadStore) {
    let dir = TempDir::new().unwrap();
    let reads = EmbeddedReadStore::open(dir.path()).unwrap();
    (dir, reads)
}

fn upsert(collection: &str, id: &str, body: Value) -> WriteOp {
    WriteOp::Upsert {
        collection: collection.to_owned(),
        document: Document {
            id: id.to_owned(),
            body,
        },
    }
}

#[tokio::test]
async fn reads_see_the_batch_and_fall_through_to_the_generation() {
    let (_dir, reads) = store();
    // Given a committed document in generation 3
    reads
        .apply("t_g3", vec![upsert("things_g3", "a", json!({"n": 1}))], 1)
        .await
        .unwrap();
    let mut view = BatchView::new(&reads, 3);
    assert_eq!(
        view.get("things", "a").await.unwrap(),
        Some(json!({"n": 1}))
    );
    // When the batch replaces one document and deletes it again, and adds another
    view.put("things", "a", json!({"n": 2}));
    let typed: Option<Value> = view.get_as("things", "a").await.unwrap();
    assert_eq!(typed, Some(json!({"n": 2})));
    view.delete("things", "a");
    view.put("things", "b", json!({"n": 9}));
    // Then reads see the batch, not the store
    assert_eq!(view.get("things", "a").await.unwrap(), None);
    let typed: Option<Value> = view.get_as("things", "a").await.unwrap();
    assert_eq!(typed, None);
    assert_eq!(
        view.get("things", "b").await.unwrap(),
        Some(json!({"n": 9}))
    );
    assert_eq!(view.len(), 3);
}

#[tokio::test]
async fn only_the_last_write_of_each_document_is_committed_in_first_write_order() {
    let (_dir, reads) = store();
    let mut view = BatchView::new(&reads, 1);
    // Given many folds of two documents, interleaved, and one document put then deleted
    for n in 0..100 {
        view.put("things", "a", json!({ "n": n }));
        view.put("things", "b", json!({ "n": -n }));
    }
    view.put("things", "c", json!({}));
    view.delete("things", "c");
    // When the batch is turned into writes
    let ops = view.into_ops().unwrap();
    // Then there is one write per document, the last, in the order of their first writes
    assert_eq!(
        ops,
        vec![
            upsert("things_g1", "a", json!({"n": 99})),
            upsert("things_g1", "b", json!({"n": -99})),
            WriteOp::Delete {
                collection: "things_g1".into(),
                id: "c".into()
            },
        ]
    );
}

#[tokio::test]
async fn a_rollback_restores_the_queued_states_before_the_savepoint() {
    let (_dir, reads) = store();
    let mut view = BatchView::new(&reads, 1);
    // Given one event's writes
    view.put("things", "a", json!({"n": 1}));
    view.put("things", "a", json!({"n": 2}));
    let savepoint = view.savepoint();
    // When the next event writes over them, adds and deletes, then fails
    view.put("things", "a", json!({"n": 3}));
    view.put("things", "b", json!({"n": 1}));
    view.delete("things", "a");
    view.rollback_to(savepoint);
    // Then the batch is exactly what the first event left
    assert_eq!(
        view.get("things", "a").await.unwrap(),
        Some(json!({"n": 2}))
    );
    assert_eq!(view.get("things", "b").await.unwrap(), None);
    assert_eq!(view.len(), 2);
    // And a document written again after the rollback is committed once
    view.put("things", "b", json!({"n": 5}));
    assert_eq!(
        view.into_ops().unwrap(),
        vec![
            upsert("things_g1", "a", json!({"n": 2})),
            upsert("things_g1", "b", json!({"n": 5})),
        ]
    );
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Counter {
    n: u64,
}

#[tokio::test]
async fn typed_documents_read_back_as_themselves_or_as_json_and_commit_as_json() {
    let (_dir, reads) = store();
    let mut view = BatchView::new(&reads, 1);
    // Given a document queued as a typed value
    view.put_as("things", "a", Counter { n: 7 });
    // Then it reads back as its type, as JSON, and as any type its JSON fits
    let typed: Option<Counter> = view.get_as("things", "a").await.unwrap();
    assert_eq!(typed, Some(Counter { n: 7 }));
    assert_eq!(
        view.get("things", "a").await.unwrap(),
        Some(json!({"n": 7}))
    );
    let as_json: Option<Value> = view.get_as("things", "a").await.unwrap();
    assert_eq!(as_json, Some(json!({"n": 7})));
    // And a JSON document reads back as the type
    view.put("things", "b", json!({"n": 8}));
    let typed: Option<Counter> = view.get_as("things", "b").await.unwrap();
    assert_eq!(typed, Some(Counter { n: 8 }));
    // And the commit writes JSON
    assert_eq!(
        view.into_ops().unwrap(),
        vec![
            upsert("things_g1", "a", json!({"n": 7})),
            upsert("things_g1", "b", json!({"n": 8})),
        ]
    );
}

#[tokio::test]
async fn a_typed_document_that_is_not_json_fails_the_commit_naming_it() {
    let (_dir, reads) = store();
    let mut view = BatchView::new(&reads, 1);
    // Given a document JSON cannot hold: a map keyed by numbers pairs
    let mut bad = std::collections::HashMap::new();
    bad.insert((1u8, 2u8), 3u8);
    view.put_as("things", "weird", bad);
    // When the batch is committed, then it fails and names the document
    let err = view.into_ops().unwrap_err().to_string();
    assert!(err.contains("things/weird"), "{err}");
}
