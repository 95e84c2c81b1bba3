//! Catch-up subscriptions to `$all` and to a stream.

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
async fn a_filtered_subscription_checkpoints_every_window_and_when_idle_live() {
    let (_double, url) = KurrentDbDouble::start().await;
    let client = client(&url);
    let mut wanted = Vec::new();
    let mut last = Position::start();
    for i in 0..20 {
        let stream = if i % 10 == 9 { "wanted-1" } else { "other-1" };
        let result = append(
            &client,
            stream,
            StreamState::Any,
            vec![event(&i.to_string())],
        )
        .await
        .expect("append");
        if stream == "wanted-1" {
            wanted.push(result.position);
        }
        last = result.position;
    }
    let filter = SubscriptionFilter::on_stream_name()
        .add_prefix("wanted-")
        .max(4);
    let options = SubscribeToAllOptions::default().filter(filter);
    let mut subscription = client.subscribe_to_all(&options).await;
    let (mut events, mut checkpoints) = (Vec::new(), Vec::new());
    loop {
        match next(&mut subscription).await {
            SubscriptionEvent::Confirmed(_) => {}
            SubscriptionEvent::EventAppeared(e) => events.push(e.get_original_event().position),
            SubscriptionEvent::Checkpoint(p) => checkpoints.push(p),
            SubscriptionEvent::CaughtUp(Some(c)) => {
                assert_eq!(c.position, Some(last));
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(events, wanted, "only the wanted stream's events");
    assert_eq!(
        checkpoints.len(),
        5,
        "one per 4 events considered: {checkpoints:?}"
    );
    assert!(checkpoints.windows(2).all(|w| w[0].commit < w[1].commit));

    // Live: filtered-out events alone still move the subscriber on, through a checkpoint.
    let mut skipped = Position::start();
    for i in 0..2 {
        skipped = append(
            &client,
            "other-2",
            StreamState::Any,
            vec![event(&format!("l{i}"))],
        )
        .await
        .expect("append")
        .position;
    }
    loop {
        match next(&mut subscription).await {
            SubscriptionEvent::Checkpoint(p) if p == skipped => break,
            SubscriptionEvent::Checkpoint(p) => assert!(p.commit < skipped.commit),
            other => panic!("expected a checkpoint, got {other:?}"),
        }
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
    assert!(matches!(
        next(&mut subscription).await,
        SubscriptionEvent::Confirmed(_)
    ));
    assert!(matches!(
        next(&mut subscription).await,
        SubscriptionEvent::CaughtUp(_)
    ));
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
