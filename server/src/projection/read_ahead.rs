//! A feed read ahead of the projection that consumes it: a task of its own pulls the next events
//! from the store into a bounded queue while the projection folds and commits the last batch,
//! so the read of one batch overlaps the commit of the one before (on the embedded store, one
//! runs on a reader thread while the other waits for the read store's disk). At most `depth`
//! events wait in the queue. The task stops when the feed ends or the consumer drops it.

use std::{
    pin::Pin,
    task::{Context, Poll},
};

use futures::{Stream, StreamExt};
use tokio::{sync::mpsc, task::JoinHandle};

use crate::store::{EventFeed, FeedItem, StoreError};

/// `feed`, read up to `depth` items ahead.
pub(super) fn read_ahead(mut feed: EventFeed, depth: usize) -> EventFeed {
    let (items, queue) = mpsc::channel(depth.max(1));
    let task = tokio::spawn(async move {
        while let Some(item) = feed.next().await {
            if items.send(item).await.is_err() {
                return;
            }
        }
    });
    ReadAhead { queue, task }.boxed()
}

/// The consumer's end: the queue, and the task that fills it (stopped when this is dropped, so a
/// live feed waiting for commits does not outlive its projection).
struct ReadAhead {
    queue: mpsc::Receiver<Result<FeedItem, StoreError>>,
    task: JoinHandle<()>,
}

impl Stream for ReadAhead {
    type Item = Result<FeedItem, StoreError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.queue.poll_recv(cx)
    }
}

impl Drop for ReadAhead {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    };

    use futures::stream;

    use super::*;

    fn item(position: u64) -> Result<FeedItem, StoreError> {
        Ok(FeedItem::Checkpoint(position))
    }

    #[tokio::test]
    async fn items_arrive_in_order_and_no_more_than_depth_are_read_ahead() {
        let pulled = Arc::new(AtomicUsize::new(0));
        let counted = pulled.clone();
        let feed = stream::iter(1..=100u64)
            .map(move |p| {
                counted.fetch_add(1, Ordering::SeqCst);
                item(p)
            })
            .boxed();
        let mut ahead = read_ahead(feed, 10);
        let first = ahead.next().await.unwrap().unwrap();
        assert_eq!(first, FeedItem::Checkpoint(1));
        // Let the task fill the queue as far as it may.
        for _ in 0..100 {
            tokio::task::yield_now().await;
        }
        // One taken, ten queued, one more pulled and waiting for room.
        assert!(
            pulled.load(Ordering::SeqCst) <= 12,
            "{}",
            pulled.load(Ordering::SeqCst)
        );
        let rest: Vec<_> = ahead.map(|i| i.unwrap()).collect().await;
        assert_eq!(rest.len(), 99);
        assert_eq!(rest.last(), Some(&FeedItem::Checkpoint(100)));
    }

    #[tokio::test]
    async fn dropping_the_consumer_stops_a_feed_that_waits_forever() {
        let dropped = Arc::new(AtomicUsize::new(0));
        struct Noticed(Arc<AtomicUsize>);
        impl Drop for Noticed {
            fn drop(&mut self) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let noticed = Noticed(dropped.clone());
        let feed = stream::iter([item(1)])
            .chain(stream::pending())
            .map(move |i| {
                let _ = &noticed;
                i
            })
            .boxed();
        let mut ahead = read_ahead(feed, 4);
        assert_eq!(
            ahead.next().await.unwrap().unwrap(),
            FeedItem::Checkpoint(1)
        );
        drop(ahead);
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
        while dropped.load(Ordering::SeqCst) == 0 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the feed was never dropped"
            );
            tokio::task::yield_now().await;
        }
    }
}
