//! The deadline worker: asks the `fulfilment_deadlines` read model which deadlines are due and
//! hands each of those fulfilments a [`News::Tick`]; the fulfilment itself decides whether its
//! deadline still matters (it no longer does once every line is reserved or the order is
//! settled) and, if so, releases what it reserved and rejects the order. The deadlines are in
//! the fulfilments' streams, so they fire after restarts too; one that fires late, or for a
//! fulfilment already finished, changes nothing.
//!
//! Between rounds it sleeps until the next deadline is due, waking early when the read model
//! moves (a new fulfilment may be due sooner) and at least every [`LONGEST_NAP`].

use std::{collections::HashMap, sync::Arc, time::Duration};

use tokio::time::Instant;
use tracing::warn;

use super::deadlines::{COLLECTION, DeadlineDocument, NAME};
use super::saga::{News, Saga};
use super::values::{OrderId, Timestamp};
use crate::{
    projection::{Projections, generation},
    readstore::{Filter, Query, ReadStore, ReadStoreError, SortKey},
};

/// Longest sleep between rounds.
const LONGEST_NAP: Duration = Duration::from_secs(1);
/// Due deadlines handled per round.
const ROUND: usize = 100;
/// A fulfilment whose deadline was handled is not handled again for this long, while the read
/// model catches up with what the handling recorded.
const QUIET: Duration = Duration::from_secs(1);

/// Fires due deadlines until the task is aborted.
pub async fn fire_deadlines(
    saga: Arc<Saga>,
    reads: Arc<dyn ReadStore>,
    projections: Projections,
    clock: fn() -> Timestamp,
) {
    let mut fired: HashMap<String, Instant> = HashMap::new();
    let mut saga_status = projections.watch(super::runner::NAME);
    loop {
        if let Some(status) = &mut saga_status {
            // Only beside the replica's active fulfilment subscription (see `crate::lease`):
            // not while another replica holds its lease, nor before this one has heard.
            if status.wait_for(|s| s.runs_here()).await.is_err() {
                return;
            }
        }
        let now = clock();
        let next = match round(&saga, &*reads, now, &mut fired).await {
            Ok(next) => next,
            Err(e) => {
                warn!(error = %e, "the deadline worker cannot read the deadlines; retrying");
                None
            }
        };
        let nap = next.map_or(LONGEST_NAP, |due| now.until(due).min(LONGEST_NAP));
        match projections.watch(NAME) {
            Some(mut status) => {
                let _ = tokio::time::timeout(nap, status.changed()).await;
            }
            None => tokio::time::sleep(nap).await,
        }
    }
}

/// Hands every due deadline (not handled in the last [`QUIET`]) to the saga; returns when the
/// next one not yet due is.
async fn round(
    saga: &Saga,
    reads: &dyn ReadStore,
    now: Timestamp,
    fired: &mut HashMap<String, Instant>,
) -> Result<Option<Timestamp>, ReadStoreError> {
    fired.retain(|_, at| at.elapsed() < QUIET);
    let collection = generation::collection(COLLECTION, generation::active(reads, NAME).await?);
    let due = Query::new(&collection)
        .with_filter(Filter::lte("dueAt", now.millis()))
        .with_sort(SortKey::asc("dueAt"))
        .with_limit(ROUND);
    for document in reads.query(&due).await?.documents {
        let Ok(deadline) = serde_json::from_value::<DeadlineDocument>(document.body) else {
            warn!(%document.id, "a deadline document is malformed; skipped");
            continue;
        };
        if fired.contains_key(&deadline.order_id) {
            continue;
        }
        let Ok(order_id) = OrderId::recorded(&deadline.order_id) else {
            continue;
        };
        if let Err(e) = saga.handle(&order_id, News::Tick).await {
            warn!(order = %order_id, error = %e, "a due deadline could not be handled; retrying");
            continue;
        }
        fired.insert(deadline.order_id, Instant::now());
    }
    let next = Query::new(&collection)
        .with_filter(Filter::gt("dueAt", now.millis()))
        .with_sort(SortKey::asc("dueAt"))
        .with_limit(1);
    Ok(reads
        .query(&next)
        .await?
        .documents
        .into_iter()
        .next()
        .and_then(|d| serde_json::from_value::<DeadlineDocument>(d.body).ok())
        .map(|d| Timestamp::from_millis(d.due_at)))
}
