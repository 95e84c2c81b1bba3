//! Live: the records written since the subscription started, through a buffer of
//! [`LIVE_BUFFER`] items that drops its oldest when full, as the server's live channel does.
//!
//! Every record written after the subscription started becomes items in order: an event item
//! if it is the subscription's (its stream, or passing the filter), and for a filtered `$all`
//! subscription a checkpoint item at every `window x multiplier`-th record. Going live sends
//! `caught_up`, then each item: events at or before the checkpoint and checkpoints behind it
//! are skipped; any other item that follows a dropped one means the subscription fell behind:
//! it sends `fell_behind` (and, when filtered, a checkpoint) and catches up again.

use std::{collections::VecDeque, sync::Arc};

use tokio::sync::watch;

use super::{Ended, Subscription, Target};
use crate::kurrentdb::log::{DELETED, Log, Record};

/// Items the live buffer holds (KurrentDB's live buffer size).
pub(crate) const LIVE_BUFFER: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Event,
    Checkpoint,
}

struct Item {
    /// 1, 2, 3, ... in the order produced; a gap means items were dropped.
    sequence: u64,
    record: Arc<Record>,
    kind: Kind,
}

/// The subscription's live buffer.
pub(crate) struct Buffer {
    items: VecDeque<Item>,
    /// Index of the first record of the log not yet turned into items.
    next_record: usize,
    /// Records counted towards the next live checkpoint.
    considered: u64,
    produced: u64,
    last_read: u64,
}

impl From<usize> for Buffer {
    /// A buffer taking the records from index `next_record` of the log on.
    fn from(next_record: usize) -> Self {
        Self {
            items: VecDeque::new(),
            next_record,
            considered: 0,
            produced: 0,
            last_read: 0,
        }
    }
}

impl Buffer {
    /// Turns the records written since the last call into items, dropping the oldest beyond
    /// [`LIVE_BUFFER`].
    pub(crate) fn fill(&mut self, log: &Log, target: &Target) {
        let records = log.records();
        for record in records.get(self.next_record..).unwrap_or_default() {
            let ours = match target {
                Target::All { filter } => filter.as_ref().is_none_or(|f| f.matches(record)),
                Target::Stream { name } => record.stream == *name,
            };
            if ours {
                self.push(record, Kind::Event);
            }
            if let Some(filter) = target.filter() {
                self.considered += 1;
                if self.considered >= u64::from(filter.checkpoint_interval.max(1)) {
                    self.considered = 0;
                    self.push(record, Kind::Checkpoint);
                }
            }
        }
        self.next_record = records.len();
    }

    fn push(&mut self, record: &Arc<Record>, kind: Kind) {
        self.produced += 1;
        self.items.push_back(Item {
            sequence: self.produced,
            record: Arc::clone(record),
            kind,
        });
        if self.items.len() > LIVE_BUFFER {
            self.items.pop_front();
        }
    }
}

impl Subscription {
    /// Sends `caught_up`, then live items as they come. Returns `Ok` when the subscription fell
    /// behind and must catch up again.
    pub(super) async fn go_live(&mut self) -> Result<(), Ended> {
        self.send_transition(false).await?;
        let mut commits = self.shared.commits.subscribe();
        loop {
            // Marked seen BEFORE reading, so a write landing after the read still wakes us.
            commits.borrow_and_update();
            let Self {
                shared,
                target,
                live,
                ..
            } = self;
            shared.with_log(|log| live.fill(log, target));
            while let Some(item) = self.live.items.pop_front() {
                let in_order = item.sequence == self.live.last_read + 1;
                self.live.last_read = item.sequence;
                let key = self.target.key(&item.record);
                let seen = match item.kind {
                    Kind::Event => Some(key) <= self.checkpoint,
                    Kind::Checkpoint => Some(key) < self.checkpoint,
                };
                if seen {
                    continue;
                }
                if !in_order {
                    self.send_transition(true).await?;
                    if self.target.filter().is_some() {
                        self.send_checkpoint(self.checkpoint).await?;
                    }
                    return Ok(());
                }
                match item.kind {
                    Kind::Event => self.send_live_event(&item.record).await?,
                    Kind::Checkpoint => self.send_checkpoint(Some(key)).await?,
                }
                self.checkpoint = Some(key);
            }
            self.wait(&mut commits).await?;
        }
    }

    /// A live event; a stream subscription ends, after sending it, at the stream's tombstone.
    async fn send_live_event(&mut self, record: &Arc<Record>) -> Result<(), Ended> {
        self.send_event(record).await?;
        match &self.target {
            Target::Stream { name } if record.revision == DELETED => {
                let name = name.clone();
                Err(self
                    .fail(crate::kurrentdb::wire::stream_deleted(&name))
                    .await)
            }
            _ => Ok(()),
        }
    }

    /// Waits for a write, the reader to leave, or the double to stop.
    async fn wait(&mut self, commits: &mut watch::Receiver<usize>) -> Result<(), Ended> {
        let Self { tx, stopping, .. } = self;
        tokio::select! {
            changed = commits.changed() => changed.map_err(|_| Ended),
            _ = stopping.wait_for(|stop| *stop) => Err(Ended),
            () = tx.closed() => Err(Ended),
        }
    }
}
