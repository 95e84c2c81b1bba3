//! Catch-up subscriptions (`Read` with the subscription option), to a stream or to `$all`:
//!
//! 1. `confirmation` with a subscription id;
//! 2. the stored events strictly AFTER the start revision or position (exclusive, unlike reads);
//! 3. `caught_up` with a timestamp and the stream revision or `$all` position reached;
//! 4. live events as they are written.
//!
//! A filtered `$all` subscription also sends `checkpoint`s: one every `window x multiplier`
//! events considered (matching or not), and one when it has been idle with considered events
//! not yet covered by a checkpoint, so a subscriber learns how far the events it never sees go.
//!
//! The reply stream never ends with OK (a `kurrentdb` client would then spin forever): whatever
//! ends it (the double stopping, the stream being tombstoned) ends it with an error status.

use std::{
    sync::{Arc, atomic::Ordering},
    time::{Duration, SystemTime},
};

use futures::{Stream, StreamExt, stream};
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;
use uuid::Uuid;

use super::{
    Shared,
    log::{Record, TOMBSTONE_REVISION},
    protocol::event_store::client::streams::{
        ReadResp,
        read_req::{
            Options,
            options::{StreamOption, all_options::AllOption, stream_options::RevisionOption},
        },
        read_resp::{self, CaughtUp, SubscriptionConfirmation},
    },
    wire::{self, Filter, UuidFormat},
};

/// Records taken from the log per step of the catch-up.
const BATCH: usize = 256;
/// Replies buffered ahead of a slow reader.
const BUFFER: usize = 64;
/// How long a live filtered subscription waits, idle, before covering what it has considered
/// with a checkpoint.
const IDLE_CHECKPOINT_AFTER: Duration = Duration::from_millis(50);

type Reply = Result<ReadResp, Status>;

/// Which records a subscription follows.
enum Target {
    All,
    /// A stream, after `after` (`None`: from its first revision).
    Stream {
        name: String,
        after: Option<u64>,
    },
}

/// Starts a subscription described by `options`; its replies arrive on the returned stream.
pub(crate) fn start(
    shared: Arc<Shared>,
    options: &Options,
    filter: Option<Filter>,
    ids: UuidFormat,
    stopping: watch::Receiver<bool>,
) -> Result<std::pin::Pin<Box<dyn Stream<Item = Reply> + Send>>, Status> {
    let (target, cursor, head) = match &options.stream_option {
        Some(StreamOption::All(all)) => {
            let (cursor, head) = shared.with_log(|log| {
                let records = log.records();
                let cursor = match &all.all_option {
                    Some(AllOption::Start(_)) | None => 0,
                    Some(AllOption::End(_)) => records.len(),
                    Some(AllOption::Position(p)) => {
                        records.partition_point(|r| r.position <= p.commit_position)
                    }
                };
                let head = cursor.checked_sub(1).map(|before| records[before].position);
                (cursor, head)
            });
            (Target::All, cursor, head)
        }
        Some(StreamOption::Stream(stream)) => {
            let name = wire::stream_name(stream.stream_identifier.as_ref())?;
            let current = shared
                .with_log(|log| log.stream(&name).map(|_| log.current_revision(&name)))
                .map_err(|_| wire::stream_deleted(&name))?;
            let after = match &stream.revision_option {
                Some(RevisionOption::Revision(revision)) => Some(*revision),
                Some(RevisionOption::End(_)) => current,
                Some(RevisionOption::Start(_)) | None => None,
            };
            (Target::Stream { name, after }, 0, None)
        }
        None => {
            return Err(Status::invalid_argument(
                "a subscription names a stream or $all",
            ));
        }
    };
    shared.subscriptions.fetch_add(1, Ordering::Relaxed);
    let (tx, rx) = mpsc::channel(BUFFER);
    let subscription = Subscription {
        shared,
        tx,
        stopping,
        target,
        filter,
        ids,
        cursor,
        head,
        considered: 0,
        covered: None,
    };
    tokio::spawn(subscription.run());
    let ended = stream::once(async { Err(Status::unavailable("the subscription has ended")) });
    Ok(ReceiverStream::new(rx).chain(ended).boxed())
}

/// The reader went away or the double is stopping.
struct Ended;

struct Subscription {
    shared: Arc<Shared>,
    tx: mpsc::Sender<Reply>,
    stopping: watch::Receiver<bool>,
    target: Target,
    filter: Option<Filter>,
    ids: UuidFormat,
    /// Index of the next record of the log to look at.
    cursor: usize,
    /// Position of the last record looked at.
    head: Option<u64>,
    /// Records considered by a filtered `$all` subscription since its last checkpoint.
    considered: u32,
    /// Position of the last checkpoint sent.
    covered: Option<u64>,
}

impl Subscription {
    async fn run(mut self) {
        let confirmation = SubscriptionConfirmation {
            subscription_id: Uuid::new_v4().to_string(),
        };
        let confirmed = self
            .send(wire::content(read_resp::Content::Confirmation(
                confirmation,
            )))
            .await;
        if confirmed.is_ok() {
            // Either way the task ends; the reply stream then ends with an error status.
            let _ = self.follow().await;
        }
    }

    async fn follow(&mut self) -> Result<(), Ended> {
        let mut commits = self.shared.commits.subscribe();
        let mut caught_up = false;
        loop {
            // Marked seen BEFORE reading, so a write landing after the read still wakes us.
            commits.borrow_and_update();
            let cursor = self.cursor;
            let batch: Vec<Arc<Record>> = self.shared.with_log(|log| {
                log.records()
                    .get(cursor..)
                    .map(|rest| rest.iter().take(BATCH).cloned().collect())
                    .unwrap_or_default()
            });
            if batch.is_empty() {
                if !caught_up {
                    caught_up = true;
                    let caught = self.caught_up();
                    // Caught-up carries the head, which covers everything considered so far.
                    self.considered = 0;
                    self.covered = self.head;
                    self.send(caught).await?;
                }
                self.wait(&mut commits).await?;
                continue;
            }
            self.cursor += batch.len();
            for record in batch {
                self.consider(&record).await?;
            }
        }
    }

    /// Sends what `record` means to this subscription.
    async fn consider(&mut self, record: &Record) -> Result<(), Ended> {
        self.head = Some(record.position);
        match &self.target {
            Target::Stream { name, after } => {
                if record.stream != *name || after.is_some_and(|a| record.revision <= a) {
                    return Ok(());
                }
                if record.revision == TOMBSTONE_REVISION {
                    let _ = self.tx.send(Err(wire::stream_deleted(name))).await;
                    return Err(Ended);
                }
                self.send(wire::event(record, self.ids)).await
            }
            Target::All => {
                let Some(filter) = &self.filter else {
                    return self.send(wire::event(record, self.ids)).await;
                };
                let interval = filter.checkpoint_interval;
                if filter.matches(record) {
                    self.send(wire::event(record, self.ids)).await?;
                }
                self.considered += 1;
                if self.considered >= interval {
                    self.checkpoint(record.position).await?;
                }
                Ok(())
            }
        }
    }

    /// Waits for a write, covering considered events with a checkpoint if it stays idle.
    async fn wait(&mut self, commits: &mut watch::Receiver<usize>) -> Result<(), Ended> {
        let uncovered = self.filter.is_some() && self.head > self.covered && self.considered > 0;
        let idle = {
            let Self { tx, stopping, .. } = &mut *self;
            tokio::select! {
                _ = commits.changed() => false,
                _ = stopping.wait_for(|stop| *stop) => return Err(Ended),
                () = tx.closed() => return Err(Ended),
                () = tokio::time::sleep(IDLE_CHECKPOINT_AFTER), if uncovered => true,
            }
        };
        match self.head {
            Some(head) if idle => self.checkpoint(head).await,
            _ => Ok(()),
        }
    }

    async fn checkpoint(&mut self, position: u64) -> Result<(), Ended> {
        self.considered = 0;
        self.covered = Some(position);
        let checkpoint = read_resp::Checkpoint {
            commit_position: position,
            prepare_position: position,
            timestamp: Some(now()),
        };
        self.send(wire::content(read_resp::Content::Checkpoint(checkpoint)))
            .await
    }

    fn caught_up(&self) -> ReadResp {
        let (stream_revision, position) = match &self.target {
            Target::All => (None, self.head.map(wire::position)),
            Target::Stream { name, .. } => {
                let revision = self.shared.with_log(|log| log.current_revision(name));
                (revision.and_then(|r| i64::try_from(r).ok()), None)
            }
        };
        wire::content(read_resp::Content::CaughtUp(CaughtUp {
            timestamp: Some(now()),
            stream_revision,
            position,
        }))
    }

    /// Sends one reply unless the reader is gone or the double is stopping.
    async fn send(&mut self, reply: ReadResp) -> Result<(), Ended> {
        let Self { tx, stopping, .. } = self;
        tokio::select! {
            sent = tx.send(Ok(reply)) => sent.map_err(|_| Ended),
            _ = stopping.wait_for(|stop| *stop) => Err(Ended),
        }
    }
}

fn now() -> prost_types::Timestamp {
    prost_types::Timestamp::from(SystemTime::now())
}
