//! An in-process OTLP/gRPC trace receiver for scenario 9: it accepts every export and counts
//! the spans, so the traced phase pays the real cost of exporting (encoding, the gRPC call)
//! without a collector process on the machine.

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
    trace_service_server::{TraceService, TraceServiceServer},
};
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::{Request, Response, Status};

use super::{BenchError, error::Context};

/// Counts what it receives.
#[derive(Debug, Clone, Default)]
pub struct Receiver {
    spans: Arc<AtomicU64>,
}

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        let spans: usize = request
            .get_ref()
            .resource_spans
            .iter()
            .flat_map(|r| &r.scope_spans)
            .map(|s| s.spans.len())
            .sum();
        self.spans.fetch_add(spans as u64, Ordering::Relaxed);
        Ok(Response::new(ExportTraceServiceResponse::default()))
    }
}

impl Receiver {
    /// Starts a receiver on a loopback port of its own; returns it and its address.
    pub async fn start() -> Result<(Self, SocketAddr), BenchError> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .doing("binding the OTLP receiver")?;
        let addr = listener.local_addr().doing("OTLP receiver address")?;
        let receiver = Self::default();
        let service = TraceServiceServer::new(receiver.clone());
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming(TcpListenerStream::new(listener)),
        );
        Ok((receiver, addr))
    }

    /// Spans received so far.
    pub fn spans(&self) -> u64 {
        self.spans.load(Ordering::Relaxed)
    }
}
