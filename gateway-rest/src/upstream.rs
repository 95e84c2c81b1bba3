//! The one gRPC path every route takes: a tonic `Grpc` client over one shared service, with a
//! codec that carries `DynamicMessage`s, so no generated client (and no per-RPC code) is
//! involved. Each call carries the gateway's deadline as `grpc-timeout`, which the server
//! also uses to bound read-your-writes waits.
//!
//! The service is a channel to the server (`causeway-gateway`, a process of its own), or the
//! server's own services in the same process (`causeway-server --rest-listen`): the same calls,
//! the same layers on the server's side, and no second network hop.

use std::time::Duration;

use http::{HeaderMap, Uri, uri::PathAndQuery};

use crate::tls::UpstreamConnector;
use prost::Message;
use prost_reflect::{DynamicMessage, MessageDescriptor};
use tonic::{
    Status, Streaming,
    codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder},
    metadata::{MetadataMap, MetadataValue},
    transport::{Channel, Endpoint},
};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};
use tower::{BoxError, ServiceExt, util::BoxCloneSyncService};

/// How long `/healthz` waits for the upstream's answer.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(2);
/// How long opening the connection may take; a down upstream fails fast with 503.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// HTTP headers passed on as gRPC metadata: credentials and W3C trace context. Nothing else
/// crosses, so clients cannot set gRPC metadata the server trusts.
pub const FORWARDED_HEADERS: [&str; 3] = ["authorization", "traceparent", "tracestate"];

/// A codec for messages known only by descriptor: encodes any `DynamicMessage`, decodes into
/// the message type it was made for. Public so that tests (and tools) can serve generic
/// services with it too.
#[derive(Debug, Clone)]
pub struct DynamicCodec {
    decode_as: MessageDescriptor,
}

impl DynamicCodec {
    /// A codec that decodes `decode_as` (the RPC's output on a client, input on a server).
    pub fn new(decode_as: MessageDescriptor) -> Self {
        Self { decode_as }
    }
}

impl Codec for DynamicCodec {
    type Encode = DynamicMessage;
    type Decode = DynamicMessage;
    type Encoder = DynamicEncoder;
    type Decoder = DynamicDecoder;

    fn encoder(&mut self) -> Self::Encoder {
        DynamicEncoder
    }

    fn decoder(&mut self) -> Self::Decoder {
        DynamicDecoder(self.decode_as.clone())
    }
}

/// Encodes a `DynamicMessage` in the protobuf wire format.
#[derive(Debug, Clone, Copy)]
pub struct DynamicEncoder;

impl Encoder for DynamicEncoder {
    type Item = DynamicMessage;
    type Error = Status;

    fn encode(&mut self, item: Self::Item, dst: &mut EncodeBuf<'_>) -> Result<(), Self::Error> {
        item.encode(dst)
            .map_err(|e| Status::internal(format!("cannot encode the message: {e}")))
    }
}

/// Decodes the protobuf wire format into a `DynamicMessage` of one type.
#[derive(Debug, Clone)]
pub struct DynamicDecoder(MessageDescriptor);

impl Decoder for DynamicDecoder {
    type Item = DynamicMessage;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Self::Item>, Self::Error> {
        DynamicMessage::decode(self.0.clone(), src)
            .map(Some)
            .map_err(|e| Status::internal(format!("cannot decode the message: {e}")))
    }
}

/// What the gateway calls: gRPC over HTTP/2 requests and responses, from a channel or from a
/// server's services in-process.
pub type UpstreamService = BoxCloneSyncService<
    http::Request<tonic::body::Body>,
    http::Response<tonic::body::Body>,
    UpstreamFailure,
>;

/// A failure of the upstream service itself rather than a gRPC status: the channel's transport
/// error, or one from the layers of a server in the same process.
#[derive(Debug)]
pub struct UpstreamFailure(pub BoxError);

impl std::fmt::Display for UpstreamFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for UpstreamFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.0.as_ref())
    }
}

/// The upstream gRPC server.
#[derive(Clone)]
pub struct Upstream {
    service: UpstreamService,
    deadline: Duration,
    target: String,
}

impl std::fmt::Debug for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upstream")
            .field("target", &self.target)
            .field("deadline", &self.deadline)
            .finish()
    }
}

impl Upstream {
    /// Prepares a channel to `uri` without connecting: the gateway starts (and answers
    /// `/healthz` with 503) while the upstream is still down. With `tls`, every connection is
    /// made by it (TLS, or mTLS with a client certificate).
    pub fn new(uri: Uri, deadline: Duration, tls: Option<UpstreamConnector>) -> Self {
        let target = uri.to_string();
        // No channel-level timeout: tonic reports that as CANCELLED; the deadline is enforced
        // in `call`, where it is DEADLINE_EXCEEDED.
        let channel: Channel = match tls {
            None => Endpoint::from(uri)
                .connect_timeout(CONNECT_TIMEOUT)
                .connect_lazy(),
            // The endpoint says `http` so that tonic leaves the connection to the connector;
            // requests still name the `https` origin.
            Some(connector) => Endpoint::from(plaintext(&uri))
                .origin(uri)
                .connect_timeout(CONNECT_TIMEOUT)
                .connect_with_connector_lazy(connector),
        };
        Self {
            service: BoxCloneSyncService::new(
                channel.map_err(|e| UpstreamFailure(BoxError::from(e))),
            ),
            deadline,
            target,
        }
    }

    /// The services of a server in the same process, called directly: `service` is the
    /// server's routes wrapped in its layers, exactly as its network listener serves them.
    pub fn in_process(service: UpstreamService, deadline: Duration) -> Self {
        Self {
            service,
            deadline,
            target: "the server's services, in-process".to_owned(),
        }
    }

    /// What the gateway calls, for its logs.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The deadline of every call.
    pub fn deadline(&self) -> Duration {
        self.deadline
    }

    /// Calls the unary RPC at `path` with `message`, decoding the answer as `output`. The
    /// deadline is sent as `grpc-timeout` and also kept here, so an upstream that never
    /// answers still ends in `DEADLINE_EXCEEDED`.
    pub async fn call(
        &self,
        path: PathAndQuery,
        output: MessageDescriptor,
        message: DynamicMessage,
        metadata: MetadataMap,
    ) -> Result<DynamicMessage, Status> {
        let call = async {
            let mut grpc = tonic::client::Grpc::new(self.service.clone());
            grpc.ready()
                .await
                .map_err(|e| Status::from_error(Box::new(e)))?;
            let mut request =
                tonic::Request::from_parts(metadata, tonic::Extensions::default(), message);
            request.set_timeout(self.deadline);
            grpc.unary(request, path, DynamicCodec::new(output)).await
        };
        let expired = || {
            Status::deadline_exceeded(format!(
                "the upstream did not answer within {}",
                humantime::format_duration(self.deadline)
            ))
        };
        match tokio::time::timeout(self.deadline, call).await {
            Ok(Ok(response)) => Ok(response.into_inner()),
            // tonic's channel enforces `grpc-timeout` itself and calls that CANCELLED.
            Ok(Err(status)) if timed_out(&status) => Err(expired()),
            Ok(Err(status)) => Err(status),
            Err(_) => Err(expired()),
        }
    }

    /// Calls the server-streaming RPC at `path`, decoding each message as `output`. The
    /// deadline bounds only the wait for the stream to start: the stream itself runs until
    /// either side ends it.
    pub async fn subscribe(
        &self,
        path: PathAndQuery,
        output: MessageDescriptor,
        message: DynamicMessage,
        metadata: MetadataMap,
    ) -> Result<Streaming<DynamicMessage>, Status> {
        let call = async {
            let mut grpc = tonic::client::Grpc::new(self.service.clone());
            grpc.ready()
                .await
                .map_err(|e| Status::from_error(Box::new(e)))?;
            let request =
                tonic::Request::from_parts(metadata, tonic::Extensions::default(), message);
            grpc.server_streaming(request, path, DynamicCodec::new(output))
                .await
        };
        match tokio::time::timeout(self.deadline, call).await {
            Ok(started) => started.map(tonic::Response::into_inner),
            Err(_) => Err(Status::deadline_exceeded(format!(
                "the upstream did not start the stream within {}",
                humantime::format_duration(self.deadline)
            ))),
        }
    }

    /// The upstream's own health (`grpc.health.v1`, service `""`: the whole process).
    pub async fn health(&self) -> Result<ServingStatus, Status> {
        let mut client = HealthClient::new(self.service.clone());
        let mut request = tonic::Request::new(HealthCheckRequest {
            service: String::new(),
        });
        request.set_timeout(HEALTH_TIMEOUT);
        let answer = tokio::time::timeout(HEALTH_TIMEOUT, client.check(request))
            .await
            .map_err(|_| Status::deadline_exceeded("the upstream health check timed out"))??;
        Ok(answer.into_inner().status())
    }
}

/// `uri` with the `http` scheme.
fn plaintext(uri: &Uri) -> Uri {
    let mut parts = uri.clone().into_parts();
    parts.scheme = Some(http::uri::Scheme::HTTP);
    Uri::from_parts(parts).unwrap_or_else(|_| uri.clone())
}

/// Whether `status` is the client side's own deadline expiring.
fn timed_out(status: &Status) -> bool {
    let mut source = std::error::Error::source(status);
    while let Some(error) = source {
        if error.is::<tonic::TimeoutExpired>() {
            return true;
        }
        source = error.source();
    }
    false
}

/// The gRPC metadata for a request: the forwarded headers whose values are valid metadata.
/// Credentials are marked sensitive: HTTP/2 then never puts them in its compression table,
/// and their `Debug` output (in any log of the HTTP layers) reads `Sensitive`.
pub fn forwarded_metadata(headers: &HeaderMap) -> MetadataMap {
    let mut metadata = MetadataMap::new();
    for name in FORWARDED_HEADERS {
        if let Some(value) = headers.get(name)
            && let Ok(text) = value.to_str()
            && let Ok(mut value) = text.parse::<MetadataValue<_>>()
        {
            value.set_sensitive(name == "authorization");
            metadata.insert(name, value);
        }
    }
    metadata
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_forwarded_as_sensitive_metadata() {
        let mut headers = HeaderMap::new();
        headers.insert("authorization", "Bearer abc".parse().unwrap());
        headers.insert("traceparent", "00-ab-cd-01".parse().unwrap());
        headers.insert("x-actor", "mallory".parse().unwrap());
        let metadata = forwarded_metadata(&headers);
        let authorization = metadata.get("authorization").unwrap();
        assert_eq!(authorization, "Bearer abc");
        assert!(authorization.is_sensitive());
        assert!(!format!("{metadata:?}").contains("abc"));
        assert!(!metadata.get("traceparent").unwrap().is_sensitive());
        assert!(metadata.get("x-actor").is_none());
    }
}
