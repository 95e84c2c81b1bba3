//! Fulfilment driven from the event store like a projection: a subscription to the order
//! events from fulfilment's own checkpoint in the read store. The store's feed has no gaps and
//! no duplicates; each batch is handled completely (every order's fulfilment has taken every
//! step its news calls for) before the checkpoint moves past it, so a crash at any point
//! replays the batch, and replaying is harmless: fulfilment's decisions are idempotent and its
//! steps deduplicated. Orders of one batch are handled concurrently, each order's news in order.
//!
//! Its position, lag and health are published like a projection's (`ListProjections`, health
//! `causeway.projection.fulfilment`); a failure is retried with backoff, never skipped.
//!
//! Across replicas it runs only in the one holding the `fulfilment` lease
//! ([`FulfilmentRunner::with_lease`]), and moves its checkpoint under that lease's fence: a
//! replica that lost the lease while paused may still finish steps of the batch in hand (they
//! are deduplicated, so the new holder's replay of them is harmless) but its checkpoint commit
//! is refused and it stands by.

use std::{collections::HashMap, sync::Arc, time::Duration};

use crate::lease::{Fence, Tenure};

use futures::{StreamExt, stream};
use tokio::sync::watch;
use tracing::{debug, error, warn};

use super::decide::OrderNews;
use super::domain::PlannedLine;
use super::saga::{News, Saga};
use super::values::{OrderId, Timestamp, reservation_for};
use crate::{
    kernel::{Aggregate, CommandError, Upcasters},
    orders::{Order, OrderEvent},
    projection::{ProjectionStatus, Projections, status::StuckEvent},
    readstore::{ReadStore, ReadStoreError},
    store::{EventStore, FeedItem, RecordedEvent, StoreError, SubscriptionFilter},
};

/// The runner's name: its checkpoint key and its line in `ListProjections`.
pub const NAME: &str = "fulfilment";
/// Order events taken per batch at most.
const BATCH_SIZE: usize = 500;
/// Orders whose news is handled at once.
const CONCURRENCY: usize = 256;
/// Lost races in a row retried without reporting anything (each is already the kernel's 8
/// attempts).
const MAX_QUIET_RETRIES: u64 = 50;

/// Follows the order events and hands each order's news to [`Saga`].
pub struct FulfilmentRunner {
    events: Arc<dyn EventStore>,
    reads: Arc<dyn ReadStore>,
    saga: Arc<Saga>,
    upcasters: Arc<Upcasters>,
    timeout: Duration,
    status: watch::Sender<ProjectionStatus>,
    tenure: Option<Tenure>,
}

impl FulfilmentRunner {
    /// A runner giving each order placed `timeout` to be settled, publishing its status in
    /// `projections` under [`NAME`].
    pub fn new(
        events: Arc<dyn EventStore>,
        reads: Arc<dyn ReadStore>,
        saga: Arc<Saga>,
        upcasters: Arc<Upcasters>,
        timeout: Duration,
        projections: &Projections,
    ) -> Self {
        let status = projections.register(NAME);
        status.send_modify(|s| s.generation = 1);
        Self {
            events,
            reads,
            saga,
            upcasters,
            timeout,
            status,
            tenure: None,
        }
    }

    /// Runs only while holding `tenure`'s lease, moving the checkpoint under its fence.
    pub fn with_lease(mut self, tenure: Tenure) -> Self {
        let reporter = crate::projection::status::lease_reporter(&self.status);
        self.tenure = Some(tenure.reporting_to(reporter));
        self
    }

    /// Runs until the task is aborted; aborting is safe at any point. Under a lease it stands
    /// by until the lease is granted and stops when it is lost.
    pub async fn run(mut self) {
        let Some(tenure) = self.tenure.take() else {
            return self.serve(None).await;
        };
        loop {
            let grant = tenure.acquire().await;
            let fence = grant.fence();
            tokio::select! {
                () = self.serve(Some(&fence)) => {
                    tenure.metrics().fenced(&fence.lease);
                }
                _lost = tenure.keep(grant) => {}
            }
        }
    }

    /// Follows the order events until a checkpoint commit is fenced off (never, without a
    /// `fence`).
    async fn serve(&self, fence: Option<&Fence>) {
        let mut failures = 0u32;
        loop {
            let reason = match self.follow(&mut failures, fence).await {
                Err(Paused::Reads(ReadStoreError::Fenced(why))) => {
                    warn!(runner = NAME, reason = %why,
                        "checkpoint commit refused: another replica holds the lease now; standing by");
                    return;
                }
                Err(e) => e.to_string(),
                Ok(()) => "the subscription ended".to_owned(),
            };
            warn!(runner = NAME, %reason, "fulfilment paused; retrying");
            self.status.send_modify(|s| {
                s.healthy = false;
                s.last_error = Some(reason);
            });
            tokio::time::sleep(backoff(&mut failures)).await;
        }
    }

    async fn follow(&self, failures: &mut u32, fence: Option<&Fence>) -> Result<(), Paused> {
        let mut checkpoint = self.reads.checkpoint(NAME).await?;
        // The head now, not at the first batch: no order may be placed for a long time.
        let head = self.events.head_position().await.ok().flatten();
        self.status.send_modify(|s| {
            s.measured(checkpoint, head);
            s.healthy = s.stuck.is_none();
            s.last_error = None;
        });
        let filter = SubscriptionFilter::categories([Order::CATEGORY]);
        let mut feed = self
            .events
            .subscribe_all(checkpoint, filter)
            .ready_chunks(BATCH_SIZE);
        while let Some(chunk) = feed.next().await {
            let mut batch = Vec::with_capacity(chunk.len());
            let mut reached = None;
            for item in chunk {
                match item? {
                    FeedItem::Event(event) if Some(event.position) > checkpoint => {
                        reached = reached.max(Some(event.position));
                        batch.push(event);
                    }
                    FeedItem::Event(_) => {}
                    FeedItem::Checkpoint(position) => reached = reached.max(Some(position)),
                }
            }
            self.handle_batch(batch).await;
            if let Some(position) = reached.filter(|p| Some(*p) > checkpoint) {
                match fence {
                    Some(fence) => {
                        self.reads
                            .apply_fenced(NAME, vec![], position, fence)
                            .await?
                    }
                    None => self.reads.apply(NAME, vec![], position).await?,
                }
                checkpoint = Some(position);
            }
            *failures = 0;
            self.published(checkpoint).await;
        }
        Ok(())
    }

    /// Handles every order's news of `batch`: concurrently across orders, in order within one.
    /// Returns once all are handled; a failure is retried here, so nothing is ever skipped.
    async fn handle_batch(&self, batch: Vec<RecordedEvent>) {
        let mut orders: Vec<Vec<RecordedEvent>> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        for event in batch {
            let slot = *index.entry(event.stream.clone()).or_insert_with(|| {
                orders.push(Vec::new());
                orders.len() - 1
            });
            orders[slot].push(event);
        }
        stream::iter(orders)
            .for_each_concurrent(CONCURRENCY, |events| async move {
                for event in events {
                    self.handle_event(&event).await;
                }
            })
            .await;
    }

    /// Hands one order event to the saga until it is handled. Losing races for a contested
    /// stream (many orders reserving the last units of one product) is expected and retried at
    /// once, quietly; any other failure is reported and retried with backoff.
    async fn handle_event(&self, event: &RecordedEvent) {
        let (mut failures, mut contested) = (0u32, 0u64);
        loop {
            let result = match self.news(event) {
                Ok(None) => return,
                Ok(Some((order_id, news))) => self.saga.handle(&order_id, news).await,
                Err(undecodable) => Err(undecodable),
            };
            let error = match result {
                Ok(()) if failures > 0 => {
                    self.status.send_modify(|s| s.stuck = None);
                    return;
                }
                Ok(()) => return,
                Err(error) => error,
            };
            if matches!(error, CommandError::Conflict { .. }) && contested < MAX_QUIET_RETRIES {
                contested += 1;
                debug!(runner = NAME, stream = %event.stream, %error, "contested; trying again");
                // Spread the retries of the orders that lost together.
                let spread = (event.position.wrapping_mul(7) + contested) % 10;
                tokio::time::sleep(Duration::from_millis(spread)).await;
                continue;
            }
            let stuck = StuckEvent {
                stream: event.stream.clone(),
                revision: event.revision,
                position: event.position,
                reason: error.to_string(),
            };
            error!(runner = NAME, stream = %stuck.stream, revision = stuck.revision,
                position = stuck.position, reason = %stuck.reason,
                "fulfilment could not handle an order event; retrying with backoff");
            self.status.send_modify(|s| {
                s.healthy = false;
                s.stuck = Some(stuck);
            });
            tokio::time::sleep(backoff(&mut failures)).await;
        }
    }

    /// What `event` tells fulfilment, and about which order; `None` when nothing (an order
    /// fulfilment does not handle being placed, or a confirmation, which it made itself).
    fn news(&self, event: &RecordedEvent) -> Result<Option<(OrderId, News)>, CommandError> {
        let decoded: OrderEvent = self.upcasters.decode(event).map_err(|e| {
            CommandError::Corrupt(format!("{}@{}: {e}", event.stream, event.revision))
        })?;
        let order_id = decoded.order_id().clone();
        let news = match decoded {
            OrderEvent::Placed {
                awaits_fulfilment: false,
                ..
            }
            | OrderEvent::Confirmed { .. } => return Ok(None),
            OrderEvent::Placed { lines, .. } => News::Placed {
                lines: (0u32..)
                    .zip(lines)
                    .map(|(n, line)| PlannedLine {
                        reservation_id: reservation_for(&order_id, n),
                        sku: line.sku,
                        quantity: line.quantity,
                    })
                    .collect(),
                deadline: Timestamp::recorded_at(event.created_micros, self.timeout),
            },
            OrderEvent::Rejected { reason, .. } => News::Order(OrderNews::Withdrawn {
                rejected: true,
                reason,
            }),
            OrderEvent::Cancelled { reason, .. } => News::Order(OrderNews::Withdrawn {
                rejected: false,
                reason,
            }),
            OrderEvent::Shipped { .. } => News::Order(OrderNews::Shipped),
        };
        Ok(Some((order_id, news)))
    }

    /// Publishes progress after a batch: position, lag against the head, health.
    async fn published(&self, checkpoint: Option<u64>) {
        let head = self.events.head_position().await.ok().flatten();
        self.status.send_modify(|s| s.progressed(checkpoint, head));
    }
}

/// Why the runner stopped following the feed for a while.
#[derive(Debug, thiserror::Error)]
enum Paused {
    #[error(transparent)]
    Events(#[from] StoreError),
    #[error(transparent)]
    Reads(#[from] ReadStoreError),
}

/// 50 ms doubling to 10 s between retries; counts the failure.
fn backoff(failures: &mut u32) -> Duration {
    let delay = Duration::from_millis(50) * 2u32.saturating_pow((*failures).min(8));
    *failures = failures.saturating_add(1);
    delay.min(Duration::from_secs(10))
}
