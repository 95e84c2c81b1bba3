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

use super::read::{Readers, events_after, head_position};
use crate::store::{EventFeed, FeedItem, StoreError, SubscriptionFilter};

/// Events read per query while catching up.
const BATCH: usize = 500;

/// While idle, how often a feed looks for commits made by OTHER processes on the same file.
/// Commits of this process wake it at once through the writer's watch channel; this timer is only
/// the cross-process fallback, so it bounds their delivery latency.
pub(super) const CROSS_PROCESS_POLL: Duration = Duration::from_millis(150);

struct Feed {
    readers: Arc<Readers>,
    categories: Vec<String>,
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
    readers: Arc<Readers>,
    commits: watch::Receiver<u64>,
    poll: Duration,
    after: Option<u64>,
    filter: SubscriptionFilter,
) -> EventFeed {
    let feed = Feed {
        readers,
        categories: filter.categories,
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
            // event up to that head has been considered, so it is a safe checkpoint.
            let (after, categories) = (self.last, self.categories.clone());
            let batch = self
                .readers
                .run(move |conn| {
                    let head = head_position(conn)?;
                    Ok((head, events_after(conn, after, BATCH, &categories)?))
                })
                .await;
            match batch {
                Ok((head, batch)) if batch.is_empty() => match head {
                    Some(head) if Some(head) > self.last => {
                        self.last = Some(head);
                        return Some(Ok(FeedItem::Checkpoint(head)));
                    }
                    _ => self.wait_for_commit().await,
                },
                Ok((_, batch)) => {
                    self.last = batch.last().map(|e| e.position);
                    self.pending.extend(batch.into_iter().map(FeedItem::Event));
                }
                Err(error) => {
                    self.failed = true;
                    return Some(Err(error));
                }
            }
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
