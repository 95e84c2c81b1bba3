//! The reconnecting subscription behind [`super::Events::subscribe`].
//!
//! It holds one server stream at a time and remembers the position of the last item it
//! yielded. When the stream fails in a way a later attempt can get past (the connection
//! dropped, `UNAVAILABLE`, `RESOURCE_EXHAUSTED`, or the server closing the stream) it waits a
//! backoff and subscribes again with `after` set to that position: the server's feed is in
//! position order without gaps, so the new stream starts exactly at the first item not yet
//! yielded. Failures count towards the retry policy's attempts only while nothing arrives;
//! every item received starts the count again.

use std::{
    pin::Pin,
    task::{Context, Poll},
};

use futures::{Stream, StreamExt, stream::BoxStream};
use tonic::{Code, Status, Streaming};

use super::{
    Event, Received, SubscribeRequest, SubscribeResponse, event_feed_client::EventFeedClient,
    subscribe_response::Item,
};
use crate::{
    Client, Error,
    call::authorization,
    error::{Origin, origin},
};

/// A subscription to the event feed: a `futures::Stream` of [`Received`] items that never ends
/// by itself (see [`super::Events::subscribe`]).
pub struct Subscription {
    items: BoxStream<'static, Result<Received, Error>>,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription").finish_non_exhaustive()
    }
}

impl Subscription {
    pub(crate) fn new(client: Client, request: SubscribeRequest) -> Self {
        let follow = Follow {
            client,
            request,
            resume_after: None,
            live: None,
            failures: 0,
            ended: false,
        };
        let items = futures::stream::unfold(follow, |mut follow| async move {
            let item = follow.next().await?;
            Some((item, follow))
        });
        Self {
            items: items.boxed(),
        }
    }
}

impl Stream for Subscription {
    type Item = Result<Received, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.items.poll_next_unpin(cx)
    }
}

/// The state of one subscription between items.
struct Follow {
    client: Client,
    request: SubscribeRequest,
    /// The position of the last item yielded; `None` before the first.
    resume_after: Option<u64>,
    live: Option<Streaming<SubscribeResponse>>,
    /// Failed attempts since the last item arrived.
    failures: u32,
    ended: bool,
}

impl Follow {
    /// The next item, reconnecting as often as the retry policy allows; `None` once an error
    /// has been yielded.
    async fn next(&mut self) -> Option<Result<Received, Error>> {
        loop {
            if self.ended {
                return None;
            }
            let status = match self.live.as_mut() {
                None => match self.open().await {
                    Ok(stream) => {
                        self.live = Some(stream);
                        continue;
                    }
                    Err(error) => error,
                },
                Some(stream) => match stream.message().await {
                    Ok(Some(response)) => {
                        self.failures = 0;
                        match self.received(response) {
                            Ok(None) => continue,
                            Ok(Some(item)) => return Some(Ok(item)),
                            Err(error) => {
                                self.ended = true;
                                return Some(Err(error));
                            }
                        }
                    }
                    // A feed never ends by itself: the server closed it (a restart), so resume.
                    Ok(None) => Status::unavailable("the server ended the subscription"),
                    Err(status) => status,
                },
            };
            self.live = None;
            if let Err(error) = self.pause_after(status).await {
                self.ended = true;
                return Some(Err(error));
            }
        }
    }

    /// Subscribes again after the last position yielded (or as first asked).
    async fn open(&self) -> Result<Streaming<SubscribeResponse>, Status> {
        let mut request = self.request.clone();
        if let Some(after) = self.resume_after {
            request.after = after;
            request.from_head = false;
        }
        let mut call = tonic::Request::new(request);
        if let Some(tokens) = &self.client.settings().tokens {
            let token = authorization(tokens, None)
                .await
                .map_err(|e| Status::unauthenticated(e.to_string()))?;
            call.metadata_mut().insert("authorization", token);
        }
        let mut feed = EventFeedClient::new(self.client.channel());
        Ok(feed.subscribe(call).await?.into_inner())
    }

    /// Turns a response into an item and remembers its position; `None` for a checkpoint that
    /// does not move past what was already yielded.
    fn received(&mut self, response: SubscribeResponse) -> Result<Option<Received>, Error> {
        let item = match response.item {
            Some(Item::Event(event)) => Received::Event(Box::new(Event::try_from(event)?)),
            // Every stream opens with a checkpoint where it starts; after a reconnection that
            // is no news.
            Some(Item::Checkpoint(checkpoint))
                if self
                    .resume_after
                    .is_some_and(|after| checkpoint.position <= after) =>
            {
                return Ok(None);
            }
            Some(Item::Checkpoint(checkpoint)) => Received::Checkpoint(checkpoint.position),
            None => return Err(Error::protocol("the feed sent an empty item")),
        };
        self.resume_after = Some(item.position());
        Ok(Some(item))
    }

    /// Waits the backoff after a failed attempt, or says why the subscription ends instead.
    async fn pause_after(&mut self, status: Status) -> Result<(), Error> {
        let retry = &self.client.settings().retry;
        self.failures += 1;
        if !resumable(&status) || self.failures >= retry.attempts() {
            return Err(status.into());
        }
        tokio::time::sleep(retry.backoff(self.failures)).await;
        Ok(())
    }
}

/// Whether subscribing again can get past `status`.
fn resumable(status: &Status) -> bool {
    match origin(status) {
        Origin::Transport | Origin::ClientDeadline => true,
        Origin::Server => matches!(status.code(), Code::Unavailable | Code::ResourceExhausted),
    }
}
