//! [`Consumer`]: a handler run over a subscription, with its progress kept in a
//! [`Checkpoints`] store.
//!
//! The order is always: handle the event, then store its position. A consumer stopped between
//! the two (a crash, a deploy) is given that event again when it starts, so delivery is at least
//! once, and a repeat is recognisable: its position is at most the highest one the handler has
//! already seen. Storing after every `n` events instead of every one trades more repeats after
//! a crash for fewer writes.

use std::{future::Future, num::NonZeroU32};

use futures::StreamExt;

use super::{CheckpointError, Checkpoints, Event, Events, Received, SubscribeRequest};
use crate::Error;

/// Why a consumer stopped.
#[derive(Debug, thiserror::Error)]
pub enum ConsumerError<E> {
    /// The subscription failed for good (see [`super::Events::subscribe`] for what it rides out).
    #[error("event feed: {0}")]
    Feed(#[from] Error),
    /// The checkpoint could not be loaded or stored.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// The handler failed; the event it failed on was not checkpointed and comes again on the
    /// next run.
    #[error("handler: {0}")]
    Handler(E),
}

/// Runs a handler over every event of a subscription, resuming from a stored checkpoint.
///
/// ```no_run
/// # async fn demo(client: causeway_client::Client) -> Result<(), Box<dyn std::error::Error>> {
/// use causeway_client::events::{Consumer, FileCheckpoints, StoredEvent, SubscribeRequest};
///
/// let request = SubscribeRequest { category: vec!["order".into()], ..Default::default() };
/// Consumer::new(client.events(), request, FileCheckpoints::new("billing.checkpoint"))
///     .run(|event| async move {
///         if let Some(StoredEvent::OrderPlaced(placed)) = &event.message {
///             println!("bill {} for order {}", placed.total_minor, placed.order_id);
///         }
///         Ok::<(), std::io::Error>(())
///     })
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Consumer<C> {
    events: Events,
    request: SubscribeRequest,
    checkpoints: C,
    store_every: NonZeroU32,
}

impl<C: Checkpoints> Consumer<C> {
    /// A consumer of what `request` selects, resuming after the position in `checkpoints` (or
    /// where `request` says, before the first checkpoint).
    pub fn new(events: Events, request: SubscribeRequest, checkpoints: C) -> Self {
        Self {
            events,
            request,
            checkpoints,
            store_every: NonZeroU32::MIN,
        }
    }

    /// Stores the position after every `n`-th event handled (and at every checkpoint the feed
    /// sends) instead of after each one.
    pub fn store_every(mut self, n: NonZeroU32) -> Self {
        self.store_every = n;
        self
    }

    /// Handles events one at a time, in position order, until the feed or the handler fails
    /// (the subscription itself never ends). Drop the future to stop.
    pub async fn run<F, Fut, E>(self, mut handle: F) -> Result<(), ConsumerError<E>>
    where
        F: FnMut(Event) -> Fut,
        Fut: Future<Output = Result<(), E>>,
    {
        let mut request = self.request;
        if let Some(after) = self.checkpoints.load().await? {
            request.after = after;
            request.from_head = false;
        }
        let mut feed = self.events.subscribe(request);
        let mut unstored = 0;
        while let Some(item) = feed.next().await {
            let item = item?;
            let position = item.position();
            let store_now = match item {
                Received::Event(event) => {
                    handle(*event).await.map_err(ConsumerError::Handler)?;
                    unstored += 1;
                    unstored >= self.store_every.get()
                }
                Received::Checkpoint(_) => true,
            };
            if store_now {
                self.checkpoints.store(position).await?;
                unstored = 0;
            }
        }
        Err(Error::protocol("the subscription ended").into())
    }
}
