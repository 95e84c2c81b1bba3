//! One-shot reads of a stream and of `$all`, the id encoding a reader asks for, the system
//! records `$all` starts with, stream metadata, links and regular-expression filters.

use super::*;

#[tokio::test(flavor = "multi_thread")]
async fn stream_reads_go_both_ways_from_a_revision_with_a_count_and_report_the_last_revision() {
    let (_double, url) = KurrentDbDouble::start().await;
    let client = client(&url);
    let events: Vec<EventData> = (0..5).map(|i| event(&i.to_string())).collect();
    append(&client, "product-9", StreamState::NoStream, events)
        .await
        .expect("append");
    let revisions = |replies: &[ReadEvent]| -> Vec<u64> {
        events_of(replies).iter().map(|e| e.revision).collect()
    };
    let forwards = ReadStreamOptions::default()
        .position(StreamPosition::Position(2))
        .max_count(2);
    let read = read_stream(&client, "product-9", &forwards)
        .await
        .expect("read");
    assert_eq!(revisions(&read), [2, 3]);
    assert!(matches!(
        read.last(),
        Some(ReadEvent::LastStreamPosition(4))
    ));
    let backwards = ReadStreamOptions::default()
        .position(StreamPosition::Position(3))
        .backwards();
    let read = read_stream(&client, "product-9", &backwards)
        .await
        .expect("read");
    assert_eq!(revisions(&read), [3, 2, 1, 0]);
    let from_end = ReadStreamOptions::default()
        .position(StreamPosition::End)
        .max_count(2);
    let read = read_stream(&client, "product-9", &from_end)
        .await
        .expect("read");
    assert_eq!(revisions(&read), [4, 3]);
    let past_the_end = ReadStreamOptions::default().position(StreamPosition::Position(10));
    let read = read_stream(&client, "product-9", &past_the_end)
        .await
        .expect("read");
    assert!(
        matches!(
            read.as_slice(),
            [
                ReadEvent::FirstStreamPosition(0),
                ReadEvent::LastStreamPosition(4)
            ]
        ),
        "an empty page reports the first and last revision"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_stream_reads_as_not_found() {
    let (_double, url) = KurrentDbDouble::start().await;
    let read = read_stream(&client(&url), "order-none", &ReadStreamOptions::default()).await;
    assert!(
        matches!(read, Err(kurrentdb::Error::ResourceNotFound)),
        "{}",
        outcome(&read)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn recorded_events_carry_what_was_appended_and_when() {
    let (_double, url) = KurrentDbDouble::start().await;
    let client = client(&url);
    let id = Uuid::new_v4();
    let data = EventData::json(
        "causeway.orders.v1.OrderPlaced",
        &serde_json::json!({"a": 1}),
    )
    .expect("json")
    .id(id)
    .metadata(br#"{"commandId":"c-1"}"#.to_vec().into());
    let binary = EventData::binary("causeway.raw", b"\x00\x01".to_vec().into());
    append(&client, "order-2", StreamState::Any, vec![data, binary])
        .await
        .expect("append");
    let read = read_stream(&client, "order-2", &ReadStreamOptions::default())
        .await
        .expect("read");
    let events = events_of(&read);
    let recorded = events[0];
    assert_eq!(recorded.id, id);
    assert_eq!(recorded.stream_id(), "order-2");
    assert_eq!(recorded.event_type, "causeway.orders.v1.OrderPlaced");
    assert!(recorded.is_json);
    assert_eq!(&recorded.data[..], br#"{"a":1}"#);
    assert_eq!(&recorded.custom_metadata[..], br#"{"commandId":"c-1"}"#);
    let ticks: i64 = recorded.metadata["created"].parse().expect("created ticks");
    let now = now_ticks();
    assert!(
        (now - 600_000_000..=now).contains(&ticks),
        "created is 100 ns ticks since the Unix epoch: {ticks} vs {now}"
    );
    assert!(!events[1].is_json, "binary content type");
}

#[tokio::test(flavor = "multi_thread")]
async fn reading_all_forwards_includes_the_start_and_backwards_excludes_it() {
    let (_double, url) = KurrentDbDouble::start().await;
    let client = client(&url);
    for i in 0..6 {
        let stream = format!("order-{}", i % 2);
        append(
            &client,
            &stream,
            StreamState::Any,
            vec![event(&i.to_string())],
        )
        .await
        .expect("append");
    }
    let all = client_events(read_all(&client, &ReadAllOptions::default()).await);
    assert_eq!(all.len(), 6);
    assert!(
        all.windows(2)
            .all(|w| w[0].position.commit < w[1].position.commit)
    );
    let at = all[3].position;
    let forwards = ReadAllOptions::default()
        .position(StreamPosition::Position(at))
        .max_count(2);
    let read = read_all(&client, &forwards).await;
    assert_eq!(
        read.iter().map(|e| e.id).collect::<Vec<_>>(),
        [all[3].id, all[4].id]
    );
    let backwards = ReadAllOptions::default()
        .position(StreamPosition::Position(at))
        .backwards();
    let read = client_events(read_all(&client, &backwards).await);
    assert_eq!(
        read.iter().map(|e| e.id).collect::<Vec<_>>(),
        [all[2].id, all[1].id, all[0].id]
    );
    let newest = read_all(
        &client,
        &ReadAllOptions::default()
            .position(StreamPosition::End)
            .max_count(1),
    )
    .await;
    assert_eq!(newest[0].id, all[5].id);
}

#[tokio::test(flavor = "multi_thread")]
async fn event_ids_come_in_the_encoding_the_reader_asks_for() {
    let (double, url) = KurrentDbDouble::start().await;
    let id = Uuid::new_v4();
    append(
        &client(&url),
        "order-5",
        StreamState::Any,
        vec![event("x").id(id)],
    )
    .await
    .expect("append");
    let mut raw = StreamsClient::connect(format!("http://{}", double.addr()))
        .await
        .expect("raw connection");
    for structured in [true, false] {
        let content = if structured {
            read_options::uuid_option::Content::Structured(Empty {})
        } else {
            read_options::uuid_option::Content::String(Empty {})
        };
        let options = read_options_for_stream("order-5", content);
        let mut replies = raw
            .read(ReadReq {
                options: Some(options),
            })
            .await
            .expect("read")
            .into_inner();
        let reply = within("read", replies.message())
            .await
            .expect("ok")
            .expect("a reply");
        let Some(read_resp::Content::Event(read)) = reply.content else {
            panic!("expected an event");
        };
        let wire_id = read.event.and_then(|e| e.id).and_then(|i| i.value);
        match wire_id {
            Some(WireUuid::Structured(s)) if structured => {
                let bits = (u128::from(s.most_significant_bits as u64) << 64)
                    | u128::from(s.least_significant_bits as u64);
                assert_eq!(Uuid::from_u128(bits), id);
            }
            Some(WireUuid::String(s)) if !structured => assert_eq!(s, id.to_string()),
            other => panic!("wrong encoding: {other:?}"),
        }
    }
}

fn read_options_for_stream(
    stream: &str,
    ids: read_options::uuid_option::Content,
) -> causeway_tests::kurrentdb::protocol::event_store::client::streams::read_req::Options {
    causeway_tests::kurrentdb::protocol::event_store::client::streams::read_req::Options {
        stream_option: Some(read_options::StreamOption::Stream(
            read_options::StreamOptions {
                stream_identifier: Some(StreamIdentifier {
                    stream_name: stream.as_bytes().to_vec(),
                }),
                revision_option: Some(read_options::stream_options::RevisionOption::Start(
                    Empty {},
                )),
            },
        )),
        count_option: Some(read_options::CountOption::Count(1)),
        filter_option: Some(read_options::FilterOption::NoFilter(Empty {})),
        uuid_option: Some(read_options::UuidOption { content: Some(ids) }),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn all_starts_with_kurrentdbs_own_records_in_system_streams() {
    let (_double, url) = KurrentDbDouble::start().await;
    let client = client(&url);
    let written = append(&client, "order-1", StreamState::Any, vec![event("a")])
        .await
        .expect("append");
    let all = read_all(&client, &ReadAllOptions::default()).await;
    let (system, ours) = all.split_at(all.len() - 1);
    assert!(system.len() >= 4, "{} system records", system.len());
    assert!(
        system
            .iter()
            .all(|e| e.stream_id().starts_with('$') && e.event_type.starts_with('$'))
    );
    let streams: Vec<&str> = system.iter().map(|e| e.stream_id()).collect();
    assert!(
        streams.contains(&"$settings") && streams.contains(&"$users"),
        "{streams:?}"
    );
    assert_eq!(ours[0].position, written.position);
    // Excluding system events is a regular expression on the stream name.
    let filter = SubscriptionFilter::on_stream_name().exclude_system_events();
    let read = read_all(&client, &ReadAllOptions::default().filter(filter)).await;
    assert_eq!(read.iter().map(|e| e.id).collect::<Vec<_>>(), [ours[0].id]);
}

#[tokio::test(flavor = "multi_thread")]
async fn regular_expression_filters_search_the_stream_name_or_the_event_type() {
    let (_double, url) = KurrentDbDouble::start().await;
    let client = client(&url);
    for stream in ["order-1", "product-1", "reorder-1"] {
        append(&client, stream, StreamState::Any, vec![event(stream)])
            .await
            .expect("append");
    }
    let streams = |filter| {
        let client = client.clone();
        async move {
            read_all(&client, &ReadAllOptions::default().filter(filter))
                .await
                .iter()
                .map(|e| e.stream_id().to_owned())
                .collect::<Vec<_>>()
        }
    };
    let anywhere = SubscriptionFilter::on_stream_name().regex("order-");
    assert_eq!(streams(anywhere).await, ["order-1", "reorder-1"]);
    let anchored = SubscriptionFilter::on_stream_name().regex("^order-");
    assert_eq!(streams(anchored).await, ["order-1"]);
    let by_type = SubscriptionFilter::on_event_type().regex(r"\.Tagged$");
    assert_eq!(streams(by_type).await.len(), 3);
    let malformed = SubscriptionFilter::on_stream_name().regex("(");
    let refused = within("a malformed filter", async {
        let mut read = client
            .read_all(&ReadAllOptions::default().filter(malformed))
            .await?;
        read.next().await
    })
    .await;
    assert!(
        matches!(&refused, Err(kurrentdb::Error::Grpc { code, .. })
            if i32::from(*code) == tonic::Code::InvalidArgument as i32),
        "{refused:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn max_count_and_truncate_before_metadata_limit_stream_reads_not_all() {
    let (_double, url) = KurrentDbDouble::start().await;
    let client = client(&url);
    let events: Vec<EventData> = (0..5).map(|i| event(&i.to_string())).collect();
    append(&client, "cart-7", StreamState::NoStream, events)
        .await
        .expect("append");
    let revisions = |read: kurrentdb::Result<Vec<ReadEvent>>| -> Vec<u64> {
        events_of(&read.expect("read"))
            .iter()
            .map(|e| e.revision)
            .collect()
    };
    let metadata = kurrentdb::StreamMetadata::builder().max_count(2).build();
    within(
        "metadata",
        client.set_stream_metadata("cart-7", &AppendToStreamOptions::default(), &metadata),
    )
    .await
    .expect("set metadata");
    let read = read_stream(&client, "cart-7", &ReadStreamOptions::default()).await;
    assert_eq!(revisions(read), [3, 4]);
    let metadata = kurrentdb::StreamMetadata::builder()
        .truncate_before(1)
        .build();
    within(
        "metadata",
        client.set_stream_metadata("cart-7", &AppendToStreamOptions::default(), &metadata),
    )
    .await
    .expect("set metadata");
    let read = read_stream(&client, "cart-7", &ReadStreamOptions::default()).await;
    assert_eq!(
        revisions(read),
        [1, 2, 3, 4],
        "new metadata replaces the old"
    );
    let all = read_all(&client, &ReadAllOptions::default()).await;
    let in_all = all.iter().filter(|e| e.stream_id() == "cart-7").count();
    assert_eq!(in_all, 5, "$all keeps every event");
}

#[tokio::test(flavor = "multi_thread")]
async fn links_resolve_to_their_targets_when_asked() {
    let (_double, url) = KurrentDbDouble::start().await;
    let client = client(&url);
    let target = event("target");
    let target_id = Uuid::new_v4();
    append(
        &client,
        "order-30",
        StreamState::NoStream,
        vec![event("zero"), target.id(target_id)],
    )
    .await
    .expect("append");
    let link = |data: &'static str| EventData::binary("$>", data.as_bytes().to_vec().into());
    append(
        &client,
        "links-1",
        StreamState::NoStream,
        vec![link("1@order-30"), link("9@order-30")],
    )
    .await
    .expect("append links");
    let plain = read_stream(&client, "links-1", &ReadStreamOptions::default())
        .await
        .expect("read");
    let first = match &plain[0] {
        ReadEvent::Event(resolved) => resolved,
        _ => panic!("expected an event"),
    };
    assert!(first.link.is_none(), "not resolved unless asked");
    assert_eq!(first.get_original_event().event_type, "$>");
    let resolved = read_stream(
        &client,
        "links-1",
        &ReadStreamOptions::default().resolve_link_tos(),
    )
    .await
    .expect("read");
    let resolved: Vec<&kurrentdb::ResolvedEvent> = resolved
        .iter()
        .filter_map(|r| match r {
            ReadEvent::Event(resolved) => Some(resolved),
            _ => None,
        })
        .collect();
    let event = resolved[0].event.as_ref().expect("the target");
    assert_eq!((event.id, event.revision), (target_id, 1));
    assert_eq!(resolved[0].get_original_stream_id(), "links-1");
    assert!(
        resolved[1].event.is_none(),
        "a link to nothing stays a link"
    );
    assert_eq!(resolved[1].get_original_event().revision, 1);
}
