//! Appends: revisions and positions, every expected-revision kind, idempotent re-appends and
//! the batches KurrentDB refuses as only partly written before.

use super::*;

#[tokio::test(flavor = "multi_thread")]
async fn appends_report_the_revision_and_a_growing_position_with_commit_equal_to_prepare() {
    let (_double, url) = KurrentDbDouble::start().await;
    let client = client(&url);
    let first = append(
        &client,
        "order-1",
        StreamState::NoStream,
        vec![event("a"), event("b"), event("c")],
    )
    .await
    .expect("create");
    assert_eq!(first.next_expected_version, 2);
    assert!(first.position.commit > 0);
    assert_eq!(first.position.commit, first.position.prepare);
    let second = append(
        &client,
        "order-1",
        StreamState::StreamRevision(2),
        vec![event("d")],
    )
    .await
    .expect("continue");
    assert_eq!(second.next_expected_version, 3);
    assert!(second.position.commit > first.position.commit);
    let read = client_events(read_all(&client, &ReadAllOptions::default()).await);
    assert_eq!(
        read[2].position, first.position,
        "an append reports its last event"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_expected_revision_kind_is_enforced_in_band() {
    let (_double, url) = KurrentDbDouble::start().await;
    let client = client(&url);
    let conflict = |result: kurrentdb::Result<WriteResult>| match result {
        Err(kurrentdb::Error::WrongExpectedVersion { current, expected }) => (current, expected),
        other => panic!("expected a wrong expected version, got {other:?}"),
    };
    let missing = append(
        &client,
        "cart-1",
        StreamState::StreamExists,
        vec![event("x")],
    )
    .await;
    assert_eq!(
        conflict(missing),
        (CurrentRevision::NoStream, StreamState::StreamExists)
    );
    let missing = append(
        &client,
        "cart-1",
        StreamState::StreamRevision(0),
        vec![event("x")],
    )
    .await;
    assert_eq!(
        conflict(missing),
        (CurrentRevision::NoStream, StreamState::StreamRevision(0))
    );
    let any = append(&client, "cart-1", StreamState::Any, vec![event("x")]).await;
    assert_eq!(
        any.expect("any on a missing stream").next_expected_version,
        0
    );
    let again = append(&client, "cart-1", StreamState::NoStream, vec![event("y")]).await;
    assert_eq!(
        conflict(again),
        (CurrentRevision::Current(0), StreamState::NoStream)
    );
    let exists = append(
        &client,
        "cart-1",
        StreamState::StreamExists,
        vec![event("y")],
    )
    .await;
    assert_eq!(exists.expect("stream exists").next_expected_version, 1);
    let stale = append(
        &client,
        "cart-1",
        StreamState::StreamRevision(0),
        vec![event("z")],
    )
    .await;
    assert_eq!(
        conflict(stale),
        (CurrentRevision::Current(1), StreamState::StreamRevision(0))
    );
    let read = read_stream(&client, "cart-1", &ReadStreamOptions::default()).await;
    assert_eq!(
        events_of(&read.expect("read")).len(),
        2,
        "refused appends wrote nothing"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_re_append_of_the_same_event_ids_is_acknowledged_and_stored_once() {
    let (_double, url) = KurrentDbDouble::start().await;
    let client = client(&url);
    let batch = vec![event("a"), event("b")];
    let first = append(&client, "order-7", StreamState::NoStream, batch.clone())
        .await
        .expect("first");
    for state in [
        StreamState::NoStream,
        StreamState::Any,
        StreamState::StreamExists,
    ] {
        let again = append(&client, "order-7", state, batch.clone())
            .await
            .unwrap_or_else(|e| panic!("re-append with {state:?}: {e}"));
        assert_eq!(again.next_expected_version, first.next_expected_version);
        assert_eq!(again.position, first.position);
    }
    let read = read_stream(&client, "order-7", &ReadStreamOptions::default()).await;
    assert_eq!(events_of(&read.expect("read")).len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn under_any_a_batch_whose_first_id_is_stored_must_be_stored_entirely() {
    let (_double, url) = KurrentDbDouble::start().await;
    let client = client(&url);
    let (old, other) = (event("old"), event("other"));
    append(
        &client,
        "order-11",
        StreamState::Any,
        vec![old.clone(), other.clone()],
    )
    .await
    .expect("first");
    // Stored ids, even out of order, are acknowledged as already written (at the last id's
    // revision) under Any and StreamExists.
    for state in [StreamState::Any, StreamState::StreamExists] {
        let again = append(&client, "order-11", state, vec![other.clone(), old.clone()])
            .await
            .expect("already written");
        assert_eq!(again.next_expected_version, 0, "the last id's revision");
    }
    // The first id stored, the second new: refused, nothing written.
    let mixed = append(
        &client,
        "order-11",
        StreamState::Any,
        vec![old.clone(), event("new")],
    )
    .await;
    assert!(
        matches!(
            mixed,
            Err(kurrentdb::Error::WrongExpectedVersion {
                current: CurrentRevision::Current(1),
                ..
            })
        ),
        "{mixed:?}"
    );
    // The first id new: the whole batch is written, the old id a second time.
    let written = append(
        &client,
        "order-11",
        StreamState::Any,
        vec![event("newer"), old.clone()],
    )
    .await
    .expect("written");
    assert_eq!(written.next_expected_version, 3);
    let read = read_stream(&client, "order-11", &ReadStreamOptions::default()).await;
    assert_eq!(events_of(&read.expect("read")).len(), 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_exact_revision_behind_the_stream_is_idempotent_only_for_the_very_next_events() {
    let (_double, url) = KurrentDbDouble::start().await;
    let client = client(&url);
    let batch: Vec<EventData> = (0..3).map(|i| event(&i.to_string())).collect();
    append(&client, "order-12", StreamState::NoStream, batch.clone())
        .await
        .expect("first");
    let again = append(
        &client,
        "order-12",
        StreamState::StreamRevision(0),
        batch[1..].to_vec(),
    )
    .await
    .expect("the events after revision 0");
    assert_eq!(again.next_expected_version, 2);
    let partial = append(
        &client,
        "order-12",
        StreamState::StreamRevision(0),
        vec![batch[1].clone(), event("new")],
    )
    .await;
    assert!(
        matches!(partial, Err(kurrentdb::Error::WrongExpectedVersion { .. })),
        "{partial:?}"
    );
    let elsewhere = append(
        &client,
        "order-12",
        StreamState::StreamRevision(1),
        vec![batch[1].clone()],
    )
    .await;
    assert!(
        matches!(
            elsewhere,
            Err(kurrentdb::Error::WrongExpectedVersion { .. })
        ),
        "an id stored at another revision: {elsewhere:?}"
    );
}
