//! Catch-up subscriptions (`Read` with the subscription option), to a stream or to `$all`, as
//! KurrentDB's subscription enumerators run them:
//!
//! 1. `confirmation` with a subscription id; from then on new records also fill a live buffer;
//! 2. catch-up (`catch_up`): the stored events strictly AFTER the start, read page by page;
//! 3. `caught_up` at the subscription's checkpoint: the last event sent (or, for a filtered
//!    `$all` subscription, the start of the last page read when that is later);
//! 4. live (`live`): events from the live buffer; when the buffer overflowed, `fell_behind` and
//!    back to catch-up.
//!
//! A filtered `$all` subscription sends `checkpoint`s only at KurrentDB's cadence: during
//! catch-up when `window x multiplier` events have been considered since the last one (at the
//! last event sent or the start of the page) and once at the end of catch-up; while live, at
//! every `window x multiplier`-th record written since it subscribed. Nothing is sent because
//! time passes: a subscriber whose filter excludes the newest events learns nothing about them
//! until enough further events arrive.
//!
//! The reply stream never ends with OK (a `kurrentdb` client would then spin forever): whatever
//! ends it (the double stopping, the stream being deleted) ends it with an error status.

mod catch_up;
mod live;

use std::{
    sync::{Arc, atomic::Ordering},
    time::SystemTime,
};

use futures::{Stream, StreamExt, stream};
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;
use uuid::Uuid;

use super::{
    Shared,
    log::Record,
    protocol::event_store::client::streams::{
        ReadResp,
        read_req::{
            Options,
            options::{StreamOption, all_options::AllOption, stream_options::RevisionOption},
        },
        read_resp::{self, CaughtUp, FellBehind, SubscriptionConfirmation},
    },
    wire::{self, Filter, UuidFormat},
};

/// Replies buffered ahead of a slow reader.
const BUFFER: usize = 64;

type Reply = Result<ReadResp, Status>;

/// Which records a subscription follows.
pub(crate) enum Target {
    /// `$all`, filtered or not.
    All { filter: Option<Filter> },
    /// One stream.
    Stream { name: String },
}

impl Target {
    /// Where `record` stands in this subscription's order: its `$all` position, or its revision.
    fn key(&self, record: &Record) -> u64 {
        match self {
            Self::All { .. } => record.position,
            Self::Stream { .. } => record.revision,
        }
    }

    fn filter(&self) -> Option<&Filter> {
        match self {
            Self::All { filter } => filter.as_ref(),
            Self::Stream { .. } => None,
        }
    }
}

/// Starts a subscription described by `options`; its replies arrive on the returned stream.
pub(crate) fn start(
    shared: Arc<Shared>,
    options: &Options,
    filter: Option<Filter>,
    ids: UuidFormat,
    stopping: watch::Receiver<bool>,
) -> Result<std::pin::Pin<Box<dyn Stream<Item = Reply> + Send>>, Status> {
    let (target, start) = match &options.stream_option {
        Some(StreamOption::All(all)) => {
            let start = match &all.all_option {
                Some(AllOption::Start(_)) | None => Start::Beginning,
                Some(AllOption::End(_)) => Start::End,
                Some(AllOption::Position(p)) => Start::After(p.commit_position),
            };
            (Target::All { filter }, start)
        }
        Some(StreamOption::Stream(stream)) => {
            let name = wire::stream_name(stream.stream_identifier.as_ref())?;
            let start = match &stream.revision_option {
                Some(RevisionOption::Revision(revision)) => Start::After(*revision),
                Some(RevisionOption::End(_)) => Start::End,
                Some(RevisionOption::Start(_)) | None => Start::Beginning,
            };
            (Target::Stream { name }, start)
        }
        None => {
            return Err(Status::invalid_argument(
                "a subscription names a stream or $all",
            ));
        }
    };
    // Subscribing to live records and reading the last one happen together, as on the server.
    let (live, last) = shared.with_log(|log| {
        let last = match &target {
            Target::All { .. } => log.records().last().map(|r| r.position),
            Target::Stream { name } => log.current_revision(name),
        };
        (live::Buffer::from(log.records().len()), last)
    });
    shared.subscriptions.fetch_add(1, Ordering::Relaxed);
    let (tx, rx) = mpsc::channel(BUFFER);
    let checkpoint = match start {
        Start::Beginning => None,
        Start::End => last,
        Start::After(key) => Some(key),
    };
    let subscription = Subscription {
        shared,
        tx,
        stopping,
        target,
        ids,
        resolving: options.resolve_links,
        checkpoint,
        last_checkpoint: None,
        live,
    };
    tokio::spawn(subscription.run(last));
    let ended = stream::once(async { Err(Status::unavailable("the subscription has ended")) });
    Ok(ReceiverStream::new(rx).chain(ended).boxed())
}

/// Where a subscription starts.
enum Start {
    Beginning,
    End,
    /// Strictly after this position (`$all`) or revision (stream).
    After(u64),
}

/// The reader went away, the double is stopping, or the stream was deleted.
pub(crate) struct Ended;

pub(crate) struct Subscription {
    shared: Arc<Shared>,
    tx: mpsc::Sender<Reply>,
    stopping: watch::Receiver<bool>,
    target: Target,
    ids: UuidFormat,
    resolving: bool,
    /// The position (`$all`) or revision (stream) of the last event or checkpoint sent on;
    /// `None` before the first. Events after it are still to be sent.
    checkpoint: Option<u64>,
    /// The last `checkpoint` message sent: none is sent again or behind it.
    last_checkpoint: Option<u64>,
    live: live::Buffer,
}

impl Subscription {
    async fn run(mut self, last: Option<u64>) {
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
            let _ = self.follow(last).await;
        }
    }

    async fn follow(&mut self, last: Option<u64>) -> Result<(), Ended> {
        if self.checkpoint >= last {
            self.go_live().await?;
        }
        loop {
            self.catch_up().await?;
            self.go_live().await?;
        }
    }

    /// Sends `record` (resolving it if it is a link and the reader asked for that).
    async fn send_event(&mut self, record: &Arc<Record>) -> Result<(), Ended> {
        let resolving = self.resolving;
        let entry = self
            .shared
            .with_log(|log| wire::entry(log, record, resolving));
        self.send(wire::event(&entry, self.ids)).await
    }

    /// Sends a `checkpoint` at `position` unless one at or past it was already sent.
    async fn send_checkpoint(&mut self, position: Option<u64>) -> Result<(), Ended> {
        let Some(position) = position else {
            return Ok(());
        };
        if self.last_checkpoint >= Some(position) {
            return Ok(());
        }
        self.last_checkpoint = Some(position);
        let checkpoint = read_resp::Checkpoint {
            commit_position: position,
            prepare_position: position,
            timestamp: Some(now()),
        };
        self.send(wire::content(read_resp::Content::Checkpoint(checkpoint)))
            .await
    }

    /// `caught_up` (or, when `behind`, `fell_behind`) at the checkpoint.
    async fn send_transition(&mut self, behind: bool) -> Result<(), Ended> {
        let (stream_revision, position) = match &self.target {
            Target::All { .. } => (None, self.checkpoint.map(wire::position)),
            Target::Stream { .. } => (self.checkpoint.and_then(|r| i64::try_from(r).ok()), None),
        };
        let content = if behind {
            read_resp::Content::FellBehind(FellBehind {
                timestamp: Some(now()),
                stream_revision,
                position,
            })
        } else {
            read_resp::Content::CaughtUp(CaughtUp {
                timestamp: Some(now()),
                stream_revision,
                position,
            })
        };
        self.send(wire::content(content)).await
    }

    /// Sends one reply unless the reader is gone or the double is stopping.
    async fn send(&mut self, reply: ReadResp) -> Result<(), Ended> {
        let Self { tx, stopping, .. } = self;
        tokio::select! {
            sent = tx.send(Ok(reply)) => sent.map_err(|_| Ended),
            _ = stopping.wait_for(|stop| *stop) => Err(Ended),
        }
    }

    /// Ends the subscription with `status` (the reply stream then carries it, not OK).
    async fn fail(&mut self, status: Status) -> Ended {
        let _ = self.tx.send(Err(status)).await;
        Ended
    }
}

fn now() -> prost_types::Timestamp {
    prost_types::Timestamp::from(SystemTime::now())
}
