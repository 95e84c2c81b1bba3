//! Soft delete and tombstone.

use super::*;

#[tokio::test(flavor = "multi_thread")]
async fn a_soft_deleted_stream_reads_as_missing_and_revisions_go_on_after_it() {
    let (_double, url) = KurrentDbDouble::start().await;
    let client = client(&url);
    append(
        &client,
        "order-6",
        StreamState::Any,
        vec![event("a"), event("b")],
    )
    .await
    .expect("append");
    let wrong = within(
        "delete",
        client.delete_stream(
            "order-6",
            &DeleteStreamOptions::default().stream_state(StreamState::StreamRevision(0)),
        ),
    )
    .await;
    assert!(
        is_failed_precondition(&wrong),
        "a wrong expected revision on delete is a status: {wrong:?}"
    );
    let deleted = within(
        "delete",
        client.delete_stream(
            "order-6",
            &DeleteStreamOptions::default().stream_state(StreamState::StreamRevision(1)),
        ),
    )
    .await
    .expect("delete");
    assert!(deleted.is_some(), "a delete reports its position");
    let read = read_stream(&client, "order-6", &ReadStreamOptions::default()).await;
    assert!(
        matches!(read, Err(kurrentdb::Error::ResourceNotFound)),
        "{}",
        outcome(&read)
    );
    let all = read_all(&client, &ReadAllOptions::default()).await;
    let marker = all.last().expect("the delete is in $all");
    assert_eq!(
        (marker.stream_id(), marker.event_type.as_str()),
        ("$$order-6", "$metadata")
    );
    assert_eq!(&marker.data[..], br#"{"$tb":2}"#);
    let again = append(&client, "order-6", StreamState::NoStream, vec![event("c")])
        .await
        .expect("write after delete");
    assert_eq!(again.next_expected_version, 2, "revisions go on");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tombstoned_stream_refuses_reads_and_appends() {
    let (_double, url) = KurrentDbDouble::start().await;
    let client = client(&url);
    append(&client, "order-8", StreamState::Any, vec![event("a")])
        .await
        .expect("append");
    let wrong = within(
        "tombstone",
        client.tombstone_stream(
            "order-8",
            &TombstoneStreamOptions::default().stream_state(StreamState::NoStream),
        ),
    )
    .await;
    assert!(is_failed_precondition(&wrong), "{wrong:?}");
    within(
        "tombstone",
        client.tombstone_stream("order-8", &TombstoneStreamOptions::default()),
    )
    .await
    .expect("tombstone");
    let read = read_stream(&client, "order-8", &ReadStreamOptions::default()).await;
    assert!(
        matches!(read, Err(kurrentdb::Error::ResourceDeleted)),
        "{}",
        outcome(&read)
    );
    let appended = append(&client, "order-8", StreamState::Any, vec![event("b")]).await;
    assert!(
        matches!(appended, Err(kurrentdb::Error::ResourceDeleted)),
        "{appended:?}"
    );
    let all = read_all(&client, &ReadAllOptions::default()).await;
    let tombstone = all.last().expect("the tombstone is in $all");
    assert_eq!(tombstone.event_type, "$streamDeleted");
}
