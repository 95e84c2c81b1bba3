//! A caller's undecodable bytes are the caller's fault. tonic answers a request body that is not
//! a valid protobuf message (garbage, truncated, a wrong wire type, invalid UTF-8 in a string)
//! with `INTERNAL`, and one over the size limit with `OUT_OF_RANGE`, following gRPC's own status
//! table. Causeway keeps `INTERNAL` for "our fault, page someone", so this layer rewrites those
//! answers to `INVALID_ARGUMENT` and `RESOURCE_EXHAUSTED`, keeping tonic's message (it names
//! what did not decode).
//!
//! Why a layer and not a codec: the decode failures are raised in two places, the message codec
//! (bad bytes) and tonic's framing (length prefix over the limit, bad compression flag, a body
//! that ends mid-frame), and a codec only sees the first. The generated code also shares one
//! codec between server and client stubs, and a client that cannot decode a server's answer
//! must keep saying `INTERNAL`. The layer runs on the server only and looks only at answers
//! tonic produced before any handler ran: trailers-only answers whose message is one of
//! tonic's decode messages, which no handler of ours ever writes.

use std::task::{Context, Poll};

use futures::{TryFutureExt, future::MapOk};
use tonic::{Code, Status};
use tower::{Layer, Service};

/// How tonic's decode failures start, and the code each becomes.
const DECODE_FAILURES: [(Code, &str, Code); 6] = [
    (
        Code::Internal,
        "failed to decode Protobuf message",
        Code::InvalidArgument,
    ),
    (
        Code::Internal,
        "Unexpected EOF decoding stream",
        Code::InvalidArgument,
    ),
    (
        Code::Internal,
        "Missing request message",
        Code::InvalidArgument,
    ),
    (
        Code::Internal,
        "protocol error: received message with",
        Code::InvalidArgument,
    ),
    (Code::Internal, "Error decompressing", Code::InvalidArgument),
    (
        Code::OutOfRange,
        "Error, decoded message length too large",
        Code::ResourceExhausted,
    ),
];

/// The code a decode failure answered with `code` and `message` should have had, if it is one.
pub fn caller_fault(code: Code, message: &str) -> Option<Code> {
    DECODE_FAILURES
        .iter()
        .find(|(from, prefix, _)| *from == code && message.starts_with(prefix))
        .map(|(_, _, to)| *to)
}

/// Rewrites tonic's decode-failure answers; see the module docs.
#[derive(Debug, Clone, Copy, Default)]
pub struct DecodeFailureLayer;

impl<S> Layer<S> for DecodeFailureLayer {
    type Service = DecodeFailures<S>;

    fn layer(&self, inner: S) -> Self::Service {
        DecodeFailures { inner }
    }
}

/// The service [`DecodeFailureLayer`] wraps around the routes.
#[derive(Debug, Clone)]
pub struct DecodeFailures<S> {
    inner: S,
}

impl<S, B, R> Service<http::Request<B>> for DecodeFailures<S>
where
    S: Service<http::Request<B>, Response = http::Response<R>>,
{
    type Response = http::Response<R>;
    type Error = S::Error;
    type Future = MapOk<S::Future, fn(http::Response<R>) -> http::Response<R>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        self.inner
            .call(request)
            .map_ok(corrected as fn(http::Response<R>) -> http::Response<R>)
    }
}

/// `response` with a decode failure's status corrected.
fn corrected<R>(mut response: http::Response<R>) -> http::Response<R> {
    correct(response.headers_mut());
    response
}

/// Rewrites the status in a trailers-only answer's `headers` when it is a decode failure.
fn correct(headers: &mut http::HeaderMap) {
    let Some(status) = Status::from_header_map(headers) else {
        return;
    };
    if let Some(code) = caller_fault(status.code(), status.message()) {
        let corrected = Status::new(code, status.message());
        if corrected.add_header(headers).is_err() {
            tracing::debug!("could not rewrite a decode failure's status");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answered(status: &Status) -> Status {
        let mut headers = http::HeaderMap::new();
        status.add_header(&mut headers).unwrap();
        correct(&mut headers);
        Status::from_header_map(&headers).unwrap()
    }

    #[test]
    fn tonics_decode_failures_become_the_callers_fault() {
        let garbage = answered(&Status::internal(
            "failed to decode Protobuf message: invalid wire type: Varint (expected LengthDelimited)",
        ));
        assert_eq!(garbage.code(), Code::InvalidArgument);
        assert!(garbage.message().contains("invalid wire type"));
        let huge = answered(&Status::out_of_range(
            "Error, decoded message length too large: found 5000000 bytes, the limit is: 4194304 bytes",
        ));
        assert_eq!(huge.code(), Code::ResourceExhausted);
        for truncated in [
            "Unexpected EOF decoding stream.",
            "Missing request message.",
        ] {
            assert_eq!(
                answered(&Status::internal(truncated)).code(),
                Code::InvalidArgument
            );
        }
    }

    #[test]
    fn our_own_internal_errors_are_left_alone() {
        let ours = Status::internal("a stored event could not be read; operators have been told");
        assert_eq!(answered(&ours).code(), Code::Internal);
        let range = Status::out_of_range("page 9 is past the end");
        assert_eq!(answered(&range).code(), Code::OutOfRange);
        let ok = Status::ok("");
        assert_eq!(answered(&ok).code(), Code::Ok);
    }
}
