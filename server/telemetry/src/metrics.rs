//! The process's Prometheus registry and its `/metrics` endpoint, on a listener of its own so
//! scraping never competes with (or needs the credentials of) the API.
//!
//! Every metric of Causeway is named `causeway_…` in base units with `_total` on counters; the
//! process metrics keep Prometheus's standard `process_…` names.

use std::{
    convert::Infallible,
    future::Future,
    sync::{Arc, Mutex, MutexGuard},
};

use bytes::Bytes;
use http::{Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::{body::Incoming, service::service_fn};
use hyper_util::rt::TokioIo;
use prometheus_client::{
    collector::Collector, encoding::prometheus_text, registry::Metric as RegistryMetric,
    registry::Registry,
};
use tokio::net::TcpListener;
use tracing::debug;

use crate::process::ProcessCollector;

/// The metrics of one process (cheap to clone; every clone registers into the same registry).
#[derive(Clone)]
pub struct Metrics {
    causeway: Arc<Mutex<Registry>>,
    process: Arc<Mutex<Registry>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        let mut process = Registry::default();
        process.register_collector(Box::new(ProcessCollector));
        let mut causeway = Registry::with_prefix("causeway");
        // The span exporter is the process's, as the subscriber is: zero without one.
        let spans = crate::batches::process_counters();
        let counted = [
            (
                "trace_spans_ended",
                "Sampled spans handed to the span exporter's queue",
                &spans.ended,
            ),
            (
                "trace_spans_exported",
                "Spans sent to the OTLP collector and answered OK",
                &spans.exported,
            ),
            (
                "trace_spans_export_failed",
                "Spans whose export failed; ended minus exported and failed is what waits in \
                 the queue (at most OTEL_BSP_MAX_QUEUE_SIZE) plus what the exporter dropped",
                &spans.failed,
            ),
        ];
        for (name, help, counter) in counted {
            causeway.register(name, help, counter.clone());
        }
        Self {
            causeway: Arc::new(Mutex::new(causeway)),
            process: Arc::new(Mutex::new(process)),
        }
    }
}

impl Metrics {
    fn registry(&self) -> MutexGuard<'_, Registry> {
        self.causeway.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers `metric` as `causeway_<name>` (plus the suffix its type adds, such as
    /// `_total`) and returns it, for chaining.
    pub fn register<M: RegistryMetric + Clone>(&self, name: &str, help: &str, metric: M) -> M {
        // The encoder ends every help text with a full stop of its own.
        let help = help.strip_suffix('.').unwrap_or(help);
        self.registry().register(name, help, metric.clone());
        metric
    }

    /// Registers a collector read at every scrape.
    pub fn register_collector(&self, collector: Box<dyn Collector>) {
        self.registry().register_collector(collector);
    }

    /// The exposition, Prometheus text format 0.0.4.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        let causeway = prometheus_text::encode(&mut text, &self.registry());
        let process = {
            let process = self.process.lock().unwrap_or_else(|e| e.into_inner());
            let mut more = String::new();
            prometheus_text::encode(&mut more, &process).map(|()| more)
        };
        match (causeway, process) {
            (Ok(()), Ok(more)) => text + &more,
            _ => text,
        }
    }
}

/// Serves `GET /metrics` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    metrics: Metrics,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    tokio::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => accepted?,
            () = &mut shutdown => return Ok(()),
        };
        let metrics = metrics.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| answer(request, metrics.clone()));
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                debug!(error = %e, "metrics connection ended");
            }
        });
    }
}

async fn answer(
    request: Request<Incoming>,
    metrics: Metrics,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let response = match (request.method().as_str(), request.uri().path()) {
        ("GET", "/metrics") => Response::builder()
            .header(header::CONTENT_TYPE, prometheus_text::CONTENT_TYPE)
            .body(Full::new(Bytes::from(metrics.encode()))),
        _ => Response::builder()
            .status(StatusCode::NOT_FOUND)
            .body(Full::new(Bytes::from_static(b"see /metrics\n"))),
    };
    Ok(response.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use prometheus_client::metrics::counter::Counter;

    use super::*;

    #[tokio::test]
    async fn serves_the_registry_and_the_process_metrics() {
        let metrics = Metrics::default();
        let counter: Counter = metrics.register("things", "Things done.", Counter::default());
        counter.inc();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(listener, metrics, async {
            let _ = stopped.await;
        }));
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (mut send, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        tokio::spawn(connection);
        let request = Request::get("/metrics")
            .header("host", "localhost")
            .body(http_body_util::Empty::<Bytes>::new())
            .unwrap();
        let response = send.send_request(request).await.unwrap();
        assert_eq!(response.status(), 200);
        let body = http_body_util::BodyExt::collect(response.into_body())
            .await
            .unwrap();
        let text = String::from_utf8(body.to_bytes().to_vec()).unwrap();
        assert!(text.contains("causeway_things_total 1"), "{text}");
        assert!(text.contains("process_resident_memory_bytes"), "{text}");
        for counted in ["ended", "exported", "export_failed"] {
            let name = format!("causeway_trace_spans_{counted}_total");
            assert!(text.contains(&name), "{name} in {text}");
        }
        let _ = stop.send(());
        server.await.unwrap().unwrap();
    }
}
