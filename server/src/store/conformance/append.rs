//! Appending and reading one stream; every kind of expected revision, kept and broken.

use std::sync::Arc;

use super::{assert_conflict, assert_increasing, must, new_event, unique_stream, within};
use crate::store::{EventStore, ExpectedRevision, NewEvent, StoreError, category_of};

/// Appended events read back exactly as sent, with revisions from 0 and increasing positions; a
/// second append continues both.
pub async fn appends_and_reads_back(store: Arc<dyn EventStore>) {
    let stream = unique_stream("readback");
    let first: Vec<NewEvent> = (0..3).map(|i| new_event(&format!("first{i}"))).collect();
    let appended = within(
        "append",
        store.append(&stream, ExpectedRevision::NoStream, first.clone()),
    )
    .await;
    let appended = must("append", appended);
    assert_eq!(appended.revision, 2, "revision of the last of three events");

    let second: Vec<NewEvent> = (0..2).map(|i| new_event(&format!("second{i}"))).collect();
    let continued = within(
        "second append",
        store.append(&stream, ExpectedRevision::Exact(2), second.clone()),
    )
    .await;
    let continued = must("second append", continued);
    assert_eq!(continued.revision, 4);
    assert!(continued.position > appended.position);

    let read = must("read", within("read", store.read_stream(&stream, 0)).await);
    let sent: Vec<NewEvent> = first.into_iter().chain(second).collect();
    assert_eq!(read.len(), sent.len());
    for (revision, (recorded, sent)) in (0u64..).zip(read.iter().zip(&sent)) {
        assert_eq!(recorded.id, sent.id);
        assert_eq!(recorded.stream, stream);
        assert_eq!(recorded.category(), category_of(&stream));
        assert_eq!(recorded.revision, revision);
        assert_eq!(recorded.event_type, sent.event_type);
        assert_eq!(recorded.data, sent.data);
        assert_eq!(recorded.metadata, sent.metadata);
        assert!(recorded.position > 0, "positions are never 0");
    }
    assert_increasing(&read);
    assert_eq!(read[2].position, appended.position);
    assert_eq!(read[4].position, continued.position);
}

/// `read_stream` starts at the given revision; past the end it is empty.
pub async fn reads_stream_from_revision(store: Arc<dyn EventStore>) {
    let stream = unique_stream("fromrev");
    let events: Vec<NewEvent> = (0..5).map(|i| new_event(&format!("e{i}"))).collect();
    let appended = within(
        "append",
        store.append(&stream, ExpectedRevision::Any, events),
    )
    .await;
    must("append", appended);

    let tail = must("read", within("read", store.read_stream(&stream, 2)).await);
    let revisions: Vec<u64> = tail.iter().map(|e| e.revision).collect();
    assert_eq!(revisions, [2, 3, 4]);
    for from in [5, u64::MAX] {
        let past = must(
            "read",
            within("read", store.read_stream(&stream, from)).await,
        );
        assert!(past.is_empty(), "reading from {from} must be empty");
    }
}

/// A stream that was never written reads as empty, not as an error.
pub async fn missing_stream_reads_empty(store: Arc<dyn EventStore>) {
    let stream = unique_stream("missing");
    let read = must("read", within("read", store.read_stream(&stream, 0)).await);
    assert!(read.is_empty());
}

/// An append without events or to an unnamed stream is refused as invalid and stores nothing.
pub async fn rejects_invalid_appends(store: Arc<dyn EventStore>) {
    let stream = unique_stream("invalid");
    let empty = within(
        "append",
        store.append(&stream, ExpectedRevision::Any, vec![]),
    )
    .await;
    assert!(
        matches!(empty, Err(StoreError::Invalid(_))),
        "no events: {empty:?}"
    );
    let unnamed = within(
        "append",
        store.append("", ExpectedRevision::Any, vec![new_event("x")]),
    )
    .await;
    assert!(
        matches!(unnamed, Err(StoreError::Invalid(_))),
        "empty stream name: {unnamed:?}"
    );
    let read = must("read", within("read", store.read_stream(&stream, 0)).await);
    assert!(read.is_empty());
}

/// `Any` appends to a missing stream and to an existing one.
pub async fn expected_any(store: Arc<dyn EventStore>) {
    let stream = unique_stream("any");
    for revision in 0..2 {
        let appended = within(
            "append",
            store.append(&stream, ExpectedRevision::Any, vec![new_event("any")]),
        )
        .await;
        assert_eq!(must("append", appended).revision, revision);
    }
}

/// `NoStream` creates a stream once; afterwards it conflicts, reporting the actual revision.
pub async fn expected_no_stream(store: Arc<dyn EventStore>) {
    let stream = unique_stream("nostream");
    let created = append_one(&store, &stream, ExpectedRevision::NoStream).await;
    assert_eq!(must("create", created).revision, 0);
    let again = append_one(&store, &stream, ExpectedRevision::NoStream).await;
    assert_conflict(again, Some(0));
}

/// `StreamExists` conflicts on a missing stream (actual: none) and appends to an existing one.
pub async fn expected_stream_exists(store: Arc<dyn EventStore>) {
    let stream = unique_stream("exists");
    let missing = append_one(&store, &stream, ExpectedRevision::StreamExists).await;
    assert_conflict(missing, None);
    must(
        "create",
        append_one(&store, &stream, ExpectedRevision::NoStream).await,
    );
    let appended = append_one(&store, &stream, ExpectedRevision::StreamExists).await;
    assert_eq!(must("append", appended).revision, 1);
}

/// `Exact(r)` appends only when the last revision is `r`; otherwise it conflicts, including on a
/// missing stream.
pub async fn expected_exact(store: Arc<dyn EventStore>) {
    let stream = unique_stream("exact");
    let missing = append_one(&store, &stream, ExpectedRevision::Exact(0)).await;
    assert_conflict(missing, None);
    must(
        "create",
        append_one(&store, &stream, ExpectedRevision::NoStream).await,
    );
    let appended = append_one(&store, &stream, ExpectedRevision::Exact(0)).await;
    assert_eq!(must("append at 0", appended).revision, 1);
    let stale = append_one(&store, &stream, ExpectedRevision::Exact(0)).await;
    assert_conflict(stale, Some(1));
    let ahead = append_one(&store, &stream, ExpectedRevision::Exact(7)).await;
    assert_conflict(ahead, Some(1));
}

/// A refused append stores none of its events, however many it carried.
pub async fn refused_append_writes_nothing(store: Arc<dyn EventStore>) {
    let stream = unique_stream("refused");
    must(
        "create",
        append_one(&store, &stream, ExpectedRevision::NoStream).await,
    );
    let batch: Vec<NewEvent> = (0..3).map(|i| new_event(&format!("r{i}"))).collect();
    let refused = within(
        "append",
        store.append(&stream, ExpectedRevision::Exact(5), batch),
    )
    .await;
    assert_conflict(refused, Some(0));
    let read = must("read", within("read", store.read_stream(&stream, 0)).await);
    assert_eq!(read.len(), 1);
}

async fn append_one(
    store: &Arc<dyn EventStore>,
    stream: &str,
    expected: ExpectedRevision,
) -> Result<crate::store::AppendResult, StoreError> {
    within(
        "append",
        store.append(stream, expected, vec![new_event("one")]),
    )
    .await
}

/// `find_events` names exactly the ids of the stream's events that were asked about, with their
/// revisions: not an id it never stored, nor one stored in another stream.
pub async fn finds_events_by_id(store: Arc<dyn EventStore>) {
    let stream = unique_stream("byid");
    let other = unique_stream("byid-other");
    let events: Vec<NewEvent> = (0..4).map(|i| new_event(&format!("e{i}"))).collect();
    let elsewhere = new_event("elsewhere");
    must(
        "append",
        within(
            "append",
            store.append(&stream, ExpectedRevision::NoStream, events.clone()),
        )
        .await,
    );
    must(
        "append elsewhere",
        within(
            "append elsewhere",
            store.append(&other, ExpectedRevision::NoStream, vec![elsewhere.clone()]),
        )
        .await,
    );
    let never = new_event("never").id;
    let asked = [events[3].id, never, events[1].id, elsewhere.id];
    let mut found = must(
        "find",
        within("find", store.find_events(&stream, &asked)).await,
    );
    found.sort_by_key(|(_, revision)| *revision);
    assert_eq!(found, vec![(events[1].id, 1), (events[3].id, 3)]);
    let none = must(
        "find in a missing stream",
        within(
            "find",
            store.find_events(&unique_stream("byid-missing"), &asked),
        )
        .await,
    );
    assert!(none.is_empty(), "{none:?}");
}
