//! `subscribe_all`: catch-up then live without gap or duplicate, exclusive start, category
//! filters. Each case ends by appending a marker once caught up: the marker must be the very
//! next event, which proves both that nothing extra was delivered and that the live part wakes.

use std::sync::Arc;

use uuid::Uuid;

use super::{assert_increasing, must, new_event, next_event, next_item, unique_category, within};
use crate::store::{
    EventFeed, EventStore, ExpectedRevision, FeedItem, NewEvent, SubscriptionFilter,
};

/// Events already stored are delivered, then those appended while the subscriber reads, in
/// position order, each once, across the hand-over from catch-up to live.
pub async fn subscription_catches_up_then_goes_live(store: Arc<dyn EventStore>) {
    const BEFORE: usize = 30;
    const DURING: usize = 30;
    let category = unique_category("live");
    let streams = [format!("{category}-a"), format!("{category}-b")];
    let mut expected = Vec::new();
    for i in 0..BEFORE {
        expected.push(append(&store, &streams[i % 2], new_event(&format!("before{i}"))).await);
    }
    let mut feed = store.subscribe_all(None, SubscriptionFilter::categories([category.clone()]));

    let during: Vec<NewEvent> = (0..DURING)
        .map(|i| new_event(&format!("during{i}")))
        .collect();
    expected.extend(during.iter().map(|e| e.id));
    let appender = tokio::spawn({
        let store = Arc::clone(&store);
        let streams = streams.clone();
        async move {
            for (i, event) in during.into_iter().enumerate() {
                append(&store, &streams[i % 2], event).await;
            }
        }
    });
    let received = receive(&mut feed, expected.len()).await;
    must("the appending task", appender.await);
    assert_eq!(ids(&received), expected, "every event once, in order");
    assert_increasing(&received);
    expect_marker_next(&store, &mut feed, &streams[0]).await;
}

/// Subscribing after a position starts with the event right after it.
pub async fn subscription_from_position_is_exclusive(store: Arc<dyn EventStore>) {
    let category = unique_category("from");
    let stream = format!("{category}-1");
    let mut positions = Vec::new();
    let mut expected = Vec::new();
    for i in 0..10 {
        let event = new_event(&format!("e{i}"));
        expected.push(event.id);
        let appended = within(
            "append",
            store.append(&stream, ExpectedRevision::Any, vec![event]),
        )
        .await;
        positions.push(must("append", appended).position);
    }
    let filter = SubscriptionFilter::categories([category.clone()]);
    let mut feed = store.subscribe_all(Some(positions[4]), filter);
    let received = receive(&mut feed, 5).await;
    assert_eq!(ids(&received), expected[5..]);
    assert_eq!(received[0].position, positions[5]);
    expect_marker_next(&store, &mut feed, &stream).await;
}

/// A category filter delivers exactly the events of its categories (a category that merely
/// starts with the same letters is another category); no filter delivers everything.
pub async fn subscription_filters_by_category(store: Arc<dyn EventStore>) {
    let wanted = unique_category("filter");
    let other = unique_category("filter");
    let lookalike = format!("{wanted}x");
    let start = must("head", within("head", store.head_position()).await);
    let (mut of_wanted, mut of_both, mut of_ours) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..6 {
        for category in [&wanted, &other, &lookalike] {
            let stream = format!("{category}-{}", i % 2);
            let id = append(&store, &stream, new_event(&format!("{category}{i}"))).await;
            of_ours.push(id);
            if category == &wanted || category == &other {
                of_both.push(id);
            }
            if category == &wanted {
                of_wanted.push(id);
            }
        }
    }

    let mut feed = store.subscribe_all(start, SubscriptionFilter::categories([wanted.clone()]));
    assert_eq!(ids(&receive(&mut feed, of_wanted.len()).await), of_wanted);
    expect_marker_next(&store, &mut feed, &format!("{wanted}-0")).await;

    let both = SubscriptionFilter::categories([wanted.clone(), other.clone()]);
    let mut feed = store.subscribe_all(start, both);
    let received = receive(&mut feed, of_both.len()).await;
    assert_eq!(ids(&received), of_both);
    assert_increasing(&received);

    // Unfiltered: other writers may share the store, so keep only this case's streams.
    let ours = [&wanted, &other, &lookalike];
    let mut feed = store.subscribe_all(start, SubscriptionFilter::default());
    let mut received = Vec::new();
    while received.len() < of_ours.len() {
        let event = next_event(&mut feed).await;
        if ours.iter().any(|c| event.category() == c.as_str()) {
            received.push(event.id);
        }
    }
    // The markers appended above come after the six rounds, so they are not collected here.
    assert_eq!(received, of_ours);
}

/// Catch-up spanning many events (more than any adapter's read batch) delivers them all in
/// order, then goes live.
pub async fn subscription_catches_up_across_many_events(store: Arc<dyn EventStore>) {
    const APPENDS: usize = 12;
    const PER_APPEND: usize = 100;
    let category = unique_category("bulk");
    let start = must("head", within("head", store.head_position()).await);
    let mut expected = Vec::new();
    for i in 0..APPENDS {
        let stream = format!("{category}-{}", i % 3);
        let events: Vec<NewEvent> = (0..PER_APPEND)
            .map(|j| new_event(&format!("a{i}e{j}")))
            .collect();
        expected.extend(events.iter().map(|e| e.id));
        let appended = within(
            "append",
            store.append(&stream, ExpectedRevision::Any, events),
        )
        .await;
        must("append", appended);
    }
    let mut feed = store.subscribe_all(start, SubscriptionFilter::categories([category.clone()]));
    let received = receive(&mut feed, expected.len()).await;
    assert_eq!(ids(&received), expected);
    assert_increasing(&received);
    expect_marker_next(&store, &mut feed, &format!("{category}-0")).await;
}

/// A filtered subscriber learns that it has seen everything up to events it was never sent:
/// through a checkpoint of its feed, or (where the feed checkpoints sparsely) by asking
/// `clear_through`. Neither ever runs ahead of an undelivered matching event or past the
/// newest event.
pub async fn subscription_checkpoints_past_filtered_events(store: Arc<dyn EventStore>) {
    let wanted = unique_category("ckwanted");
    let other = unique_category("ckother");
    let filter = SubscriptionFilter::categories([wanted.clone()]);
    let start = must("head", within("head", store.head_position()).await);
    let first = append_at(&store, &format!("{wanted}-1"), "first").await;
    let skipped = append_at(&store, &format!("{other}-1"), "skipped").await;

    let mut feed = store.subscribe_all(start, filter.clone());
    let event = next_event(&mut feed).await;
    assert_eq!(event.position, first, "only the wanted event is delivered");
    let clear = must(
        "clear_through",
        within(
            "clear_through",
            store.clear_through(Some(first), skipped, &filter),
        )
        .await,
    );
    match clear {
        Some(position) => assert_eq!(position, skipped, "clear up to what was asked"),
        // The store does not look ahead: its feed must say so by itself.
        None => loop {
            match next_item(&mut feed).await {
                FeedItem::Checkpoint(position) if position >= skipped => break,
                FeedItem::Checkpoint(position) => assert!(position >= first, "never back"),
                FeedItem::Event(event) => panic!("nothing else is wanted: {event:?}"),
            }
        },
    }

    // A wanted event after other events: never cleared past it, whatever is asked.
    let second = append_at(&store, &format!("{wanted}-2"), "second").await;
    let later = append_at(&store, &format!("{other}-1"), "later").await;
    for until in [second, later, u64::MAX] {
        let clear = must(
            "clear_through",
            within(
                "clear_through",
                store.clear_through(Some(first), until, &filter),
            )
            .await,
        );
        assert!(
            clear.is_none_or(|p| p < second),
            "cleared to {clear:?} past the undelivered {second}"
        );
    }
    // Past it: cleared at most to the newest event, never beyond.
    let clear = must(
        "clear_through",
        within(
            "clear_through",
            store.clear_through(Some(second), u64::MAX, &filter),
        )
        .await,
    );
    assert!(
        clear.is_none_or(|p| p == later),
        "{clear:?} is not the newest {later}"
    );
    assert_eq!(next_event(&mut feed).await.position, second);
    expect_marker_next(&store, &mut feed, &format!("{wanted}-1")).await;
}

/// Appends one event tagged `tag` to `stream`; its position.
async fn append_at(store: &Arc<dyn EventStore>, stream: &str, tag: &str) -> u64 {
    let appended = within(
        "append",
        store.append(stream, ExpectedRevision::Any, vec![new_event(tag)]),
    )
    .await;
    must("append", appended).position
}

async fn append(store: &Arc<dyn EventStore>, stream: &str, event: NewEvent) -> Uuid {
    let id = event.id;
    let appended = within(
        "append",
        store.append(stream, ExpectedRevision::Any, vec![event]),
    )
    .await;
    must("append", appended);
    id
}

async fn receive(feed: &mut EventFeed, count: usize) -> Vec<crate::store::RecordedEvent> {
    let mut received = Vec::with_capacity(count);
    while received.len() < count {
        received.push(next_event(feed).await);
    }
    received
}

/// Appends a marker to `stream` (of the feed's category) and asserts it is the feed's next event.
async fn expect_marker_next(store: &Arc<dyn EventStore>, feed: &mut EventFeed, stream: &str) {
    let marker = append(store, stream, new_event("marker")).await;
    let next = next_event(feed).await;
    assert_eq!(
        next.id, marker,
        "the marker must follow, nothing in between"
    );
}

fn ids(events: &[crate::store::RecordedEvent]) -> Vec<Uuid> {
    events.iter().map(|e| e.id).collect()
}
