//! The embedded store against the conformance suite, plus what only a file-backed store has:
//! durability across reopen, group commit, and several instances (processes) on one directory.

use std::{sync::Arc, time::Duration};

use futures::StreamExt;
use tempfile::TempDir;
use tokio::sync::{mpsc, oneshot, watch};

use super::{
    Durability, EVENTS_FILE, EmbeddedEventStore, schema,
    writer::{self, AppendRequest, Published},
};
use crate::store::{
    ActualRevision, EventStore, ExpectedRevision, FeedItem, NewEvent, StoreError,
    SubscriptionFilter, conformance,
};

/// Bound on every wait, including cross-process delivery (polled every 150 ms).
const WAIT: Duration = Duration::from_secs(10);

async fn fresh_store() -> (Arc<dyn EventStore>, TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = EmbeddedEventStore::open(dir.path(), Durability::Full).expect("open");
    (Arc::new(store), dir)
}

mod conformance_suite {
    use super::fresh_store;

    crate::event_store_conformance!(fresh_store);
}

fn open(dir: &TempDir, durability: Durability) -> EmbeddedEventStore {
    EmbeddedEventStore::open(dir.path(), durability).expect("open")
}

fn event(tag: &str) -> NewEvent {
    NewEvent {
        id: uuid::Uuid::new_v4(),
        event_type: "causeway.test.v1.Tested".to_owned(),
        data: tag.as_bytes().to_vec(),
        metadata: b"{}".to_vec(),
    }
}

async fn within<T>(future: impl Future<Output = T>) -> T {
    tokio::time::timeout(WAIT, future).await.expect("timed out")
}

#[tokio::test(flavor = "multi_thread")]
async fn everything_survives_reopen_and_positions_continue() {
    for durability in [Durability::Full, Durability::Relaxed] {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = open(&dir, durability);
        for i in 0..5 {
            let stream = format!("order-{}", i % 2);
            let batch = vec![event(&format!("a{i}")), event(&format!("b{i}"))];
            store
                .append(&stream, ExpectedRevision::Any, batch)
                .await
                .expect("append");
        }
        let before = store.read_all(None, 100).await.expect("read_all");
        assert_eq!(before.len(), 10);
        drop(store);

        let store = open(&dir, durability);
        assert_eq!(store.read_all(None, 100).await.expect("read_all"), before);
        let head = before.last().map(|e| e.position);
        assert_eq!(store.head_position().await.expect("head"), head);
        let appended = store
            .append("order-0", ExpectedRevision::Exact(5), vec![event("after")])
            .await
            .expect("append after reopen");
        assert_eq!(appended.revision, 6);
        assert!(
            Some(appended.position) > head,
            "positions continue after reopen"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_appends_all_complete_and_are_durable() {
    const TASKS: usize = 40;
    const APPENDS: usize = 10;
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(open(&dir, Durability::Full));
    let tasks: Vec<_> = (0..TASKS)
        .map(|task| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                for i in 0..APPENDS {
                    let stream = format!("product-{task}");
                    let appended = store
                        .append(&stream, ExpectedRevision::Any, vec![event(&format!("{i}"))])
                        .await;
                    appended.expect("append");
                }
            })
        })
        .collect();
    for task in tasks {
        within(task).await.expect("task");
    }
    // Typically a few dozen commits for 400 appends; any sharing at all proves the grouping
    // (the exact batching is proven deterministically by `writer_commits_a_queued_batch_once`).
    assert!(
        store.commit_count() < (TASKS * APPENDS) as u64,
        "{} commits for {} appends: no fsync was shared",
        store.commit_count(),
        TASKS * APPENDS
    );
    drop(store);
    let store = open(&dir, Durability::Full);
    let all = store.read_all(None, 10_000).await.expect("read_all");
    assert_eq!(all.len(), TASKS * APPENDS);
}

/// Requests already queued when the writer looks are applied in ONE transaction; a refused
/// request in the middle does not disturb the others, and later requests see earlier writes.
#[tokio::test(flavor = "multi_thread")]
async fn writer_commits_a_queued_batch_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = schema::events_file(dir.path().join(EVENTS_FILE), Durability::Full);
    let conn = file.open_writer(&schema::MIGRATIONS).expect("open");
    let checkpoints = crate::sqlite::Checkpoints::start(&file, &conn).expect("checkpoints");
    let room = Arc::new(tokio::sync::Semaphore::new(1 << 20));
    let (requests, queue) = mpsc::channel(16);
    let plan = [
        ("user-1", ExpectedRevision::NoStream, 1),
        ("user-1", ExpectedRevision::Exact(0), 1),
        ("user-1", ExpectedRevision::Exact(5), 3),
        ("user-2", ExpectedRevision::Any, 2),
        ("user-1", ExpectedRevision::NoStream, 1),
        ("user-1", ExpectedRevision::StreamExists, 1),
    ];
    let mut answers = Vec::new();
    for (stream, expected, count) in plan {
        let (reply, answer) = oneshot::channel();
        let events = (0..count).map(|i| event(&format!("{i}"))).collect();
        let request = writer::Request::Append(AppendRequest {
            stream: stream.to_owned(),
            expected,
            events,
            reply,
            _room: Arc::clone(&room).acquire_owned().await.expect("room"),
        });
        requests.send(request).await.expect("queue");
        answers.push(answer);
    }
    let (head_tx, mut head) = watch::channel(0);
    let commits = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let published = Published {
        head: head_tx,
        commits: Arc::clone(&commits),
        committed_events: Arc::default(),
    };
    let thread = writer::spawn(conn, queue, published, checkpoints).expect("spawn");

    let mut outcomes = Vec::new();
    for answer in answers {
        outcomes.push(within(answer).await.expect("answered"));
    }
    let revisions: Vec<Option<u64>> = outcomes
        .iter()
        .map(|o| o.as_ref().ok().map(|r| r.revision))
        .collect();
    assert_eq!(revisions, [Some(0), Some(1), None, Some(1), None, Some(2)]);
    for refused in [&outcomes[2], &outcomes[4]] {
        assert!(matches!(
            refused,
            Err(StoreError::WrongExpectedRevision {
                actual: ActualRevision(Some(1)),
                ..
            })
        ));
    }
    assert_eq!(commits.load(std::sync::atomic::Ordering::Relaxed), 1);
    let last = outcomes[5].as_ref().expect("last append").position;
    assert_eq!(
        *head.borrow_and_update(),
        last,
        "head published after the commit"
    );
    drop(requests);
    thread
        .join()
        .expect("writer exits when its senders are gone");
}

#[tokio::test(flavor = "multi_thread")]
async fn two_instances_on_one_directory_see_each_other() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (a, b) = (open(&dir, Durability::Full), open(&dir, Durability::Full));
    let start = a.head_position().await.expect("head");
    let mut on_b = b.subscribe_all(start, SubscriptionFilter::categories(["order"]));
    let mut on_a = a.subscribe_all(start, SubscriptionFilter::categories(["order"]));

    let first = event("from a");
    a.append("order-1", ExpectedRevision::NoStream, vec![first.clone()])
        .await
        .expect("append through a");
    let seen = within(on_b.next())
        .await
        .expect("open feed")
        .map(event_of)
        .expect("event");
    assert_eq!(seen.id, first.id, "b's subscription sees a's commit");

    let conflict = b
        .append("order-1", ExpectedRevision::NoStream, vec![event("from b")])
        .await;
    assert!(matches!(
        conflict,
        Err(StoreError::WrongExpectedRevision {
            actual: ActualRevision(Some(0)),
            ..
        })
    ));
    let second = event("from b");
    b.append("order-1", ExpectedRevision::Exact(0), vec![second.clone()])
        .await
        .expect("append through b");
    for expected in [first.id, second.id] {
        let seen = within(on_a.next())
            .await
            .expect("open feed")
            .map(event_of)
            .expect("event");
        assert_eq!(seen.id, expected);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn optimistic_concurrency_holds_across_instances() {
    let dir = tempfile::tempdir().expect("temp dir");
    let stores: Vec<Arc<dyn EventStore>> = vec![
        Arc::new(open(&dir, Durability::Full)),
        Arc::new(open(&dir, Durability::Full)),
    ];
    conformance::optimistic_appends_through(stores).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_subscription_outlives_its_store() {
    let dir = tempfile::tempdir().expect("temp dir");
    let first = open(&dir, Durability::Full);
    let mut feed = first.subscribe_all(None, SubscriptionFilter::default());
    drop(first);
    let second = open(&dir, Durability::Full);
    let appended = event("later");
    second
        .append("user-1", ExpectedRevision::Any, vec![appended.clone()])
        .await
        .expect("append");
    let seen = within(feed.next())
        .await
        .expect("open feed")
        .map(event_of)
        .expect("event");
    assert_eq!(seen.id, appended.id);
}

#[tokio::test(flavor = "multi_thread")]
async fn open_creates_the_directory_and_refuses_newer_schemas() {
    let dir = tempfile::tempdir().expect("temp dir");
    let nested = dir.path().join("a").join("b");
    drop(EmbeddedEventStore::open(&nested, Durability::Full).expect("open nested"));
    let file = rusqlite::Connection::open(nested.join(EVENTS_FILE)).expect("raw open");
    file.pragma_update(None, "user_version", 99)
        .expect("bump version");
    drop(file);
    let refused = EmbeddedEventStore::open(&nested, Durability::Full);
    assert!(matches!(refused, Err(StoreError::Unavailable(_))));

    let not_a_dir = dir.path().join("plain-file");
    std::fs::write(&not_a_dir, b"x").expect("write file");
    let refused = EmbeddedEventStore::open(&not_a_dir, Durability::Full);
    assert!(matches!(refused, Err(StoreError::Unavailable(_))));
}

/// With the cross-process poll disabled, only the writer's notification can wake a feed that is
/// waiting for new commits (a reader task keeps it polled while the appends happen).
#[tokio::test(flavor = "multi_thread")]
async fn own_commits_wake_subscribers_without_polling() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = open(&dir, Durability::Full).without_cross_process_poll();
    let mut feed = store.subscribe_all(None, SubscriptionFilter::default());
    let (seen_tx, mut seen) = mpsc::unbounded_channel();
    let reader = tokio::spawn(async move {
        while let Some(Ok(item)) = feed.next().await {
            let FeedItem::Event(event) = item else {
                continue;
            };
            if seen_tx.send(event.id).is_err() {
                break;
            }
        }
    });
    for tag in ["first", "second", "third"] {
        let sent = event(tag);
        store
            .append("order-1", ExpectedRevision::Any, vec![sent.clone()])
            .await
            .expect("append");
        assert_eq!(within(seen.recv()).await, Some(sent.id));
    }
    reader.abort();
}

/// The event of a feed item; these feeds are unfiltered, so a checkpoint would be a bug.
fn event_of(item: FeedItem) -> crate::store::RecordedEvent {
    match item {
        FeedItem::Event(event) => event,
        other => panic!("expected an event, got {other:?}"),
    }
}

/// A filtered feed switches between category-index reads and position-window reads as the
/// density of its categories changes; across dense, sparse and dense stretches longer than a
/// window it still delivers exactly its events, in order, and checkpoints up to the head.
#[tokio::test]
async fn a_filtered_feed_through_dense_and_sparse_stretches_misses_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = open(&dir, Durability::Relaxed);
    let mut wanted = Vec::new();
    // Appends `n` events to `stream` in appends of 100; returns their positions.
    async fn write(store: &EmbeddedEventStore, stream: &str, n: usize) -> Vec<u64> {
        let mut positions = Vec::new();
        for chunk in (0..n).collect::<Vec<_>>().chunks(100) {
            let events: Vec<NewEvent> = chunk.iter().map(|i| event(&i.to_string())).collect();
            let appended = store
                .append(stream, ExpectedRevision::Any, events)
                .await
                .expect("append");
            let first = appended.position + 1 - chunk.len() as u64;
            positions.extend(first..=appended.position);
        }
        positions
    }
    // Dense: two of ours for one of theirs, over more than a window
    for _ in 0..15 {
        wanted.extend(write(&store, "ours-1", 200).await);
        write(&store, "theirs-1", 100).await;
    }
    // Sparse: one of ours in a long stretch of theirs
    write(&store, "theirs-1", 3000).await;
    wanted.extend(write(&store, "ours-2", 1).await);
    write(&store, "theirs-1", 3000).await;
    // Dense again, then theirs at the very end
    wanted.extend(write(&store, "ours-2", 4500).await);
    let head = write(&store, "theirs-2", 1).await[0];

    let mut feed = store.subscribe_all(None, SubscriptionFilter::categories(["ours"]));
    let mut delivered = Vec::new();
    let mut checkpoint = 0;
    while checkpoint < head {
        let item = tokio::time::timeout(WAIT, feed.next())
            .await
            .expect("an item in time")
            .expect("the feed goes on")
            .expect("no error");
        match item {
            FeedItem::Event(e) => {
                assert!(e.stream.starts_with("ours-"), "{}", e.stream);
                assert!(e.position > checkpoint, "in order, after every checkpoint");
                delivered.push(e.position);
            }
            FeedItem::Checkpoint(p) => {
                assert!(p >= delivered.last().copied().unwrap_or(0));
                checkpoint = p;
            }
        }
        checkpoint = checkpoint.max(delivered.last().copied().unwrap_or(0));
    }
    assert_eq!(
        delivered, wanted,
        "exactly our events, no gap, no duplicate"
    );

    // And live: a new event of ours after the head arrives
    let live = write(&store, "ours-3", 1).await[0];
    loop {
        let item = tokio::time::timeout(WAIT, feed.next())
            .await
            .expect("the live event in time")
            .expect("the feed goes on")
            .expect("no error");
        if let FeedItem::Event(e) = item {
            assert_eq!(e.position, live);
            break;
        }
    }
}
