//! Listing everything: a `futures::Stream` that follows `next_page_token` until the last page,
//! asking for each page only when the previous one has been consumed.

use std::future::Future;

use futures::{
    StreamExt, TryStreamExt,
    stream::{self, BoxStream},
};
use tonic::{Response, Status, transport::Channel};

use crate::{Error, call::Caller, command::Query};

/// A list request: its continuation token.
pub(crate) trait PageRequest: Query {
    fn page_token(&self) -> &str;
    fn set_page_token(&mut self, token: String);
}

/// A list response: its items and the token of the next page (empty on the last one).
pub(crate) trait Page: Send + 'static {
    type Item: Send + 'static;
    fn next_page_token(&self) -> &str;
    fn into_items(self) -> Vec<Self::Item>;
}

/// Every page, in order, starting from `request`'s own token. Ends after the page with no
/// `next_page_token`, or after the first error.
pub(crate) fn pages<Req, Resp, F, Fut>(
    caller: Caller,
    request: Req,
    send: F,
) -> BoxStream<'static, Result<Resp, Error>>
where
    Req: PageRequest,
    Resp: Page,
    F: Fn(Channel, tonic::Request<Req>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<Response<Resp>, Status>> + Send + 'static,
{
    stream::try_unfold(Some(request), move |next| {
        let caller = caller.clone();
        let send = send.clone();
        async move {
            let Some(request) = next else {
                return Ok(None);
            };
            let sent = request.page_token().to_owned();
            let page = caller.query(request.clone(), send).await?;
            let token = page.next_page_token();
            let next = if token.is_empty() {
                None
            } else if token == sent {
                // Following it would ask for the same page forever.
                return Err(Error::protocol(
                    "the server returned the page token it was sent as the next one",
                ));
            } else {
                let mut request = request;
                request.set_page_token(token.to_owned());
                Some(request)
            };
            Ok(Some((page, next)))
        }
    })
    .boxed()
}

/// Every item of every page, in order.
pub(crate) fn items<Resp: Page>(
    pages: BoxStream<'static, Result<Resp, Error>>,
) -> BoxStream<'static, Result<Resp::Item, Error>> {
    pages
        .map_ok(|page| stream::iter(page.into_items().into_iter().map(Ok)))
        .try_flatten()
        .boxed()
}

macro_rules! paged {
    ($($request:ty => $response:ty { $items:ident: $item:ty }),* $(,)?) => {$(
        impl PageRequest for $request {
            fn page_token(&self) -> &str {
                &self.page_token
            }
            fn set_page_token(&mut self, token: String) {
                self.page_token = token;
            }
        }
        impl Page for $response {
            type Item = $item;
            fn next_page_token(&self) -> &str {
                &self.next_page_token
            }
            fn into_items(self) -> Vec<$item> {
                self.$items
            }
        }
    )*};
}

paged! {
    causeway_proto::orders::ListOrdersRequest => causeway_proto::orders::ListOrdersResponse {
        orders: causeway_proto::orders::Order
    },
    causeway_proto::inventory::ListProductsRequest => causeway_proto::inventory::ListProductsResponse {
        products: causeway_proto::inventory::Product
    },
}
