//! The conformance suite of the [`EventStore`](super::EventStore) port: every adapter runs these
//! cases unchanged, so the kernel and the projections can rely on one set of semantics whatever
//! the backend.
//!
//! Each case is a public async function taking the store under test. The cases only assume what
//! the port promises: positions strictly increase (never specific values, since KurrentDB's are
//! not 1, 2, 3...), and every case writes to its own uniquely named streams and categories, so
//! the suite can run concurrently against one shared server.
//!
//! An adapter's test module runs them all, one test per case, with
//! [`event_store_conformance!`](crate::event_store_conformance):
//!
//! ```ignore
//! async fn fresh_store() -> (Arc<dyn EventStore>, TempDir) { ... }
//! causeway_server::event_store_conformance!(fresh_store);
//! ```
//!
//! Every wait is bounded by [`WAIT`]; nothing sleeps to synchronise.

mod append;
mod concurrency;
mod read_all;
mod snapshot;
mod subscription;

use std::{fmt::Debug, future::Future, time::Duration};

use futures::StreamExt;
use uuid::Uuid;

pub use self::{
    append::{
        appends_and_reads_back, expected_any, expected_exact, expected_no_stream,
        expected_stream_exists, finds_events_by_id, missing_stream_reads_empty,
        reads_stream_from_revision, refused_append_writes_nothing, rejects_invalid_appends,
    },
    concurrency::{
        concurrent_appends_to_many_streams, concurrent_optimistic_appends,
        optimistic_appends_through,
    },
    read_all::{head_position_tracks_appends, read_all_orders_and_pages},
    snapshot::{snapshots_keep_the_newest, snapshots_stay_out_of_the_log},
    subscription::{
        subscription_catches_up_across_many_events, subscription_catches_up_then_goes_live,
        subscription_checkpoints_past_filtered_events, subscription_filters_by_category,
        subscription_from_position_is_exclusive,
    },
};
use super::{
    ActualRevision, AppendResult, EventFeed, FeedItem, NewEvent, RecordedEvent, StoreError,
};

/// Longest any single store operation or event delivery may take before a case fails. Generous,
/// because CI machines are small and shared; a correct store answers in milliseconds.
pub const WAIT: Duration = Duration::from_secs(20);

/// Generates one `#[tokio::test]` per conformance case. `$factory` is an async function (or
/// closure) returning `(Arc<dyn EventStore>, guard)`; the guard (a temp dir, a server handle, or
/// `()`) is dropped after the case, once the store is. The calling crate needs `tokio` with the
/// `macros` and `rt-multi-thread` features.
#[macro_export]
macro_rules! event_store_conformance {
    ($factory:expr) => {
        $crate::event_store_conformance!(@cases $factory;
            appends_and_reads_back,
            reads_stream_from_revision,
            missing_stream_reads_empty,
            rejects_invalid_appends,
            expected_any,
            expected_no_stream,
            expected_stream_exists,
            expected_exact,
            refused_append_writes_nothing,
            finds_events_by_id,
            concurrent_optimistic_appends,
            concurrent_appends_to_many_streams,
            read_all_orders_and_pages,
            head_position_tracks_appends,
            subscription_catches_up_then_goes_live,
            subscription_from_position_is_exclusive,
            subscription_filters_by_category,
            subscription_catches_up_across_many_events,
            subscription_checkpoints_past_filtered_events,
            snapshots_keep_the_newest,
            snapshots_stay_out_of_the_log,
        );
    };
    (@cases $factory:expr; $($case:ident),* $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                let (store, guard) = ($factory)().await;
                $crate::store::conformance::$case(store).await;
                drop(guard);
            }
        )*
    };
}

/// Awaits `future` for at most [`WAIT`], failing the case with `what` otherwise.
async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(WAIT, future).await {
        Ok(value) => value,
        Err(_) => panic!("{what}: no answer within {WAIT:?}"),
    }
}

/// Unwraps a store result, naming the operation that failed.
fn must<T, E: Debug>(what: &str, result: Result<T, E>) -> T {
    match result {
        Ok(value) => value,
        Err(error) => panic!("{what} failed: {error:?}"),
    }
}

/// A category no other case (or earlier run against a shared server) uses. No `-` inside, since
/// the category is the part of a stream name before the first `-`.
fn unique_category(label: &str) -> String {
    format!("conf{label}{}", Uuid::new_v4().simple())
}

/// A stream in a category of its own.
fn unique_stream(label: &str) -> String {
    format!("{}-1", unique_category(label))
}

/// An event with a fresh id whose payload names `tag`, so a mismatch is easy to read.
fn new_event(tag: &str) -> NewEvent {
    NewEvent {
        id: Uuid::new_v4(),
        event_type: "causeway.conformance.v1.Tested".to_owned(),
        data: format!(r#"{{"tag":"{tag}"}}"#).into_bytes(),
        metadata: format!(r#"{{"commandId":"{tag}"}}"#).into_bytes(),
    }
}

/// The next event of `feed` (skipping checkpoints), failing the case on an error, the end of
/// the feed or a timeout.
async fn next_event(feed: &mut EventFeed) -> RecordedEvent {
    loop {
        match next_item(feed).await {
            FeedItem::Event(event) => return event,
            FeedItem::Checkpoint(_) => continue,
        }
    }
}

/// The next item of `feed`, failing the case on an error, the end of the feed or a timeout.
async fn next_item(feed: &mut EventFeed) -> FeedItem {
    match within("waiting for a subscription item", feed.next()).await {
        Some(Ok(item)) => item,
        Some(Err(error)) => panic!("the subscription failed: {error:?}"),
        None => panic!("the subscription ended without an error"),
    }
}

/// Asserts that `result` is a conflict reporting `actual` as the stream's revision.
fn assert_conflict(result: Result<AppendResult, StoreError>, actual: Option<u64>) {
    match result {
        Err(StoreError::WrongExpectedRevision { actual: got, .. }) => {
            assert_eq!(
                got,
                ActualRevision(actual),
                "actual revision in the conflict"
            );
        }
        other => panic!("expected WrongExpectedRevision (actual {actual:?}), got {other:?}"),
    }
}

/// Asserts that positions strictly increase along `events`.
fn assert_increasing(events: &[RecordedEvent]) {
    for pair in events.windows(2) {
        assert!(
            pair[0].position < pair[1].position,
            "positions must strictly increase: {} then {}",
            pair[0].position,
            pair[1].position
        );
    }
}
