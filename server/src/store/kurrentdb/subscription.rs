//! `subscribe_all` on a KurrentDB catch-up subscription to `$all`, filtered on the server by
//! stream prefix (`<category>-`), with the server's checkpoints passed on.
//!
//! The crate's own resubscription is not used: it resumes from the last *event* only, so after
//! a run of filtered-out events it would repeat checkpoints behind ones already given, and it
//! gives up after a fixed count. Here the feed remembers the last `$all` position it saw, event
//! or checkpoint, and after a dropped connection subscribes again from exactly there. KurrentDB
//! starts a subscription strictly after its start position, so the hand-over has no gap and no
//! duplicate. Only after [`PATIENCE`] failed attempts in a row does the feed end with the error,
//! letting its owner (a projection runner) report the outage and start over.

use std::{collections::VecDeque, time::Duration};

use futures::{StreamExt, stream};
use kurrentdb::{Position, StreamPosition, SubscribeToAllOptions, Subscription, SubscriptionEvent};
use std::sync::Arc;
use tracing::{info, warn};

use super::{
    connection::{Connection, is_transient},
    convert,
};
use crate::store::{EventFeed, FeedItem, StoreError, SubscriptionFilter};

/// Consecutive failed (re)subscription attempts before the feed gives up with the error.
const PATIENCE: u32 = 40;
/// First and longest pause between resubscription attempts.
const BACKOFF: (Duration, Duration) = (Duration::from_millis(25), Duration::from_secs(1));

struct Feed {
    connection: Arc<Connection>,
    filter: SubscriptionFilter,
    /// The live subscription and the generation of the client it runs on.
    subscription: Option<(u64, Subscription)>,
    /// The last `$all` position seen (event, checkpoint or caught-up); resubscribe after it.
    resume: Option<Position>,
    /// Position of the last event delivered; anything at or before it is a duplicate.
    delivered: Option<u64>,
    /// Position of the last event or checkpoint given out; checkpoints only move forwards.
    reported: Option<u64>,
    pending: VecDeque<FeedItem>,
    failures: u32,
    ended: bool,
}

/// Every event after `after` passing `filter`, catch-up then live, with checkpoints.
pub(super) fn subscribe(
    connection: Arc<Connection>,
    after: Option<u64>,
    filter: SubscriptionFilter,
) -> EventFeed {
    let feed = Feed {
        connection,
        filter,
        subscription: None,
        resume: after.map(convert::all_position),
        delivered: after,
        reported: after,
        pending: VecDeque::new(),
        failures: 0,
        ended: false,
    };
    stream::unfold(feed, |mut feed| async move {
        let item = feed.next().await?;
        Some((item, feed))
    })
    .boxed()
}

impl Feed {
    /// The next item; `None` only after the error that ended the feed.
    async fn next(&mut self) -> Option<Result<FeedItem, StoreError>> {
        loop {
            if let Some(item) = self.pending.pop_front() {
                return Some(Ok(item));
            }
            if self.ended {
                return None;
            }
            let (generation, subscription) = match &mut self.subscription {
                Some(live) => live,
                None => match self.open().await {
                    Ok(opened) => self.subscription.insert(opened),
                    Err(error) => return self.give_up(error),
                },
            };
            let generation = *generation;
            match subscription.next_subscription_event().await {
                Ok(event) => self.receive(event),
                Err(error) => {
                    self.subscription = None;
                    let failure = self.connection.failed(generation, "subscription", &error);
                    if !is_transient(&error) || self.failures >= PATIENCE {
                        return self.give_up(failure);
                    }
                    self.failures += 1;
                    warn!(
                        %failure,
                        attempt = self.failures,
                        "KurrentDB subscription dropped; resubscribing"
                    );
                    tokio::time::sleep(self.backoff()).await;
                }
            }
        }
    }

    /// A new subscription after the last position seen (no I/O until it is polled).
    async fn open(&mut self) -> Result<(u64, Subscription), StoreError> {
        let (generation, client) = self.connection.client()?;
        let start = self
            .resume
            .map_or(StreamPosition::Start, StreamPosition::Position);
        let mut options = SubscribeToAllOptions::default().position(start);
        if !self.filter.categories.is_empty() {
            options = options.filter(convert::server_filter(&self.filter));
        }
        Ok((generation, client.subscribe_to_all(&options).await))
    }

    fn receive(&mut self, event: SubscriptionEvent) {
        match event {
            SubscriptionEvent::Confirmed(_) => {
                if self.failures > 0 {
                    let after = self.resume.map(|p| p.commit);
                    info!(?after, "KurrentDB subscription re-established");
                }
                self.failures = 0;
            }
            SubscriptionEvent::EventAppeared(resolved) => {
                let event = resolved.get_original_event();
                self.seen(event.position);
                let position = event.position.commit;
                if self.delivered.is_some_and(|d| position <= d) {
                    return;
                }
                let stream = event.stream_id();
                if convert::is_internal_stream(stream) || !self.filter.matches(stream) {
                    self.checkpoint(position);
                } else {
                    self.delivered = Some(position);
                    self.reported = Some(position);
                    self.pending
                        .push_back(FeedItem::Event(convert::recorded(event)));
                }
            }
            SubscriptionEvent::Checkpoint(position) => {
                self.seen(position);
                self.checkpoint(position.commit);
            }
            SubscriptionEvent::CaughtUp(Some(caught_up)) => {
                if let Some(position) = caught_up.position {
                    self.seen(position);
                    self.checkpoint(position.commit);
                }
            }
            _ => {}
        }
    }

    /// Remembers `position` as the resume point if it is past the current one.
    fn seen(&mut self, position: Position) {
        if self.resume.is_none_or(|r| position.commit > r.commit) {
            self.resume = Some(position);
        }
    }

    /// Tells the subscriber everything up to `position` has been considered.
    fn checkpoint(&mut self, position: u64) {
        if self.reported.is_none_or(|r| position > r) {
            self.reported = Some(position);
            self.pending.push_back(FeedItem::Checkpoint(position));
        }
    }

    fn give_up(&mut self, error: StoreError) -> Option<Result<FeedItem, StoreError>> {
        self.ended = true;
        self.subscription = None;
        Some(Err(error))
    }

    fn backoff(&self) -> Duration {
        let (first, longest) = BACKOFF;
        let doublings = self.failures.saturating_sub(1).min(6);
        (first * 2u32.pow(doublings)).min(longest)
    }
}
