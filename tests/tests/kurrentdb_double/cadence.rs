//! When a filtered `$all` subscription sends checkpoints, and what happens when its live buffer
//! overflows. These are exactly the places where a lenient double would hide an adapter bug:
//! a real server never checkpoints because time passes, only every `window x multiplier`
//! events considered, and catches up to the last event it sent, not to the head.

use super::*;

/// What a subscription sent up to (and including) its next `caught_up`.
#[derive(Debug, Default)]
struct Sent {
    events: Vec<Position>,
    checkpoints: Vec<Position>,
    fell_behind: bool,
    caught_up: Option<Position>,
}

async fn until_caught_up(subscription: &mut Subscription) -> Sent {
    let mut sent = Sent::default();
    loop {
        match next(subscription).await {
            SubscriptionEvent::Confirmed(_) => {}
            SubscriptionEvent::EventAppeared(e) => {
                sent.events.push(e.get_original_event().position)
            }
            SubscriptionEvent::Checkpoint(p) => sent.checkpoints.push(p),
            SubscriptionEvent::FellBehind(_) => sent.fell_behind = true,
            SubscriptionEvent::CaughtUp(Some(c)) => {
                sent.caught_up = c.position;
                return sent;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}

/// Appends one event each to `wanted-1` (the indexes in `wanted`) or `other-1`; their positions.
async fn append_mixed(client: &Client, count: usize, wanted: &[usize]) -> Vec<Position> {
    let mut positions = Vec::new();
    for i in 0..count {
        let stream = if wanted.contains(&i) {
            "wanted-1"
        } else {
            "other-1"
        };
        let written = append(
            client,
            stream,
            StreamState::Any,
            vec![event(&i.to_string())],
        )
        .await
        .expect("append");
        positions.push(written.position);
    }
    positions
}

fn wanted_only(window: u32) -> SubscriptionFilter {
    SubscriptionFilter::on_stream_name()
        .add_prefix("wanted-")
        .max(window)
}

#[tokio::test(flavor = "multi_thread")]
async fn catch_up_checkpoints_per_window_and_catches_up_at_the_last_page_not_the_head() {
    let (_double, url) = KurrentDbDouble::start().await;
    let client = client(&url);
    let e = append_mixed(&client, 22, &[5, 14]).await;
    // From e[0], pages of 4 records: e0-e3, e4-e7, e8-e11, e12-e15, e16-e19, e20-e21.
    let options = SubscribeToAllOptions::default()
        .position(StreamPosition::Position(e[0]))
        .filter(wanted_only(4));
    let mut subscription = client.subscribe_to_all(&options).await;
    let sent = until_caught_up(&mut subscription).await;
    assert_eq!(sent.events, [e[5], e[14]]);
    // At the last event sent, or at the start of the page when that is later.
    assert_eq!(sent.checkpoints, [e[0], e[5], e[8], e[14], e[16], e[20]]);
    assert_eq!(
        sent.caught_up,
        Some(e[20]),
        "caught up at the start of the last page, short of the head {:?}",
        e[21]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn live_checkpoints_come_only_at_the_record_filling_the_interval() {
    let (_double, url) = KurrentDbDouble::start().await;
    let client = client(&url);
    let head = append_mixed(&client, 3, &[1]).await;
    let options = SubscribeToAllOptions::default()
        .position(StreamPosition::Position(head[2]))
        .filter(wanted_only(4));
    let mut subscription = client.subscribe_to_all(&options).await;
    let sent = until_caught_up(&mut subscription).await;
    assert_eq!(sent.caught_up, Some(head[2]));
    // Three filtered-out events while live: nothing is sent for them, however long one waits.
    // The fourth record since subscribing fills the interval.
    let live = append_mixed(&client, 4, &[3]).await;
    match next(&mut subscription).await {
        SubscriptionEvent::EventAppeared(e) => {
            assert_eq!(
                e.get_original_event().position,
                live[3],
                "no checkpoint first"
            );
        }
        other => panic!("expected the wanted event, got {other:?}"),
    }
    match next(&mut subscription).await {
        SubscriptionEvent::Checkpoint(p) => assert_eq!(p, live[3]),
        other => panic!("expected the interval's checkpoint, got {other:?}"),
    }
    let more = append_mixed(&client, 4, &[]).await;
    match next(&mut subscription).await {
        SubscriptionEvent::Checkpoint(p) => assert_eq!(p, more[3], "only after 4 more"),
        other => panic!("expected a checkpoint, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_subscription_whose_filter_matches_nothing_catches_up_at_the_start_of_its_last_page() {
    let (_double, url) = KurrentDbDouble::start().await;
    let client = client(&url);
    let e = append_mixed(&client, 3, &[]).await;
    // The default window (32) holds the whole log: one page, starting at the log's start.
    let filter = SubscriptionFilter::on_stream_name().add_prefix("wanted-");
    let mut subscription = client
        .subscribe_to_all(&SubscribeToAllOptions::default().filter(filter))
        .await;
    let sent = until_caught_up(&mut subscription).await;
    assert!(sent.events.is_empty());
    assert_eq!(sent.caught_up, Some(Position::start()), "not at {:?}", e[2]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_live_subscription_whose_buffer_overflows_falls_behind_and_catches_up_again() {
    let (_double, url) = KurrentDbDouble::start().await;
    let client = client(&url);
    let filter = SubscriptionFilter::on_stream_name().add_prefix("burst-");
    let mut subscription = client
        .subscribe_to_all(&SubscribeToAllOptions::default().filter(filter))
        .await;
    let sent = until_caught_up(&mut subscription).await;
    assert!(sent.events.is_empty());
    // One append of more events than the live buffer holds.
    let burst: Vec<EventData> = (0..40).map(|i| event(&format!("b{i}"))).collect();
    let written = append(&client, "burst-1", StreamState::NoStream, burst)
        .await
        .expect("append");
    let again = until_caught_up(&mut subscription).await;
    assert!(again.fell_behind, "{again:?}");
    assert_eq!(again.events.len(), 40, "every event once, through catch-up");
    assert!(again.events.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(again.events.last(), Some(&written.position));
    assert_eq!(again.caught_up, Some(written.position));
    // Live again: the next event comes straight through.
    let live = append(&client, "burst-1", StreamState::Any, vec![event("live")])
        .await
        .expect("append");
    match next(&mut subscription).await {
        SubscriptionEvent::EventAppeared(e) => {
            assert_eq!(e.get_original_event().position, live.position);
        }
        other => panic!("expected the live event, got {other:?}"),
    }
}
