//! `subscribe_all` for the embedded store: read batches after the last delivered position until
//! caught up, then wait for a commit and read again.
//!
//! Why there is no gap and no duplicate at the catch-up/live hand-over: SQLite has one writer at
//! a time (across processes too), and positions are assigned inside the write transaction under
//! that lock. A transaction that commits later therefore always holds higher positions than every
//! transaction committed before it, and a reader's snapshot never shows position `p` without
//! every committed position below `p`. So "position > last delivered" is always exactly the rest
//! of the log, whether the next read is part of catching up or of being live. (Stores whose
//! sequence numbers are taken before commit, like a Postgres sequence, do not have this property.)

use std::{collections::VecDeque, sync::Arc, time::Duration};

use futures::{StreamExt, stream};
use tokio::sync::watch;

use super::read::{category_events_between, events_after, head_position};
use crate::{
    sqlite::ReaderPool,
    store::{EventFeed, FeedItem, StoreError, SubscriptionFilter},
};

/// Events read per query while catching up.
const BATCH: usize = 1000;

/// Positions a filtered feed scans per query while its categories are dense (see [`Feed`]).
const WINDOW: u64 = 4 * BATCH as u64;

/// While idle, how often a feed looks for commits made by OTHER processes on the same file.
/// Commits of this process wake it at once through the writer's watch channel; this timer is only
/// the cross-process fallback, so it bounds their delivery latency.
pub(super) const CROSS_PROCESS_POLL: Duration = Duration::from_millis(150);

///
/// A filtered feed reads in one of two ways and picks by the density it last saw: through the
/// category index (a table lookup per event; best when its categories are a small part of the
/// log) or, once at least a quarter of the positions it read past were its own, by scanning a
/// window of positions and skipping the rest (best when they are most of the log, e.g. the one
/// projection of a single-context service catching up).
struct Feed {
    readers: Arc<ReaderPool>,
    categories: Vec<String>,
    /// Read by position window instead of through the category index.
    dense: bool,
    /// Position of the last event read or checkpoint sent; the next read starts after it.
    last: Option<u64>,
    pending: VecDeque<FeedItem>,
    /// This process's commits; `None` once the writer is gone (store dropped).
    commits: Option<watch::Receiver<u64>>,
    poll: Duration,
    failed: bool,
}

/// A feed of every event after `after` passing `filter`, live once caught up; while idle it
/// re-reads every `poll` to catch other processes' commits.
pub(super) fn subscribe(
    readers: Arc<ReaderPool>,
    commits: watch::Receiver<u64>,
    poll: Duration,
    after: Option<u64>,
    filter: SubscriptionFilter,
) -> EventFeed {
    let feed = Feed {
        readers,
        categories: filter.categories,
        dense: false,
        last: after,
        pending: VecDeque::new(),
        commits: Some(commits),
        poll,
        failed: false,
    };
    stream::unfold(feed, |mut feed| async move {
        let item = feed.next().await?;
        Some((item, feed))
    })
    .boxed()
}

impl Feed {
    /// The next item; `None` only after an error has been delivered.
    async fn next(&mut self) -> Option<Result<FeedItem, StoreError>> {
        loop {
            if let Some(item) = self.pending.pop_front() {
                return Some(Ok(item));
            }
            if self.failed {
                return None;
            }
            // Mark the current commit as seen BEFORE reading: a commit that lands after the read
            // then still changes the watch, so the wait below cannot miss it.
            if let Some(commits) = &mut self.commits {
                commits.borrow_and_update();
            }
            // The head is read BEFORE the events: if no matching event follows `last`, every
            // event up to that head has been considered, so it is a safe checkpoint. A window
            // read likewise considers every event up to its end (at most that head).
            let (after, categories) = (self.last, self.categories.clone());
            let dense = self.dense && !categories.is_empty();
            let batch = self
                .readers
                .run(move |conn| {
                    let head = head_position(conn)?;
                    if !dense {
                        return Ok((head, events_after(conn, after, BATCH, &categories)?, head));
                    }
                    let Some(head) = head else {
                        return Ok((None, Vec::new(), None));
                    };
                    let until = head.min(after.unwrap_or(0).saturating_add(WINDOW));
                    let events = category_events_between(conn, after, until, BATCH, &categories)?;
                    // A full batch may stop short of the window's end.
                    let considered = match events.last() {
                        Some(last) if events.len() == BATCH => Some(last.position),
                        _ => Some(until),
                    };
                    Ok((Some(head), events, considered))
                })
                .await;
            match batch {
                Ok((head, batch, considered)) => {
                    let reached = match batch.last() {
                        // Through the index, everything up to the last event returned.
                        Some(last) if !dense => Some(last.position),
                        _ => considered.or(head),
                    };
                    self.learn_density(batch.len(), reached);
                    match batch.last().map(|e| e.position) {
                        None => match reached {
                            Some(reached) if Some(reached) > self.last => {
                                self.last = Some(reached);
                                return Some(Ok(FeedItem::Checkpoint(reached)));
                            }
                            _ => self.wait_for_commit().await,
                        },
                        Some(last_event) => {
                            let reached = reached.unwrap_or(last_event).max(last_event);
                            self.pending.extend(batch.into_iter().map(FeedItem::Event));
                            if reached > last_event {
                                self.pending.push_back(FeedItem::Checkpoint(reached));
                            }
                            self.last = Some(reached);
                        }
                    }
                }
                Err(error) => {
                    self.failed = true;
                    return Some(Err(error));
                }
            }
        }
    }

    /// Switches between index and window reads: `found` events of the feed's categories among
    /// the positions after `last` up to `reached`.
    fn learn_density(&mut self, found: usize, reached: Option<u64>) {
        if self.categories.is_empty() {
            return;
        }
        let span = reached.map_or(0, |r| r.saturating_sub(self.last.unwrap_or(0)));
        if span > 0 {
            self.dense = (found as u64).saturating_mul(4) >= span;
        }
    }

    /// Returns when this process commits, or after the cross-process poll interval.
    async fn wait_for_commit(&mut self) {
        let poll = tokio::time::sleep(self.poll);
        match &mut self.commits {
            Some(commits) => {
                tokio::select! {
                    changed = commits.changed() => {
                        if changed.is_err() {
                            // The writer has stopped; other processes may still append.
                            self.commits = None;
                        }
                    }
                    () = poll => {}
                }
            }
            None => poll.await,
        }
    }
}
