//! The global log: `read_all` order and paging, and `head_position`.

use std::sync::Arc;

use uuid::Uuid;

use super::{assert_increasing, must, new_event, unique_category, within};
use crate::store::{EventStore, ExpectedRevision, NewEvent};

/// `read_all` returns events in append order across streams; paging with `after` = the last
/// position of the previous page visits each exactly once, and no page exceeds `limit`.
pub async fn read_all_orders_and_pages(store: Arc<dyn EventStore>) {
    let category = unique_category("readall");
    let streams: Vec<String> = ["a", "b", "c"]
        .iter()
        .map(|s| format!("{category}-{s}"))
        .collect();
    let start = must("head", within("head", store.head_position()).await);
    let mut expected: Vec<Uuid> = Vec::new();
    for round in 0..4 {
        for stream in &streams {
            let event = new_event(&format!("{stream}r{round}"));
            expected.push(event.id);
            let appended = within(
                "append",
                store.append(stream, ExpectedRevision::Any, vec![event]),
            )
            .await;
            must("append", appended);
        }
    }
    let batch: Vec<NewEvent> = (0..3).map(|i| new_event(&format!("batch{i}"))).collect();
    expected.extend(batch.iter().map(|e| e.id));
    let appended = within(
        "append",
        store.append(&streams[0], ExpectedRevision::Any, batch),
    )
    .await;
    must("append", appended);

    // Other writers may share the store, so keep only this case's events, and stop once all
    // are seen rather than when the log ends.
    const PAGE: usize = 4;
    let mut after = start;
    let mut seen = Vec::new();
    let mut visited = Vec::new();
    while seen.len() < expected.len() {
        let page = must(
            "read_all",
            within("read_all", store.read_all(after, PAGE)).await,
        );
        assert!(
            !page.is_empty(),
            "the log ended before this case's events were all read"
        );
        assert!(
            page.len() <= PAGE,
            "page of {} over limit {PAGE}",
            page.len()
        );
        if let Some(after) = after {
            assert!(page[0].position > after, "`after` is exclusive");
        }
        after = page.last().map(|e| e.position);
        seen.extend(
            page.iter()
                .filter(|e| e.category() == category)
                .map(|e| e.id),
        );
        visited.extend(page);
    }
    assert_increasing(&visited);
    assert_eq!(seen, expected, "each event once, in append order");

    let first = must(
        "read_all",
        within("read_all", store.read_all(None, 5)).await,
    );
    assert!(!first.is_empty() && first.len() <= 5);
    assert_increasing(&first);
    let none = must(
        "read_all",
        within("read_all", store.read_all(start, 0)).await,
    );
    assert!(none.is_empty(), "a limit of 0 reads nothing");
}

/// `head_position` is the newest event's position: at least every acknowledged position, and it
/// moves forward with each append.
pub async fn head_position_tracks_appends(store: Arc<dyn EventStore>) {
    let stream = format!("{}-1", unique_category("head"));
    let before = must("head", within("head", store.head_position()).await);
    let mut last = before;
    for round in 0..3 {
        let event = new_event(&format!("h{round}"));
        let appended = within(
            "append",
            store.append(&stream, ExpectedRevision::Any, vec![event]),
        )
        .await;
        let appended = must("append", appended);
        let head = must("head", within("head", store.head_position()).await);
        let head = head.unwrap_or_else(|| panic!("no head after an append"));
        assert!(
            head >= appended.position,
            "head {head} behind an acknowledged append"
        );
        if let Some(last) = last {
            assert!(head > last, "head did not move: {last} then {head}");
        }
        last = Some(head);
    }
    let tail = must(
        "read_all",
        within("read_all", store.read_all(last, 10)).await,
    );
    assert!(
        tail.iter()
            .all(|e| last.is_some_and(|head| e.position > head)),
        "events after the head are newer than it"
    );
}
