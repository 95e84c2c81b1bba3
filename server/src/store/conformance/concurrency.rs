//! Concurrent writers: optimistic concurrency on one contested stream, and many independent
//! streams at once.

use std::{collections::HashSet, sync::Arc};

use uuid::Uuid;

use super::{assert_increasing, must, new_event, unique_category, unique_stream, within};
use crate::store::{EventStore, ExpectedRevision, StoreError};

const TASKS: usize = 8;
const APPENDS_PER_TASK: usize = 50;

/// Eight tasks each append 50 events to one stream with `Exact` revisions, reloading and retrying
/// on conflict: every event lands exactly once and the revisions are gapless.
pub async fn concurrent_optimistic_appends(store: Arc<dyn EventStore>) {
    optimistic_appends_through(vec![store; TASKS]).await;
}

/// The optimistic-concurrency race of [`concurrent_optimistic_appends`], with task `i` writing
/// through `stores[i % len]`: passing several handles on the same data (e.g. two processes' worth
/// of embedded stores on one directory) checks that concurrency control holds across them.
pub async fn optimistic_appends_through(stores: Vec<Arc<dyn EventStore>>) {
    assert!(!stores.is_empty(), "need at least one store");
    let stream = unique_stream("occ");
    let tasks: Vec<_> = (0..TASKS)
        .map(|task| {
            let store = Arc::clone(&stores[task % stores.len()]);
            let stream = stream.clone();
            tokio::spawn(async move { append_until_done(store, &stream, task).await })
        })
        .collect();
    let mut written: Vec<Vec<Uuid>> = Vec::with_capacity(TASKS);
    for task in tasks {
        written.push(must("an appending task", task.await));
    }

    let read = within("read", stores[0].read_stream(&stream, 0)).await;
    let read = must("read", read);
    assert_eq!(
        read.len(),
        TASKS * APPENDS_PER_TASK,
        "no event lost or duplicated"
    );
    let revisions: Vec<u64> = read.iter().map(|e| e.revision).collect();
    let gapless: Vec<u64> = (0u64..).take(read.len()).collect();
    assert_eq!(revisions, gapless);
    assert_increasing(&read);
    let stored: Vec<Uuid> = read.iter().map(|e| e.id).collect();
    assert_eq!(
        stored.iter().collect::<HashSet<_>>().len(),
        stored.len(),
        "ids unique"
    );
    for (task, ids) in written.iter().enumerate() {
        let in_stream: Vec<Uuid> = stored
            .iter()
            .filter(|id| ids.contains(id))
            .copied()
            .collect();
        assert_eq!(
            &in_stream, ids,
            "task {task}'s events, each once, in its order"
        );
    }
}

/// One contender: read the stream's head, append with `Exact`, on conflict reload and retry.
async fn append_until_done(store: Arc<dyn EventStore>, stream: &str, task: usize) -> Vec<Uuid> {
    let mut known: Option<u64> = None;
    let mut mine = Vec::with_capacity(APPENDS_PER_TASK);
    while mine.len() < APPENDS_PER_TASK {
        let from = known.map_or(0, |r| r + 1);
        let newer = must(
            "reload",
            within("reload", store.read_stream(stream, from)).await,
        );
        if let Some(last) = newer.last() {
            known = Some(last.revision);
        }
        let expected = known.map_or(ExpectedRevision::NoStream, ExpectedRevision::Exact);
        let event = new_event(&format!("task{task}n{}", mine.len()));
        let id = event.id;
        match within("append", store.append(stream, expected, vec![event])).await {
            Ok(appended) => {
                assert_eq!(appended.revision, known.map_or(0, |r| r + 1));
                known = Some(appended.revision);
                mine.push(id);
            }
            Err(StoreError::WrongExpectedRevision { .. }) => {}
            Err(other) => panic!("task {task}: append failed: {other:?}"),
        }
    }
    mine
}

/// Sixteen tasks append to sixteen streams at once: all succeed, each stream's revisions run
/// from 0, and no two events share a position.
pub async fn concurrent_appends_to_many_streams(store: Arc<dyn EventStore>) {
    const STREAMS: usize = 16;
    const APPENDS: u64 = 10;
    let category = unique_category("many");
    let tasks: Vec<_> = (0..STREAMS)
        .map(|task| {
            let store = Arc::clone(&store);
            let stream = format!("{category}-{task}");
            tokio::spawn(async move {
                let mut positions = Vec::new();
                for revision in 0..APPENDS {
                    let event = new_event(&format!("s{task}r{revision}"));
                    let appended = within(
                        "append",
                        store.append(&stream, ExpectedRevision::Any, vec![event]),
                    )
                    .await;
                    let appended = must("append", appended);
                    assert_eq!(appended.revision, revision);
                    positions.push(appended.position);
                }
                let read = must("read", within("read", store.read_stream(&stream, 0)).await);
                let revisions: Vec<u64> = read.iter().map(|e| e.revision).collect();
                assert_eq!(revisions, (0..APPENDS).collect::<Vec<_>>());
                positions
            })
        })
        .collect();
    let mut positions = HashSet::new();
    for task in tasks {
        for position in must("an appending task", task.await) {
            assert!(positions.insert(position), "position {position} used twice");
        }
    }
}
