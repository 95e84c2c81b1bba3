//! The batch span processor the exporter runs behind: the SDK's `BatchSpanProcessor`, with two
//! choices of ours for a server whose cores are busy serving.
//!
//! - **Its thread yields to requests.** It is started from a helper thread that lowered its own
//!   CPU priority to the lowest (nice 19, Linux; a thread starts with its creator's), so its
//!   work (batching finished spans, converting them to OTLP) waits for spare CPU and gives way
//!   to request handling when the cores are saturated. The exporter's gRPC connection, which
//!   encodes and sends them, runs on the runtime with the process's other tasks. Scenario 9 of the benchmark, 32 commands in flight on one core:
//!   at normal priority export took about 0.09 of the command p50 ratio (1.20-1.24); at the
//!   lowest, requests kept their p50 within 1.05 of an uninstrumented server while export
//!   waited for spare CPU, dropping 7% of spans in a sustained run (README, "Scenario 9,
//!   fourth pass").
//! - **Its queue holds 8,192 spans**, not the SDK's 2,048, unless `OTEL_BSP_MAX_QUEUE_SIZE`
//!   says otherwise. Spans beyond the queue are dropped (the SDK's rule: telemetry gives way,
//!   requests never wait for it); at about 45,000 spans a second the SDK's default dropped
//!   1-4% of them even at normal priority, and a thread that yields needs room to catch up.
//!
//! The other `OTEL_BSP_*` variables apply as the SDK reads them. What the exporter was handed
//! and what it sent are counted ([`SpanCounters`], `causeway_trace_spans_*` in the process's
//! metrics), so spans it had to drop show as the difference.

use std::{sync::OnceLock, time::Duration};

use opentelemetry::Context;
use opentelemetry_sdk::{
    Resource,
    error::OTelSdkResult,
    trace::{
        BatchConfig, BatchConfigBuilder, BatchSpanProcessor, OTEL_BSP_MAX_QUEUE_SIZE, Span,
        SpanData, SpanExporter, SpanProcessor,
    },
};
use prometheus_client::metrics::counter::Counter;

/// Spans the queue holds when `OTEL_BSP_MAX_QUEUE_SIZE` is not set.
pub(crate) const QUEUE: usize = 8192;

/// The nice value of the export thread (the lowest priority).
const NICE: i32 = 19;

/// Sampled spans handed to the exporter, and those it sent or failed to send. Handed minus
/// sent and failed is what waits in its queue (at most its size) plus what it dropped.
#[derive(Debug, Clone, Default)]
pub(crate) struct SpanCounters {
    /// Spans handed to the batch processor.
    pub(crate) ended: Counter,
    /// Spans sent, the collector answering OK (under OTLP partial success it may still have
    /// refused some, which only its own answer says).
    pub(crate) exported: Counter,
    /// Spans whose export failed (the collector unreachable or refusing).
    pub(crate) failed: Counter,
}

/// The counters of the process's exporter (one per process, as the subscriber is).
pub(crate) fn process_counters() -> &'static SpanCounters {
    static COUNTERS: OnceLock<SpanCounters> = OnceLock::new();
    COUNTERS.get_or_init(SpanCounters::default)
}

/// The batch settings: the `OTEL_BSP_*` variables as the SDK reads them, with a queue of
/// [`QUEUE`] spans when `OTEL_BSP_MAX_QUEUE_SIZE` is not set.
pub(crate) fn config_from_env() -> BatchConfig {
    let config = BatchConfigBuilder::default();
    match std::env::var_os(OTEL_BSP_MAX_QUEUE_SIZE) {
        Some(_) => config.build(),
        None => config.with_max_queue_size(QUEUE).build(),
    }
}

/// A batch processor for `exporter` with `config`, its thread at the lowest CPU priority where
/// the platform allows it (Linux; elsewhere at the caller's), counting into `counters`. Fails
/// when no thread can be started (or building the processor panicked).
pub(crate) fn batch_processor<E>(
    exporter: E,
    config: BatchConfig,
    counters: SpanCounters,
) -> std::io::Result<CountingProcessor>
where
    E: SpanExporter + 'static,
{
    let exporter = CountingExporter {
        inner: exporter,
        counters: counters.clone(),
    };
    // The helper thread exists to hand its lowered priority down to the processor's thread.
    let helper = std::thread::Builder::new()
        .name("causeway-otlp-start".to_owned())
        .spawn(move || {
            lower_own_priority();
            BatchSpanProcessor::builder(exporter)
                .with_batch_config(config)
                .build()
        })?;
    let inner = helper
        .join()
        .map_err(|_| std::io::Error::other("building the span batch processor panicked"))?;
    Ok(CountingProcessor { inner, counters })
}

/// The batch processor, counting the spans it is handed.
#[derive(Debug)]
pub(crate) struct CountingProcessor {
    inner: BatchSpanProcessor,
    counters: SpanCounters,
}

impl SpanProcessor for CountingProcessor {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        self.inner.on_start(span, cx);
    }
    fn on_end(&self, span: SpanData) {
        self.counters.ended.inc();
        self.inner.on_end(span);
    }
    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }
    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }
    fn shutdown(&self) -> OTelSdkResult {
        self.inner.shutdown()
    }
    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

/// The exporter, counting what it sent and what it failed to.
#[derive(Debug)]
struct CountingExporter<E> {
    inner: E,
    counters: SpanCounters,
}

impl<E: SpanExporter> SpanExporter for CountingExporter<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let spans = batch.len() as u64;
        let result = self.inner.export(batch).await;
        match &result {
            Ok(()) => self.counters.exported.inc_by(spans),
            Err(_) => self.counters.failed.inc_by(spans),
        };
        result
    }
    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }
    fn shutdown(&self) -> OTelSdkResult {
        self.inner.shutdown()
    }
    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }
    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

/// Lowers the calling thread's CPU priority: on Linux the nice value is per thread, so this
/// thread (and the threads it starts) only.
fn lower_own_priority() {
    #[cfg(target_os = "linux")]
    {
        // Raising a nice value needs no privilege; if refused, export runs at normal priority.
        let _ = rustix::process::setpriority_process(None, NICE);
    }
}

#[cfg(test)]
mod tests {
    use std::{
        borrow::Cow,
        sync::{Arc, Mutex, mpsc},
        time::{Duration, SystemTime},
    };

    use opentelemetry::{
        InstrumentationScope,
        trace::{SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState},
    };
    use opentelemetry_sdk::trace::{SpanEvents, SpanLinks};

    use super::*;

    /// Counts the spans it exports; its first export waits until `open` is sent.
    #[derive(Debug, Clone)]
    struct Gated {
        exported: Arc<Mutex<usize>>,
        gate: Arc<Mutex<Option<mpsc::Receiver<()>>>>,
    }

    /// A collector that refuses everything.
    #[derive(Debug)]
    struct Refusing;

    impl SpanExporter for Refusing {
        async fn export(&self, _: Vec<SpanData>) -> OTelSdkResult {
            Err(opentelemetry_sdk::error::OTelSdkError::InternalFailure(
                "refused".into(),
            ))
        }
    }

    #[test]
    fn spans_a_collector_refuses_are_counted_as_failed() {
        let counters = SpanCounters::default();
        let processor =
            batch_processor(Refusing, queue_of(QUEUE), counters.clone()).expect("a processor");
        for n in 0..10 {
            processor.on_end(span(n));
        }
        let _ = processor.force_flush();
        assert_eq!(
            (
                counters.ended.get(),
                counters.exported.get(),
                counters.failed.get()
            ),
            (10, 0, 10)
        );
        let _ = processor.shutdown();
    }

    impl Gated {
        fn new() -> (Self, mpsc::Sender<()>) {
            let (open, gate) = mpsc::channel();
            let gated = Self {
                exported: Arc::default(),
                gate: Arc::new(Mutex::new(Some(gate))),
            };
            (gated, open)
        }
    }

    impl SpanExporter for Gated {
        async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
            if let Some(gate) = self.gate.lock().unwrap().take() {
                let _ = gate.recv_timeout(Duration::from_secs(30));
            }
            *self.exported.lock().unwrap() += batch.len();
            Ok(())
        }
    }

    /// Batch settings with a queue of `spans`, whatever the environment says.
    fn queue_of(spans: usize) -> BatchConfig {
        BatchConfigBuilder::default()
            .with_max_queue_size(spans)
            .build()
    }

    fn span(n: u64) -> SpanData {
        SpanData {
            span_context: SpanContext::new(
                TraceId::from(u128::from(n) + 1),
                SpanId::from(n + 1),
                TraceFlags::SAMPLED,
                false,
                TraceState::NONE,
            ),
            parent_span_id: SpanId::INVALID,
            parent_span_is_remote: false,
            span_kind: SpanKind::Internal,
            name: Cow::Borrowed("command"),
            start_time: SystemTime::now(),
            end_time: SystemTime::now(),
            attributes: Vec::new(),
            dropped_attributes_count: 0,
            events: SpanEvents::default(),
            links: SpanLinks::default(),
            status: Status::Unset,
            instrumentation_scope: InstrumentationScope::builder("test").build(),
        }
    }

    #[test]
    fn a_busy_exporter_loses_no_span_of_a_burst_the_queue_holds() {
        // Given an exporter stuck in its first export
        let (exporter, open) = Gated::new();
        let counters = SpanCounters::default();
        let processor = batch_processor(exporter.clone(), queue_of(QUEUE), counters.clone())
            .expect("a processor");
        // When a burst of spans ends meanwhile: more than the SDK's default queue of 2,048
        // (plus the batch being exported) would hold
        let burst = 5_000;
        for n in 0..burst {
            processor.on_end(span(n));
        }
        open.send(()).expect("the exporter waits");
        processor.shutdown().expect("a clean shutdown");
        // Then every span is exported once the exporter is free again, and counted
        assert_eq!(*exporter.exported.lock().unwrap(), burst as usize);
        assert_eq!(counters.ended.get(), burst);
        assert_eq!(counters.exported.get(), burst);
        assert_eq!(counters.failed.get(), 0);
    }

    /// Nice values of this process's threads named like the SDK's batch thread.
    #[cfg(target_os = "linux")]
    fn batch_threads() -> Vec<(String, i64)> {
        let mut threads = Vec::new();
        for task in std::fs::read_dir("/proc/self/task").expect("procfs") {
            let path = task.expect("a task").path();
            let Ok(stat) = std::fs::read_to_string(path.join("stat")) else {
                continue;
            };
            // `pid (comm) state ...`: the nice value is the 17th field after the comm.
            let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
                continue;
            };
            let comm = &stat[open + 1..close];
            if !comm.starts_with("OpenTelemetry") {
                continue;
            }
            let nice = stat[close + 2..]
                .split(' ')
                .nth(16)
                .and_then(|n| n.parse().ok())
                .expect("a nice value");
            threads.push((path.display().to_string(), nice));
        }
        threads
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_export_thread_runs_at_the_lowest_priority_and_the_caller_keeps_its_own() {
        let before = batch_threads();
        let caller = rustix::process::getpriority_process(None).expect("own priority");
        let (exporter, open) = Gated::new();
        let processor = batch_processor(exporter, queue_of(QUEUE), SpanCounters::default())
            .expect("a processor");
        // The thread names itself once it runs, which may be a moment after it starts. Other
        // tests of this process may start batch threads meanwhile: every one is made here.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let threads = loop {
            let threads = batch_threads();
            let new = threads.iter().any(|t| !before.iter().any(|b| b.0 == t.0));
            if new || std::time::Instant::now() > deadline {
                break threads;
            }
            std::thread::yield_now();
        };
        assert!(
            threads.iter().any(|t| !before.iter().any(|b| b.0 == t.0)),
            "a new batch thread: {threads:?}"
        );
        assert!(
            threads.iter().all(|t| t.1 == i64::from(NICE)),
            "every batch thread at nice {NICE}: {threads:?}"
        );
        assert_eq!(
            rustix::process::getpriority_process(None).expect("own priority"),
            caller
        );
        drop(open);
        processor.shutdown().expect("a clean shutdown");
    }
}
