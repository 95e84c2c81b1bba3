//! Catch-up: the stored events after the subscription's checkpoint, a page at a time.
//!
//! A page of `$all` starts at a position (inclusive) and considers records until it holds
//! [`PAGE`] matching ones, has considered the filter's window of records, or reaches the end
//! of the log. Events at or before the checkpoint are skipped (only the first record of the
//! first page can be one). A filtered subscription then moves its checkpoint to the page's
//! start if that is later (every record there has been considered), counts the records
//! considered, and sends a checkpoint once the count reaches `window x multiplier`, and always
//! at the end of catch-up. A stream is read [`PAGE`] revisions at a time.

use std::sync::Arc;

use super::{Ended, Subscription, Target};
use crate::kurrentdb::{log::Record, wire};

/// Events per page (KurrentDB's read batch size).
pub(super) const PAGE: usize = 32;

/// One page of `$all` as the subscription sees it.
struct Page {
    /// The matching records after the checkpoint.
    events: Vec<Arc<Record>>,
    /// Records considered, matching or not.
    considered: usize,
    /// Whether the page reached the end of the log.
    end: bool,
    /// Where the next page starts.
    next: u64,
}

impl Subscription {
    /// Sends every stored event after the checkpoint; returns once at the end of the log.
    pub(super) async fn catch_up(&mut self) -> Result<(), Ended> {
        match &self.target {
            Target::All { .. } => self.catch_up_all().await,
            Target::Stream { name } => {
                let name = name.clone();
                self.catch_up_stream(&name).await
            }
        }
    }

    async fn catch_up_all(&mut self) -> Result<(), Ended> {
        let (window, interval) = self.target.filter().map_or((PAGE, None), |f| {
            (as_usize(f.window), Some(f.checkpoint_interval))
        });
        let mut considered_since_checkpoint = 0u64;
        let mut start = self.checkpoint.unwrap_or(0);
        loop {
            let page = self.read_page(start, window);
            for record in &page.events {
                self.send_event(record).await?;
                self.checkpoint = Some(record.position);
            }
            let Some(interval) = interval else {
                if page.end {
                    return Ok(());
                }
                start = page.next;
                continue;
            };
            if page.considered > 0 && self.checkpoint < Some(start) {
                self.checkpoint = Some(start);
            }
            considered_since_checkpoint += page.considered as u64;
            if page.end {
                return self.send_checkpoint(self.checkpoint).await;
            }
            let interval = u64::from(interval.max(1));
            if considered_since_checkpoint >= interval {
                considered_since_checkpoint %= interval;
                self.send_checkpoint(self.checkpoint).await?;
            }
            start = page.next;
        }
    }

    /// Reads the page of `$all` starting at `start`, filling the live buffer on the way.
    fn read_page(&mut self, start: u64, window: usize) -> Page {
        let Self {
            shared,
            target,
            live,
            checkpoint,
            ..
        } = self;
        shared.with_log(|log| {
            live.fill(log, target);
            let records = log.records();
            let from = records.partition_point(|r| r.position < start);
            let filter = target.filter();
            let (mut events, mut considered, mut matched) = (Vec::new(), 0, 0);
            for record in &records[from..] {
                if matched >= PAGE || considered >= window {
                    break;
                }
                considered += 1;
                if filter.is_none_or(|f| f.matches(record)) {
                    matched += 1;
                    if Some(record.position) > *checkpoint {
                        events.push(Arc::clone(record));
                    }
                }
            }
            let rest = &records[from + considered..];
            Page {
                events,
                considered,
                end: rest.is_empty(),
                next: rest.first().map_or(u64::MAX, |r| r.position),
            }
        })
    }

    async fn catch_up_stream(&mut self, name: &str) -> Result<(), Ended> {
        loop {
            let next = self.checkpoint.map_or(0, |r| r.saturating_add(1));
            let Self {
                shared,
                target,
                live,
                ..
            } = self;
            let read = shared.with_log(|log| {
                live.fill(log, target);
                log.stream(name).map(|view| {
                    view.map(|view| {
                        let page: Vec<_> = view
                            .records
                            .into_iter()
                            .filter(|r| r.revision >= next)
                            .take(PAGE)
                            .collect();
                        page
                    })
                })
            });
            let page = match read {
                Err(_) => return Err(self.fail(wire::stream_deleted(name)).await),
                Ok(None) => return Ok(()),
                Ok(Some(page)) => page,
            };
            for record in &page {
                self.send_event(record).await?;
                self.checkpoint = Some(record.revision);
            }
            if page.len() < PAGE {
                return Ok(());
            }
        }
    }
}

fn as_usize(n: u32) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX).max(1)
}
