//! Snapshots: the newest of the current version is kept per stream, an older one of the same
//! version never replaces it, another version always does; and keeping them never shows in
//! the global log (`read_all`, `head_position`, subscriptions), which only ever carries
//! aggregates' events.
//!
//! A store may keep a snapshot after `write_snapshot` returns (the embedded one keeps it in
//! its writer's next transaction), so each case appends an event behind every write: once
//! that append is answered, the snapshot is kept too.

use std::sync::Arc;

use super::{must, new_event, next_event, unique_category, unique_stream, within};
use crate::store::{EventStore, ExpectedRevision, Snapshot, SubscriptionFilter};

fn snapshot(version: u32, revision: u64, state: &str) -> Snapshot {
    Snapshot {
        version,
        revision,
        position: revision + 1,
        state: state.as_bytes().to_vec(),
    }
}

/// Writes `snapshot` for `stream`, then appends to `flush` so that it is kept.
async fn keep(store: &Arc<dyn EventStore>, stream: &str, flush: &str, snapshot: Snapshot) {
    let written = within("write_snapshot", store.write_snapshot(stream, snapshot)).await;
    must("write_snapshot", written);
    let appended = within(
        "append",
        store.append(flush, ExpectedRevision::Any, vec![new_event("flush")]),
    )
    .await;
    must("append", appended);
}

async fn kept(store: &Arc<dyn EventStore>, stream: &str) -> Option<(u32, u64, String)> {
    let read = within("read_snapshot", store.read_snapshot(stream)).await;
    must("read_snapshot", read).map(|s| {
        let state = String::from_utf8(s.state).expect("the state written was UTF-8");
        (s.version, s.revision, state)
    })
}

/// The newest snapshot of the current version is kept per stream; an older one of the same
/// version is ignored; one of another version replaces it whatever its revision.
pub async fn snapshots_keep_the_newest(store: Arc<dyn EventStore>) {
    let stream = unique_stream("snap");
    let other = unique_stream("snapother");
    let flush = unique_stream("snapflush");
    assert_eq!(kept(&store, &stream).await, None, "none before the first");
    keep(&store, &stream, &flush, snapshot(1, 10, "ten")).await;
    assert_eq!(kept(&store, &stream).await, Some((1, 10, "ten".into())));
    keep(&store, &stream, &flush, snapshot(1, 5, "five")).await;
    assert_eq!(
        kept(&store, &stream).await,
        Some((1, 10, "ten".into())),
        "an older one of the same version is ignored"
    );
    keep(&store, &stream, &flush, snapshot(1, 12, "twelve")).await;
    assert_eq!(kept(&store, &stream).await, Some((1, 12, "twelve".into())));
    keep(&store, &stream, &flush, snapshot(2, 3, "new code")).await;
    assert_eq!(
        kept(&store, &stream).await,
        Some((2, 3, "new code".into())),
        "another version replaces it"
    );
    assert_eq!(kept(&store, &other).await, None, "kept per stream");
}

/// Keeping a snapshot adds nothing to the global log: `read_all` and a subscription see only
/// the aggregate's events, and the head is the newest of those.
pub async fn snapshots_stay_out_of_the_log(store: Arc<dyn EventStore>) {
    let category = unique_category("snaplog");
    let stream = format!("{category}-1");
    let start = must("head", within("head", store.head_position()).await);
    let first = new_event("before");
    let appended = within(
        "append",
        store.append(&stream, ExpectedRevision::NoStream, vec![first.clone()]),
    )
    .await;
    let before = must("append", appended);
    let written = within(
        "write_snapshot",
        store.write_snapshot(&stream, snapshot(1, 0, "state")),
    )
    .await;
    must("write_snapshot", written);
    let second = new_event("after");
    let appended = within(
        "append",
        store.append(&stream, ExpectedRevision::Exact(0), vec![second.clone()]),
    )
    .await;
    let after = must("append", appended);
    assert!(after.position > before.position);

    let page = must(
        "read_all",
        within("read_all", store.read_all(start, 10_000)).await,
    );
    let mine: Vec<_> = page
        .iter()
        .filter(|e| e.stream.contains(&category))
        .map(|e| (e.stream.clone(), e.id))
        .collect();
    assert_eq!(
        mine,
        vec![(stream.clone(), first.id), (stream.clone(), second.id)],
        "read_all shows the aggregate's events and nothing of its snapshot"
    );
    // A snapshot kept after the newest event does not move the head past it (each case of
    // the suite gets a store of its own, so nothing else writes meanwhile).
    let written = within(
        "write_snapshot",
        store.write_snapshot(&stream, snapshot(1, 1, "state")),
    )
    .await;
    must("write_snapshot", written);
    let head = must("head", within("head", store.head_position()).await);
    assert_eq!(
        head,
        Some(after.position),
        "the head is the aggregate's newest event"
    );

    let mut feed = store.subscribe_all(start, SubscriptionFilter::default());
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let event = next_event(&mut feed).await;
        assert!(
            !event.stream.contains("snapshot"),
            "a subscription delivered a snapshot: {}",
            event.stream
        );
        if event.stream == stream {
            seen.push(event.id);
        }
    }
    assert_eq!(seen, vec![first.id, second.id]);
}
