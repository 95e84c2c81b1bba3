//! Catch-up subscriptions to `$all` and to a stream: the order of what they send, links, deleted
//! streams, and how they end. When a filtered one checkpoints is in `cadence`.

use super::*;

#[tokio::test(flavor = "multi_thread")]
async fn a_subscription_confirms_catches_up_strictly_after_its_start_then_goes_live() {
    let (_double, url) = KurrentDbDouble::start().await;
    let client = client(&url);
    let mut written = Vec::new();
    for i in 0..5 {
        let e = event(&i.to_string());
        let id = e.clone();
        let result = append(&client, "order-3", StreamState::Any, vec![e])
            .await
            .expect("append");
        written.push((id, result.position));
    }
    let start = written[2].1;
    let options = SubscribeToAllOptions::default().position(StreamPosition::Position(start));
    let mut subscription = client.subscribe_to_all(&options).await;
    assert!(matches!(
        next(&mut subscription).await,
        SubscriptionEvent::Confirmed(_)
    ));
    for (_, position) in &written[3..] {
        match next(&mut subscription).await {
            SubscriptionEvent::EventAppeared(e) => {
                assert_eq!(
                    e.get_original_event().position,
                    *position,
                    "exclusive start"
                );
            }
            other => panic!("expected an event, got {other:?}"),
        }
    }
    match next(&mut subscription).await {
        SubscriptionEvent::CaughtUp(Some(caught_up)) => {
            assert_eq!(
                caught_up.position,
                Some(written[4].1),
                "caught up at the head"
            );
            let age = now_ticks() / 10_000_000 - caught_up.date.timestamp();
            assert!(
                (0..60).contains(&age),
                "caught up carries the server's time"
            );
        }
        other => panic!("expected caught up, got {other:?}"),
    }
    let live = append(&client, "order-4", StreamState::Any, vec![event("live")])
        .await
        .expect("append");
    match next(&mut subscription).await {
        SubscriptionEvent::EventAppeared(e) => {
            assert_eq!(e.get_original_event().position, live.position);
        }
        other => panic!("expected the live event, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_subscription_from_the_end_is_caught_up_at_the_head_at_once() {
    let (_double, url) = KurrentDbDouble::start().await;
    let client = client(&url);
    let head = append(
        &client,
        "order-1",
        StreamState::Any,
        vec![event("a"), event("b")],
    )
    .await
    .expect("append")
    .position;
    let options = SubscribeToAllOptions::default().position(StreamPosition::End);
    let mut subscription = client.subscribe_to_all(&options).await;
    assert!(matches!(
        next(&mut subscription).await,
        SubscriptionEvent::Confirmed(_)
    ));
    match next(&mut subscription).await {
        SubscriptionEvent::CaughtUp(Some(caught_up)) => assert_eq!(caught_up.position, Some(head)),
        other => panic!("expected caught up, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stream_subscription_starts_after_its_revision_and_reports_it_when_caught_up() {
    let (_double, url) = KurrentDbDouble::start().await;
    let client = client(&url);
    let events: Vec<EventData> = (0..4).map(|i| event(&i.to_string())).collect();
    append(&client, "user-1", StreamState::NoStream, events)
        .await
        .expect("append");
    append(
        &client,
        "user-2",
        StreamState::NoStream,
        vec![event("other")],
    )
    .await
    .expect("append");
    let options = SubscribeToStreamOptions::default().start_from(StreamPosition::Position(1));
    let mut subscription = client.subscribe_to_stream("user-1", &options).await;
    assert!(matches!(
        next(&mut subscription).await,
        SubscriptionEvent::Confirmed(_)
    ));
    for revision in [2, 3] {
        match next(&mut subscription).await {
            SubscriptionEvent::EventAppeared(e) => {
                assert_eq!(e.get_original_event().revision, revision);
                assert_eq!(e.get_original_stream_id(), "user-1");
            }
            other => panic!("expected revision {revision}, got {other:?}"),
        }
    }
    match next(&mut subscription).await {
        SubscriptionEvent::CaughtUp(Some(c)) => assert_eq!(c.stream_revision, Some(3)),
        other => panic!("expected caught up, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_subscription_ends_with_an_error_when_the_server_stops() {
    let (mut double, url) = KurrentDbDouble::start().await;
    let client = client(&url);
    let mut subscription = client
        .subscribe_to_all(&SubscribeToAllOptions::default())
        .await;
    // Unfiltered, it first sends KurrentDB's own records.
    loop {
        match next(&mut subscription).await {
            SubscriptionEvent::CaughtUp(_) => break,
            SubscriptionEvent::Confirmed(_) => {}
            SubscriptionEvent::EventAppeared(e) => {
                assert!(e.get_original_stream_id().starts_with('$'));
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    let stopping = tokio::spawn(async move {
        double.stop().await;
        double
    });
    let ended = within(
        "the end of the subscription",
        subscription.next_subscription_event(),
    )
    .await;
    assert!(
        matches!(ended, Err(kurrentdb::Error::ServerError(_))),
        "{ended:?}"
    );
    within("stop", stopping).await.expect("stopped");
}

#[tokio::test(flavor = "multi_thread")]
async fn raw_subscription_replies_end_with_an_error_status_never_ok() {
    let (mut double, _url) = KurrentDbDouble::start().await;
    let mut raw = StreamsClient::connect(format!("http://{}", double.addr()))
        .await
        .expect("raw connection");
    let request = ReadReq {
        options: Some(read_options_for_all_subscription()),
    };
    let mut replies = raw.read(request).await.expect("subscribe").into_inner();
    let first = within("confirmation", replies.message()).await.expect("ok");
    assert!(matches!(
        first.and_then(|r| r.content),
        Some(read_resp::Content::Confirmation(_))
    ));
    double.stop().await;
    loop {
        match within("the end", replies.message()).await {
            Ok(Some(_)) => continue,
            Ok(None) => panic!("the subscription ended with OK"),
            Err(status) => {
                assert_eq!(status.code(), tonic::Code::Unavailable);
                break;
            }
        }
    }
}

fn read_options_for_all_subscription()
-> causeway_tests::kurrentdb::protocol::event_store::client::streams::read_req::Options {
    causeway_tests::kurrentdb::protocol::event_store::client::streams::read_req::Options {
        stream_option: Some(read_options::StreamOption::All(read_options::AllOptions {
            all_option: Some(read_options::all_options::AllOption::Start(Empty {})),
        })),
        count_option: Some(read_options::CountOption::Subscription(
            read_options::SubscriptionOptions {},
        )),
        filter_option: Some(read_options::FilterOption::NoFilter(Empty {})),
        uuid_option: Some(read_options::UuidOption {
            content: Some(read_options::uuid_option::Content::Structured(Empty {})),
        }),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stream_subscription_sends_the_tombstone_then_ends_with_stream_deleted() {
    let (_double, url) = KurrentDbDouble::start().await;
    let client = client(&url);
    append(&client, "order-40", StreamState::NoStream, vec![event("a")])
        .await
        .expect("append");
    let from_start = SubscribeToStreamOptions::default().start_from(StreamPosition::Start);
    let mut subscription = client.subscribe_to_stream("order-40", &from_start).await;
    assert!(matches!(
        next(&mut subscription).await,
        SubscriptionEvent::Confirmed(_)
    ));
    assert!(matches!(
        next(&mut subscription).await,
        SubscriptionEvent::EventAppeared(_)
    ));
    match next(&mut subscription).await {
        SubscriptionEvent::CaughtUp(Some(c)) => assert_eq!(c.stream_revision, Some(0)),
        other => panic!("expected caught up, got {other:?}"),
    }
    within(
        "tombstone",
        client.tombstone_stream("order-40", &TombstoneStreamOptions::default()),
    )
    .await
    .expect("tombstone");
    match next(&mut subscription).await {
        SubscriptionEvent::EventAppeared(e) => {
            assert_eq!(e.get_original_event().event_type, "$streamDeleted");
        }
        other => panic!("expected the tombstone, got {other:?}"),
    }
    let ended = within("the end", subscription.next_subscription_event()).await;
    assert!(
        matches!(ended, Err(kurrentdb::Error::ResourceDeleted)),
        "{ended:?}"
    );
    // Subscribing to it now: confirmed, then the same error.
    let mut again = client.subscribe_to_stream("order-40", &from_start).await;
    assert!(matches!(
        next(&mut again).await,
        SubscriptionEvent::Confirmed(_)
    ));
    let refused = within("the end", again.next_subscription_event()).await;
    assert!(
        matches!(refused, Err(kurrentdb::Error::ResourceDeleted)),
        "{refused:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_subscription_resolves_links_when_asked() {
    let (_double, url) = KurrentDbDouble::start().await;
    let client = client(&url);
    let target_id = Uuid::new_v4();
    append(
        &client,
        "order-41",
        StreamState::NoStream,
        vec![event("t").id(target_id)],
    )
    .await
    .expect("append");
    let link = EventData::binary("$>", b"0@order-41".to_vec().into());
    append(&client, "links-2", StreamState::NoStream, vec![link])
        .await
        .expect("append link");
    let filter = SubscriptionFilter::on_stream_name().add_prefix("links-");
    let options = SubscribeToAllOptions::default()
        .filter(filter)
        .resolve_link_tos();
    let mut subscription = client.subscribe_to_all(&options).await;
    loop {
        match next(&mut subscription).await {
            SubscriptionEvent::EventAppeared(e) => {
                let target = e.event.as_ref().expect("resolved");
                assert_eq!(target.id, target_id);
                assert_eq!(e.get_original_stream_id(), "links-2");
                break;
            }
            SubscriptionEvent::Confirmed(_) | SubscriptionEvent::Checkpoint(_) => {}
            other => panic!("expected the link, got {other:?}"),
        }
    }
}
