//! Snapshots in the embedded store: kept in the writer's next transaction, never replaced by an
//! older one of the same version, always by one of another version; read back alone or with
//! the events from their revision on; and kept across reopen.

use tempfile::TempDir;

use super::{Durability, EmbeddedEventStore};
use crate::store::{EventStore, ExpectedRevision, NewEvent, Snapshot, StreamTail};

fn event(tag: &str) -> NewEvent {
    NewEvent {
        id: uuid::Uuid::new_v4(),
        event_type: "causeway.test.v1.Tested".to_owned(),
        data: tag.as_bytes().to_vec(),
        metadata: b"{}".to_vec(),
    }
}

fn snapshot(version: u32, revision: u64, state: &str) -> Snapshot {
    Snapshot {
        version,
        revision,
        position: revision + 1,
        state: state.as_bytes().to_vec(),
    }
}

/// Writes `snapshot` and an append behind it: once the append is answered, the writer's
/// transaction that kept the snapshot has committed.
async fn keep(store: &EmbeddedEventStore, stream: &str, snapshot: Snapshot) {
    store
        .write_snapshot(stream, snapshot)
        .await
        .expect("queued");
    store
        .append("flush-1", ExpectedRevision::Any, vec![event("flush")])
        .await
        .expect("append");
}

async fn kept(store: &EmbeddedEventStore, stream: &str) -> Option<(u32, u64, String)> {
    store
        .read_snapshot(stream)
        .await
        .expect("read")
        .map(|s| (s.version, s.revision, String::from_utf8(s.state).unwrap()))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_latest_snapshot_of_the_current_version_is_kept() {
    let dir = TempDir::new().unwrap();
    let store = EmbeddedEventStore::open(dir.path(), Durability::Full).unwrap();
    assert_eq!(kept(&store, "jar-1").await, None);
    keep(&store, "jar-1", snapshot(1, 10, "ten")).await;
    assert_eq!(kept(&store, "jar-1").await, Some((1, 10, "ten".into())));
    keep(&store, "jar-1", snapshot(1, 5, "five")).await;
    assert_eq!(
        kept(&store, "jar-1").await,
        Some((1, 10, "ten".into())),
        "older ignored"
    );
    keep(&store, "jar-1", snapshot(1, 10, "ten again")).await;
    assert_eq!(
        kept(&store, "jar-1").await,
        Some((1, 10, "ten again".into()))
    );
    keep(&store, "jar-1", snapshot(2, 3, "new code")).await;
    assert_eq!(
        kept(&store, "jar-1").await,
        Some((2, 3, "new code".into())),
        "another version wins"
    );
    assert_eq!(kept(&store, "jar-2").await, None, "per stream");
    drop(store);
    let store = EmbeddedEventStore::open(dir.path(), Durability::Full).unwrap();
    assert_eq!(
        kept(&store, "jar-1").await,
        Some((2, 3, "new code".into())),
        "kept across reopen"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_tail_is_the_snapshot_and_the_events_from_its_revision_on() {
    let dir = TempDir::new().unwrap();
    let store = EmbeddedEventStore::open(dir.path(), Durability::Full).unwrap();
    let events: Vec<NewEvent> = (0..6).map(|i| event(&format!("e{i}"))).collect();
    store
        .append("jar-1", ExpectedRevision::NoStream, events.clone())
        .await
        .unwrap();
    let StreamTail {
        snapshot,
        events: all,
    } = store.read_tail("jar-1").await.unwrap();
    assert!(snapshot.is_none());
    assert_eq!(all.len(), 6, "every event without a snapshot");
    keep(&store, "jar-1", snapshot_at(4)).await;
    let tail = store.read_tail("jar-1").await.unwrap();
    assert_eq!(tail.snapshot.map(|s| s.revision), Some(4));
    let revisions: Vec<u64> = tail.events.iter().map(|e| e.revision).collect();
    assert_eq!(revisions, vec![4, 5], "from the snapshot's own event on");
    assert_eq!(tail.events[0].id, events[4].id);
}

fn snapshot_at(revision: u64) -> Snapshot {
    snapshot(1, revision, "state")
}
