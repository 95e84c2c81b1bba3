//! The bare echo RPC every server-side figure is compared with: the same tonic server stack
//! (mounted through `run_with`, so the same router, layers and connection handling), the same
//! HTTP/2 connection from the client, the same payload size, and nothing of Causeway's own code.
//!
//! No proto is needed: a pass-through [`BytesCodec`] carries the payload as raw bytes, so echo
//! does no protobuf work at all. That is the point: whatever a real RPC costs above echo is
//! decoding, validation, the application and the store.

use std::{
    convert::Infallible,
    future::{Ready, ready},
    task::{Context, Poll},
};

use prost::bytes::{Buf, BufMut, Bytes};
use tonic::{
    Request, Response, Status,
    body::Body,
    codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder},
    codegen::{BoxFuture, StdError, http},
    server::{NamedService, UnaryService},
    service::Routes,
    transport::Channel,
};

/// The echo service's gRPC name.
pub const SERVICE: &str = "causeway.bench.v1.Echo";
/// The one method: answers with the request's bytes.
pub const PATH: &str = "/causeway.bench.v1.Echo/Echo";

/// A codec whose messages are the raw payload bytes, encoded and decoded as they are.
#[derive(Debug, Clone, Copy, Default)]
pub struct BytesCodec;

impl Codec for BytesCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = Self;
    type Decoder = Self;

    fn encoder(&mut self) -> Self::Encoder {
        Self
    }

    fn decoder(&mut self) -> Self::Decoder {
        Self
    }
}

impl Encoder for BytesCodec {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put(item);
        Ok(())
    }
}

impl Decoder for BytesCodec {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}

/// The echo service, shaped like tonic's generated servers so it rides the same router.
#[derive(Debug, Clone, Copy, Default)]
pub struct EchoServer;

impl NamedService for EchoServer {
    const NAME: &'static str = SERVICE;
}

impl<B> tonic::codegen::Service<http::Request<B>> for EchoServer
where
    B: tonic::codegen::Body + Send + 'static,
    B::Error: Into<StdError> + Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        Box::pin(async move {
            if request.uri().path() != PATH {
                return Ok(Status::unimplemented("only Echo is served").into_http());
            }
            let mut grpc = tonic::server::Grpc::new(BytesCodec);
            Ok(grpc.unary(Echo, request).await)
        })
    }
}

/// The method itself: the request's bytes are the response.
struct Echo;

impl UnaryService<Bytes> for Echo {
    type Response = Bytes;
    type Future = Ready<Result<Response<Bytes>, Status>>;

    fn call(&mut self, request: Request<Bytes>) -> Self::Future {
        ready(Ok(Response::new(request.into_inner())))
    }
}

/// The routes to hand to `causeway_server::server::run_with`.
pub fn routes() -> Routes {
    Routes::new(EchoServer)
}

/// One echo call over `channel`, done the way tonic's generated clients do a unary call.
pub async fn call(channel: Channel, payload: Bytes) -> Result<Bytes, Status> {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready()
        .await
        .map_err(|e| Status::unavailable(format!("echo channel not ready: {e}")))?;
    let path = http::uri::PathAndQuery::from_static(PATH);
    let response = grpc.unary(Request::new(payload), path, BytesCodec).await?;
    Ok(response.into_inner())
}
