//! Soft delete and tombstone: what they write, what writes they allow afterwards, and the
//! trailers of their errors (which the Node.js client reads unconditionally).

use causeway_tests::kurrentdb::protocol::event_store::client::streams::{
    DeleteReq, TombstoneReq, delete_req, tombstone_req,
};
use tonic::metadata::MetadataMap;

use super::*;

/// `$tb` of a soft-deleted stream: the largest revision.
const DELETED_TB: &str = r#"{"$tb":9223372036854775807}"#;

#[tokio::test(flavor = "multi_thread")]
async fn a_soft_deleted_stream_reads_as_missing_and_writes_go_on_after_its_last_revision() {
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
    assert_eq!(&marker.data[..], DELETED_TB.as_bytes());

    // StreamExists: deleted. The old last revision still holds for an exact expectation.
    let exists = append(
        &client,
        "order-6",
        StreamState::StreamExists,
        vec![event("x")],
    )
    .await;
    assert!(
        matches!(exists, Err(kurrentdb::Error::ResourceDeleted)),
        "{exists:?}"
    );
    let again = append(
        &client,
        "order-6",
        StreamState::StreamRevision(1),
        vec![event("c")],
    )
    .await
    .expect("write at the old last revision after the delete");
    assert_eq!(again.next_expected_version, 2, "revisions go on");
    // The write undeleted the stream: new metadata starts it at the first new revision.
    let all = read_all(&client, &ReadAllOptions::default()).await;
    let undelete = all.last().expect("the undelete is in $all");
    assert_eq!(undelete.stream_id(), "$$order-6");
    assert!(undelete.position.commit > again.position.commit);
    assert_eq!(&undelete.data[..], br#"{"$tb":2}"#);
    let read = read_stream(&client, "order-6", &ReadStreamOptions::default()).await;
    let revisions: Vec<u64> = events_of(&read.expect("read"))
        .iter()
        .map(|e| e.revision)
        .collect();
    assert_eq!(revisions, [2]);
}

#[tokio::test(flavor = "multi_thread")]
async fn no_stream_writes_to_a_soft_deleted_stream() {
    let (_double, url) = KurrentDbDouble::start().await;
    let client = client(&url);
    append(&client, "order-16", StreamState::NoStream, vec![event("a")])
        .await
        .expect("append");
    within(
        "delete",
        client.delete_stream("order-16", &DeleteStreamOptions::default()),
    )
    .await
    .expect("delete");
    let again = append(&client, "order-16", StreamState::NoStream, vec![event("b")])
        .await
        .expect("no stream after a soft delete");
    assert_eq!(again.next_expected_version, 1);
    let stale = append(
        &client,
        "order-16",
        StreamState::StreamRevision(0),
        vec![event("c")],
    )
    .await;
    assert!(
        matches!(
            stale,
            Err(kurrentdb::Error::WrongExpectedVersion {
                current: CurrentRevision::Current(1),
                ..
            })
        ),
        "{stale:?}"
    );
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

#[tokio::test(flavor = "multi_thread")]
async fn delete_and_tombstone_errors_carry_the_stream_and_versions_as_trailers() {
    let (double, url) = KurrentDbDouble::start().await;
    append(
        &client(&url),
        "order-14",
        StreamState::Any,
        vec![event("a"), event("b")],
    )
    .await
    .expect("append");
    let mut raw = StreamsClient::connect(format!("http://{}", double.addr()))
        .await
        .expect("raw connection");
    let stream = || {
        Some(StreamIdentifier {
            stream_name: b"order-14".to_vec(),
        })
    };
    let delete = DeleteReq {
        options: Some(delete_req::Options {
            stream_identifier: stream(),
            expected_stream_revision: Some(delete_req::options::ExpectedStreamRevision::NoStream(
                Empty {},
            )),
        }),
    };
    let refused = within("delete", raw.delete(delete))
        .await
        .expect_err("refused");
    assert_trailers(
        refused.metadata(),
        &[
            ("exception", "wrong-expected-version"),
            ("stream-name", "order-14"),
            ("expected-version", "-1"),
            ("actual-version", "1"),
        ],
    );
    let tombstone = |rule| TombstoneReq {
        options: Some(tombstone_req::Options {
            stream_identifier: stream(),
            expected_stream_revision: Some(rule),
        }),
    };
    let refused = within(
        "tombstone",
        raw.tombstone(tombstone(
            tombstone_req::options::ExpectedStreamRevision::Revision(7),
        )),
    )
    .await
    .expect_err("refused");
    assert_trailers(
        refused.metadata(),
        &[
            ("exception", "wrong-expected-version"),
            ("stream-name", "order-14"),
            ("expected-version", "7"),
            ("actual-version", "1"),
        ],
    );
    let any = || tombstone_req::options::ExpectedStreamRevision::Any(Empty {});
    within("tombstone", raw.tombstone(tombstone(any())))
        .await
        .expect("tombstoned");
    let deleted = within("tombstone", raw.tombstone(tombstone(any())))
        .await
        .expect_err("already deleted");
    assert_eq!(deleted.code(), tonic::Code::FailedPrecondition);
    assert_trailers(
        deleted.metadata(),
        &[("exception", "stream-deleted"), ("stream-name", "order-14")],
    );
}

fn assert_trailers(metadata: &MetadataMap, expected: &[(&str, &str)]) {
    for (key, value) in expected {
        let got = metadata.get(*key).and_then(|v| v.to_str().ok());
        assert_eq!(got, Some(*value), "trailer {key} in {metadata:?}");
    }
}
