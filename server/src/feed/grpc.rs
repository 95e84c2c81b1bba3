//! The `causeway.events.v1.EventFeed` service: request -> validated selection and the caller's
//! scope -> a pump over the store's feed; and one stream's events a page at a time.

use std::sync::Arc;

use causeway_proto::events::{
    ReadStreamRequest, ReadStreamResponse, SubscribeRequest,
    event_feed_server::{EventFeed, EventFeedServer},
};
use tokio::sync::watch;
use tonic::{Extensions, Request, Response, Status};

use super::{
    Converter, FeedLimits, FeedMetrics, History, Readers,
    delivery::{Pump, Responses},
    quota::Quota,
    selection::{self, Selection, Start},
};
use crate::{
    auth::Caller,
    grpc::validation::single,
    store::{EventStore, category_of},
    values::{InvalidValue, identifier, invalid},
};

/// Serves `causeway.events.v1.EventFeed` from an event store.
#[derive(Clone)]
pub struct EventFeedService {
    store: Arc<dyn EventStore>,
    converter: Converter,
    readers: Arc<Readers>,
    quota: Quota,
    limits: FeedLimits,
    closing: watch::Receiver<bool>,
    metrics: FeedMetrics,
}

/// The gRPC server of the feed over `store`, ready to add to a tonic router. Subscriptions end
/// with UNAVAILABLE once `closing` turns true, so that a graceful shutdown is not held up by
/// streams that never end by themselves.
pub fn service(
    store: Arc<dyn EventStore>,
    converter: Converter,
    readers: Readers,
    limits: FeedLimits,
    closing: watch::Receiver<bool>,
    metrics: FeedMetrics,
) -> EventFeedServer<EventFeedService> {
    EventFeedServer::new(EventFeedService {
        store,
        converter,
        readers: Arc::new(readers),
        quota: Quota::new(limits.feed_subscriptions_per_caller),
        limits,
        closing,
        metrics,
    })
}

#[tonic::async_trait]
impl EventFeed for EventFeedService {
    type SubscribeStream = Responses;

    async fn subscribe(
        &self,
        request: Request<SubscribeRequest>,
    ) -> Result<Response<Responses>, Status> {
        let (_, extensions, req) = request.into_parts();
        let caller = caller(&extensions);
        let selection = Selection::try_from(&req)?;
        let scope = self.readers.scope(&caller, &selection.categories)?;
        let slot = self.quota.take(&caller)?;
        let after = match selection.start {
            Start::After(after) => after,
            Start::Head => (self.store.head_position().await).map_err(super::FeedError::from)?,
        };
        let pump = Pump {
            feed: self.store.subscribe_all(after, scope.filter.clone()),
            store: self.store.clone(),
            reported: after,
            scope,
            selection,
            converter: self.converter.clone(),
            limits: self.limits,
            slot,
            closing: self.closing.clone(),
            metrics: self.metrics.clone(),
            starts_at: Some(after.unwrap_or(0)),
        };
        Ok(Response::new(pump.start()))
    }

    async fn read_stream(
        &self,
        request: Request<ReadStreamRequest>,
    ) -> Result<Response<ReadStreamResponse>, Status> {
        let (_, extensions, req) = request.into_parts();
        let stream = single("stream", stream_name(&req.stream))?;
        if !self
            .readers
            .may_read(&caller(&extensions), category_of(&stream))
        {
            return Err(super::FeedError::Forbidden(format!(
                "your roles may not read the {} category",
                category_of(&stream)
            ))
            .into());
        }
        let page = History::new(self.store.clone(), self.converter.clone())
            .page(&stream, req.from_revision, req.max_count)
            .await?;
        Ok(Response::new(ReadStreamResponse {
            events: page.events,
            end_of_stream: page.end_of_stream,
        }))
    }
}

/// The caller as the auth layer established it (unchecked in-process, as in
/// [`crate::grpc::parse`]).
fn caller(extensions: &Extensions) -> Caller {
    extensions
        .get::<Caller>()
        .cloned()
        .unwrap_or(Caller::Unchecked)
}

/// A stream name: `<category>-<id>`, each part by its own rule (a category of at most 64
/// characters, an id of at most 128).
fn stream_name(raw: &str) -> Result<String, InvalidValue> {
    let Some((category, id)) = raw.split_once('-') else {
        return invalid("a stream is named <category>-<id>, e.g. order-7f3c or product-kettle");
    };
    let category =
        selection::category(category).map_err(|e| InvalidValue(format!("its category: {e}")))?;
    let id = identifier(id).map_err(|e| InvalidValue(format!("its id: {e}")))?;
    Ok(format!("{category}-{id}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_names_are_a_category_and_an_id() {
        assert_eq!(stream_name("order-7f3c").unwrap(), "order-7f3c");
        assert_eq!(stream_name("useremail-a-b").unwrap(), "useremail-a-b");
        for bad in [
            "order",
            "-1",
            "order-",
            "or der-1",
            "order-1 2",
            "order-\u{202E}1",
        ] {
            assert!(stream_name(bad).is_err(), "{bad:?}");
        }
        assert!(stream_name(&format!("order-{}", "x".repeat(129))).is_err());
    }
}
