//! The KurrentDB protocol double, pinned fact by fact by driving it with the real `kurrentdb`
//! client (and, for what that client hides, with raw calls on our own protocol stubs). If the
//! double drifts from what the client expects, these fail before any adapter test does.
//!
//! - `appends`: expected revisions, in-band conflicts, positions, idempotent re-appends.
//! - `reads`: stream and `$all` reads, both directions, counts, not-found, id encodings, the
//!   system records `$all` starts with, stream metadata, links, regex filters.
//! - `subscriptions`: confirmation, exclusive start, caught-up, live, never ending with OK.
//! - `cadence`: when a filtered subscription checkpoints, and falling behind.
//! - `deletes`: soft delete and tombstone, and the trailers of their errors.
//! - `lifecycle`: connecting, restarting on the same port, the dead-client trap.

mod appends;
mod cadence;
mod deletes;
mod lifecycle;
mod reads;
mod subscriptions;

use std::{future::Future, time::Duration};

use causeway_tests::kurrentdb::protocol::event_store::client::uuid::Value as WireUuid;
use causeway_tests::kurrentdb::{
    KurrentDbDouble, SERVER_VERSION,
    protocol::event_store::client::{
        Empty, StreamIdentifier,
        streams::{
            ReadReq, read_req::options as read_options, read_resp, streams_client::StreamsClient,
        },
    },
};
use kurrentdb::{
    AppendToStreamOptions, Client, CurrentRevision, DeleteStreamOptions, EventData, Position,
    ReadAllOptions, ReadEvent, ReadStreamOptions, RecordedEvent, StreamPosition, StreamState,
    SubscribeToAllOptions, SubscribeToStreamOptions, Subscription, SubscriptionEvent,
    SubscriptionFilter, TombstoneStreamOptions, WriteResult,
};
use uuid::Uuid;

const WAIT: Duration = Duration::from_secs(20);

async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(WAIT, future)
        .await
        .unwrap_or_else(|_| panic!("{what}: no answer within {WAIT:?}"))
}

fn client(url: &str) -> Client {
    Client::new(url.parse().expect("a valid connection string")).expect("a client")
}

fn event(tag: &str) -> EventData {
    EventData::json(
        "causeway.test.v1.Tagged",
        &serde_json::json!({ "tag": tag }),
    )
    .expect("json")
    .id(Uuid::new_v4())
    .metadata(format!(r#"{{"commandId":"{tag}"}}"#).into_bytes().into())
}

async fn append(
    client: &Client,
    stream: &str,
    state: StreamState,
    events: Vec<EventData>,
) -> kurrentdb::Result<WriteResult> {
    let options = AppendToStreamOptions::default().stream_state(state);
    within("append", client.append_to_stream(stream, &options, events)).await
}

async fn read_stream(
    client: &Client,
    stream: &str,
    options: &ReadStreamOptions,
) -> kurrentdb::Result<Vec<ReadEvent>> {
    within("stream read", async {
        let mut read = client.read_stream(stream, options).await?;
        let mut replies = Vec::new();
        while let Some(reply) = read.next_read_event().await? {
            replies.push(reply);
        }
        Ok(replies)
    })
    .await
}

async fn read_all(client: &Client, options: &ReadAllOptions) -> Vec<RecordedEvent> {
    within("$all read", async {
        let mut read = client.read_all(options).await.expect("read $all");
        let mut events = Vec::new();
        while let Some(resolved) = read.next().await.expect("next of $all") {
            events.extend(resolved.event);
        }
        events
    })
    .await
}

/// The events of streams clients write (a real `$all` also holds KurrentDB's own, in `$`
/// streams).
fn client_events(all: Vec<RecordedEvent>) -> Vec<RecordedEvent> {
    all.into_iter()
        .filter(|e| !e.stream_id().starts_with('$'))
        .collect()
}

fn events_of(replies: &[ReadEvent]) -> Vec<&RecordedEvent> {
    replies
        .iter()
        .filter_map(|r| match r {
            ReadEvent::Event(resolved) => resolved.event.as_ref(),
            _ => None,
        })
        .collect()
}

/// A read's outcome for a failure message (the crate's replies have no `Debug`).
fn outcome(read: &kurrentdb::Result<Vec<ReadEvent>>) -> String {
    match read {
        Ok(replies) => format!("{} replies", replies.len()),
        Err(error) => format!("{error:?}"),
    }
}

/// The crate reports statuses with its own tonic's `Code`; compare by number.
fn is_failed_precondition<T>(result: &kurrentdb::Result<T>) -> bool {
    matches!(result, Err(kurrentdb::Error::Grpc { code, .. })
        if i32::from(*code) == tonic::Code::FailedPrecondition as i32)
}

async fn next(subscription: &mut Subscription) -> SubscriptionEvent {
    within("subscription", subscription.next_subscription_event())
        .await
        .expect("a subscription item")
}

/// Now in KurrentDB's `created` unit: 100 ns ticks since the Unix epoch.
fn now_ticks() -> i64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970");
    i64::try_from(since.as_nanos() / 100).expect("fits")
}
