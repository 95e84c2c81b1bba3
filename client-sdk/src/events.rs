//! The event feed: the generated messages and client of `causeway.events.v1`, and [`Events`],
//! the handle that follows the log with the SDK's guarantees.
//!
//! - [`Events::subscribe`] is a `futures::Stream` of [`Received`] items: typed [`Event`]s
//!   (the payload decoded into its generated message, [`StoredEvent`]) and checkpoints. It
//!   reconnects by itself with backoff when the connection drops, the server restarts or ends
//!   a subscriber that fell too far behind, and resumes after the last position it yielded,
//!   so nothing is missed and nothing is yielded twice.
//! - [`Consumer`] runs a handler over a subscription and stores how far it got through a
//!   [`Checkpoints`] store ([`MemoryCheckpoints`], [`FileCheckpoints`]), so a restarted
//!   consumer goes on where it stopped. Delivery is at least once: after a crash between
//!   handling an event and storing its position, that event comes again, recognisable by its
//!   position.
//!
//! Layout: this file (the handle, [`Event`], [`Received`]); `subscription` (the reconnecting
//! stream); `checkpoints` (the trait and its two stores); `consumer` (the run loop).

mod checkpoints;
mod consumer;
mod subscription;

pub use causeway_proto::StoredEvent;
pub use causeway_proto::events::*;

pub use self::checkpoints::{CheckpointError, Checkpoints, FileCheckpoints, MemoryCheckpoints};
pub use self::consumer::{Consumer, ConsumerError};
pub use self::subscription::Subscription;

use crate::{Error, call::Caller, retry::CallKind};

/// One stored event as the feed delivers it, with its payload decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Global position: strictly increasing across the log; what a consumer resumes after.
    pub position: u64,
    /// The stream, `<category>-<id>` (`order-7f3c…`).
    pub stream: String,
    /// Place in its stream, from 0.
    pub revision: u64,
    /// The event's id.
    pub event_id: String,
    /// Full protobuf name of the payload, e.g. `causeway.orders.v1.OrderPlaced`.
    pub event_type: String,
    /// The payload at its newest schema; `None` for a type this build of the SDK does not know
    /// (a newer server), whose bytes are still in [`Event::raw`].
    pub message: Option<StoredEvent>,
    /// The event exactly as the server sent it (payload as `google.protobuf.Any`, metadata,
    /// commit time).
    pub raw: FeedEvent,
}

/// One item of a subscription.
#[derive(Debug, Clone, PartialEq)]
pub enum Received {
    /// The next event that passes the subscription's filter.
    Event(Box<Event>),
    /// Everything up to this position that passes the filter has been delivered: move a
    /// stored checkpoint here to skip what the filter skipped.
    Checkpoint(u64),
}

impl Received {
    /// The position to resume after once this item is handled.
    pub fn position(&self) -> u64 {
        match self {
            Self::Event(event) => event.position,
            Self::Checkpoint(position) => *position,
        }
    }
}

impl TryFrom<FeedEvent> for Event {
    type Error = Error;

    /// Decodes the payload; bytes that do not decode as the type they claim are a protocol
    /// error (a server bug or a version mismatch), not an unknown type.
    fn try_from(raw: FeedEvent) -> Result<Self, Error> {
        let message = match raw.payload.as_ref().map(StoredEvent::from_any) {
            None => return Err(Error::protocol("the feed sent an event without a payload")),
            Some(None) => None,
            Some(Some(Ok(message))) => Some(message),
            Some(Some(Err(e))) => {
                return Err(Error::protocol(format!(
                    "{} at position {} does not decode: {e}",
                    raw.event_type, raw.position
                )));
            }
        };
        Ok(Self {
            position: raw.position,
            stream: raw.stream.clone(),
            revision: raw.revision,
            event_id: raw.event_id.clone(),
            event_type: raw.event_type.clone(),
            message,
            raw,
        })
    }
}

/// Follows and reads the event log; from [`crate::Client::events`].
#[derive(Debug, Clone)]
pub struct Events {
    caller: Caller,
}

impl Events {
    pub(crate) fn new(caller: Caller) -> Self {
        Self { caller }
    }

    /// Every event after `request.after` (or from the head, with `from_head`) that passes its
    /// filter, catch-up then live, as a stream that never ends by itself. It reconnects with
    /// the client's backoff after a dropped connection, `UNAVAILABLE` or `RESOURCE_EXHAUSTED`
    /// (a subscriber the server ended for being too slow, or one over the caller's limit), and
    /// resumes after the last position it yielded. It ends with an error after as many
    /// consecutive failed attempts as the retry policy allows, or at once on an error the same
    /// request would get again (`PERMISSION_DENIED`, `INVALID_ARGUMENT`, ...).
    ///
    /// ```no_run
    /// # async fn demo(client: causeway_client::Client) -> Result<(), causeway_client::Error> {
    /// use futures::TryStreamExt;
    /// use causeway_client::events::{Received, StoredEvent, SubscribeRequest};
    ///
    /// let mut feed = client.events().subscribe(SubscribeRequest {
    ///     category: vec!["product".into()],
    ///     ..Default::default()
    /// });
    /// while let Some(item) = feed.try_next().await? {
    ///     if let Received::Event(event) = item
    ///         && let Some(StoredEvent::StockReserved(reserved)) = &event.message
    ///     {
    ///         println!("{} reserved {} at {}", reserved.sku, reserved.quantity, event.position);
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn subscribe(&self, request: SubscribeRequest) -> Subscription {
        Subscription::new(self.caller.client().clone(), request)
    }

    /// One page of one stream's events from a revision (an order's, product's or user's life).
    pub async fn read_stream(
        &self,
        request: ReadStreamRequest,
    ) -> Result<ReadStreamResponse, Error> {
        self.caller
            .unary(CallKind::Query, request, |channel, request| async move {
                event_feed_client::EventFeedClient::new(channel)
                    .read_stream(request)
                    .await
            })
            .await
    }
}
