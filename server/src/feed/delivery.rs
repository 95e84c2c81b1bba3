//! One subscription's pump, from the store's feed to the gRPC response stream.
//!
//! A task reads the store feed (catch-up, then live: the store guarantees no gap and no
//! duplicate at the switch), keeps what the subscription selects, converts it, and hands it to
//! the response stream through a read-ahead bounded in bytes. The response stream is pulled by
//! HTTP/2 only while the consumer's flow-control window has room, so a slow consumer simply
//! makes the task wait: server memory per subscription stays at the read-ahead, plus the one
//! page the store feed holds and HTTP/2's own bounded send buffer, however far behind the
//! consumer falls.
//!
//! A consumer that takes nothing at all while events wait, for longer than the stall timeout,
//! is ended: the task gives back its store reader and quota slot at once, and the response
//! stream ends with RESOURCE_EXHAUSTED after what was already read ahead. A consumer that is
//! merely slow is never ended; it just reads further behind the head.
//!
//! While the selection skips events (other categories or types), a checkpoint carrying the
//! position looked at is sent at most once per checkpoint interval, so a consumer of a rare
//! category can still move its own checkpoint and resume past what it was never sent. Events
//! of other categories are filtered out inside the store; where its feed says how far it got
//! only now and then (KurrentDB), the pump asks the store once per quiet interval whether any
//! event of its categories lies before the head ([`EventStore::clear_through`]) and checkpoints
//! there when none does. Checkpoints never go back.

use std::{pin::Pin, sync::Arc};

use causeway_proto::events::{Checkpoint, SubscribeResponse, subscribe_response::Item};
use futures::{Stream, StreamExt};
use prost::Message;
use tokio::{
    sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch},
    time::{Instant, sleep_until, timeout},
};
use tokio_stream::wrappers::UnboundedReceiverStream;
use tonic::Status;
use tracing::debug;

use super::{
    Converter, FeedError, FeedLimits,
    metrics::{Ending, FeedMetrics},
    quota::Slot,
    readers::Scope,
    selection::Selection,
};
use crate::store::{EventFeed, EventStore, FeedItem, SubscriptionFilter};

/// What the response stream yields.
pub type Response = Result<SubscribeResponse, Status>;
/// The response stream of one subscription.
pub type Responses = Pin<Box<dyn Stream<Item = Response> + Send + 'static>>;

/// Everything one subscription needs; [`Pump::start`] consumes it.
pub struct Pump {
    /// The store's feed, already filtered by category as far as the store can.
    pub feed: EventFeed,
    /// The store itself, asked to look ahead past events its feed filtered out.
    pub store: Arc<dyn EventStore>,
    /// The last position told to the consumer (where the subscription starts, at first).
    pub reported: Option<u64>,
    /// What the caller may and asked to read.
    pub scope: Scope,
    /// What the caller selected.
    pub selection: Selection,
    /// How events become messages.
    pub converter: Converter,
    /// Read-ahead, stall timeout, checkpoint cadence.
    pub limits: FeedLimits,
    /// The caller's quota slot, given back when the pump stops.
    pub slot: Slot,
    /// Turns true when the server begins to shut down.
    pub closing: watch::Receiver<bool>,
    /// Counters.
    pub metrics: FeedMetrics,
    /// A checkpoint to send before anything else: where the subscription starts (for one from
    /// the head, the head), which confirms it and gives its consumer a position to resume from
    /// before the first event arrives.
    pub starts_at: Option<u64>,
}

type Queue = mpsc::UnboundedSender<(Response, Option<OwnedSemaphorePermit>)>;

/// Why the pump stopped, and what (if anything) the consumer is told.
enum Stop {
    Gone,
    Stalled,
    Failed(FeedError),
    ShuttingDown,
}

/// One step of the pump's loop.
enum Step {
    Item(Option<Result<FeedItem, crate::store::StoreError>>),
    Checkpoint,
    LookAhead,
}

impl Pump {
    /// Starts the pump's task and returns the response stream it fills.
    pub fn start(self) -> Responses {
        let (queue, responses) = mpsc::unbounded_channel();
        self.metrics.opened();
        tokio::spawn(self.run(queue));
        UnboundedReceiverStream::new(responses)
            // The permit is returned as the message leaves for the encoder.
            .map(|(response, _permit)| response)
            .boxed()
    }

    async fn run(mut self, queue: Queue) {
        let budget = Arc::new(Semaphore::new(self.limits.feed_buffer_bytes));
        let stop = self.pump(&queue, &budget).await;
        let (reason, status) = match stop {
            Stop::Gone => (Ending::gone, None),
            Stop::Stalled => (
                Ending::stalled,
                Some(Status::resource_exhausted(format!(
                    "this subscriber took nothing for {} while events waited for it; subscribe \
                     again after the last position handled",
                    humantime::format_duration(self.limits.feed_stall_timeout)
                ))),
            ),
            Stop::ShuttingDown => (Ending::shutdown, Some(FeedError::ShuttingDown.into())),
            Stop::Failed(error) => (Ending::failed, Some(error.into())),
        };
        debug!(?reason, "feed subscription ended");
        self.metrics.ended(reason);
        if let Some(status) = status {
            let _ = queue.send((Err(status), None));
        }
    }

    /// Runs until the consumer goes, stalls, the store fails or the server shuts down.
    async fn pump(&mut self, queue: &Queue, budget: &Arc<Semaphore>) -> Stop {
        let interval = self.limits.feed_checkpoint_interval;
        // Only a store-side category filter hides events from the pump entirely.
        let hides = !self.scope.filter.categories.is_empty();
        // The highest position looked at but not yet told to the consumer.
        let mut unreported: Option<u64> = None;
        let mut last_sent = Instant::now();
        if let Some(position) = self.starts_at.take()
            && let Err(stop) = self.send(queue, budget, checkpoint(position)).await
        {
            return stop;
        }
        loop {
            let quiet = unreported.is_some() || hides;
            let due = async move {
                match quiet {
                    true => sleep_until(last_sent + interval).await,
                    false => std::future::pending().await,
                }
            };
            let step = tokio::select! {
                biased;
                () = queue.closed() => return Stop::Gone,
                _ = self.closing.wait_for(|closing| *closing) => return Stop::ShuttingDown,
                () = due => match unreported {
                    Some(_) => Step::Checkpoint,
                    None => Step::LookAhead,
                },
                item = self.feed.next() => Step::Item(item),
            };
            let message = match step {
                Step::Checkpoint => unreported.take().map(checkpoint),
                Step::LookAhead => {
                    // Asked at most once per interval, whatever the answer.
                    last_sent = Instant::now();
                    let store = self.store.clone();
                    match look_ahead(store, self.reported, &self.scope.filter).await {
                        Ok(clear) => clear.map(checkpoint),
                        Err(error) => return Stop::Failed(error),
                    }
                }
                Step::Item(None) => {
                    return Stop::Failed(FeedError::Store(crate::store::StoreError::Unavailable(
                        "the store's feed ended".into(),
                    )));
                }
                Step::Item(Some(Err(error))) => return Stop::Failed(error.into()),
                Step::Item(Some(Ok(FeedItem::Checkpoint(position)))) => {
                    unreported = unreported.max(Some(position));
                    None
                }
                Step::Item(Some(Ok(FeedItem::Event(event)))) => {
                    if self.scope.admits(&event.stream) && self.selection.keeps(&event.event_type) {
                        unreported = None;
                        match self.converter.event(&event) {
                            Ok(event) => Some(SubscribeResponse {
                                item: Some(Item::Event(event)),
                            }),
                            Err(error) => return Stop::Failed(error),
                        }
                    } else {
                        unreported = unreported.max(Some(event.position));
                        None
                    }
                }
            };
            // A skipped event or store checkpoint is told right away once the interval has
            // passed; otherwise the timer above tells it.
            let message = message.or_else(|| {
                (last_sent.elapsed() >= interval)
                    .then(|| unreported.take().map(checkpoint))
                    .flatten()
            });
            // A checkpoint never goes back (a store's own may lag behind a look-ahead's).
            let Some((message, position)) = message
                .map(|m| (position_of(&m), m))
                .filter(|(position, _)| Some(*position) > self.reported)
                .map(|(position, m)| (m, position))
            else {
                continue;
            };
            let is_event = matches!(message.item, Some(Item::Event(_)));
            if let Err(stop) = self.send(queue, budget, message).await {
                return stop;
            }
            if is_event {
                self.metrics.delivered();
            }
            self.reported = Some(position);
            last_sent = Instant::now();
        }
    }

    /// Queues `message` once the read-ahead has room for it; a consumer that makes no room
    /// within the stall timeout is stalled.
    async fn send(
        &mut self,
        queue: &Queue,
        budget: &Arc<Semaphore>,
        message: SubscribeResponse,
    ) -> Result<(), Stop> {
        // A message larger than the whole read-ahead still goes, alone.
        let cost = message
            .encoded_len()
            .clamp(1, self.limits.feed_buffer_bytes);
        let cost = u32::try_from(cost).unwrap_or(u32::MAX);
        let room = timeout(
            self.limits.feed_stall_timeout,
            budget.clone().acquire_many_owned(cost),
        );
        let permit = tokio::select! {
            biased;
            () = queue.closed() => return Err(Stop::Gone),
            _ = self.closing.wait_for(|closing| *closing) => return Err(Stop::ShuttingDown),
            permit = room => match permit {
                Ok(Ok(permit)) => permit,
                Ok(Err(_)) => return Err(Stop::Gone),
                Err(_) => return Err(Stop::Stalled),
            },
        };
        queue
            .send((Ok(message), Some(permit)))
            .map_err(|_| Stop::Gone)
    }
}

/// How far a consumer told everything up to `reported` may move its checkpoint although the
/// store's feed has said nothing: up to the head, when no event of `filter`'s categories lies in
/// between. Stores whose feeds checkpoint promptly answer `None`; their feed says it instead.
async fn look_ahead(
    store: Arc<dyn EventStore>,
    reported: Option<u64>,
    filter: &SubscriptionFilter,
) -> Result<Option<u64>, FeedError> {
    let Some(head) = store.head_position().await? else {
        return Ok(None);
    };
    if reported.is_some_and(|reported| reported >= head) {
        return Ok(None);
    }
    let clear = store.clear_through(reported, head, filter).await?;
    Ok(clear.filter(|clear| Some(*clear) > reported))
}

/// The position a message tells the consumer it may resume after.
fn position_of(message: &SubscribeResponse) -> u64 {
    match &message.item {
        Some(Item::Event(event)) => event.position,
        Some(Item::Checkpoint(checkpoint)) => checkpoint.position,
        None => 0,
    }
}

fn checkpoint(position: u64) -> SubscribeResponse {
    SubscribeResponse {
        item: Some(Item::Checkpoint(Checkpoint { position })),
    }
}
