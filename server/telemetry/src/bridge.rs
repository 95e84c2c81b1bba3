//! The layer that turns `tracing` spans into OpenTelemetry spans, built for a request path that
//! makes three of them per command. Each span gets W3C ids when it opens (a child takes its
//! parent's trace and sampling decision; a root asks the SDK's sampler, which reads
//! `OTEL_TRACES_SAMPLER`). A sampled span keeps its fields as attributes and becomes export
//! data when it closes, handed straight to the SDK's batch processor and OTLP exporter. An
//! unsampled one keeps its ids only (logs and stored events still carry them), except a root
//! that a remote parent may still adopt: it keeps its fields until its trace is settled. Why not `tracing-opentelemetry`: it builds every span in full, sampled or not, and
//! then builds it again as an SDK span; scenario 9 of the benchmark measured most of the
//! tracing cost of a command there (README, "Scenario 9 again").

use std::{borrow::Cow, sync::Arc, time::SystemTime};

use opentelemetry::{
    Context, InstrumentationScope, Key, KeyValue, Value,
    trace::{
        Link, SpanContext, SpanId, SpanKind, Status, TraceContextExt, TraceFlags, TraceId,
        TraceState,
    },
};
use opentelemetry_sdk::trace::{
    IdGenerator, SamplingDecision, ShouldSample, SpanData, SpanEvents, SpanLinks, SpanProcessor,
};
use tracing::{
    Event, Level, Subscriber,
    field::{Field, Visit},
    span,
};
use tracing_subscriber::{
    Registry,
    layer::Context as LayerContext,
    registry::{LookupSpan, SpanData as _},
};

/// What a span carries from open to close, in its registry extensions.
#[derive(Debug)]
pub(crate) struct Recording {
    /// Its own ids and sampling flag (and the remote trace state it continues).
    pub(crate) context: SpanContext,
    parent: SpanId,
    parent_is_remote: bool,
    /// Opened without a parent and not yet settled: a remote parent may still adopt it.
    adoptable: bool,
    name: Cow<'static, str>,
    kind: SpanKind,
    start: SystemTime,
    attributes: Vec<KeyValue>,
    links: Vec<Link>,
    status: Status,
}

/// The layer: ids and sampling for every span, export for the sampled ones.
pub(crate) struct Bridge {
    sampler: Box<dyn ShouldSample>,
    ids: Box<dyn IdGenerator>,
    export: Option<Arc<dyn SpanProcessor>>,
    scope: InstrumentationScope,
}

impl Bridge {
    /// Spans handed to `export` (the OTLP batch exporter) when sampled; none leave the process
    /// without it.
    pub(crate) fn new(export: Option<Arc<dyn SpanProcessor>>) -> Self {
        let config = opentelemetry_sdk::trace::Config::default();
        Self {
            sampler: config.sampler,
            ids: config.id_generator,
            export,
            scope: InstrumentationScope::builder("causeway").build(),
        }
    }

    /// Whether a trace `trace_id` is sampled, under `parent` (none for a root).
    fn sampled(&self, parent: Option<&SpanContext>, trace_id: TraceId, name: &str) -> bool {
        let parent = parent.map(|p| Context::new().with_remote_span_context(p.clone()));
        let result = self.sampler.should_sample(
            parent.as_ref(),
            trace_id,
            name,
            &SpanKind::Internal,
            &[],
            &[],
        );
        result.decision == SamplingDecision::RecordAndSample
    }
}

impl<S> tracing_subscriber::Layer<S> for Bridge
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &span::Attributes<'_>, id: &span::Id, ctx: LayerContext<'_, S>) {
        let Some(span) = ctx.span(id) else {
            return;
        };
        let parent = match attrs.parent() {
            Some(parent) => ctx.span(parent),
            None if attrs.is_contextual() => ctx.lookup_current(),
            None => None,
        };
        let parent =
            parent.and_then(|p| p.extensions().get::<Recording>().map(|r| r.context.clone()));
        let name = attrs.metadata().name();
        let span_id = self.ids.new_span_id();
        let (context, parent_id) = match &parent {
            Some(parent) => (
                SpanContext::new(
                    parent.trace_id(),
                    span_id,
                    parent.trace_flags(),
                    false,
                    parent.trace_state().clone(),
                ),
                parent.span_id(),
            ),
            None => {
                let trace_id = self.ids.new_trace_id();
                let flags = flags(self.sampled(None, trace_id, name));
                let context = SpanContext::new(trace_id, span_id, flags, false, TraceState::NONE);
                (context, SpanId::INVALID)
            }
        };
        let mut recording = Recording {
            parent: parent_id,
            parent_is_remote: false,
            adoptable: parent.is_none(),
            name: Cow::Borrowed(name),
            kind: SpanKind::Internal,
            start: SystemTime::now(),
            attributes: Vec::new(),
            links: Vec::new(),
            status: Status::Unset,
            context,
        };
        // An adoptable root keeps its fields whatever its sampling: its trace is not settled.
        if recording.context.is_sampled() || recording.adoptable {
            recording.attributes.reserve(attrs.fields().len());
            attrs.record(&mut Fields(&mut recording));
        }
        span.extensions_mut().insert(recording);
    }

    fn on_record(&self, id: &span::Id, values: &span::Record<'_>, ctx: LayerContext<'_, S>) {
        let Some(span) = ctx.span(id) else {
            return;
        };
        let mut extensions = span.extensions_mut();
        if let Some(recording) = extensions.get_mut::<Recording>()
            && (recording.context.is_sampled() || recording.adoptable)
        {
            values.record(&mut Fields(recording));
        }
    }

    /// An error logged inside a sampled span marks it failed, with the error's message.
    fn on_event(&self, event: &Event<'_>, ctx: LayerContext<'_, S>) {
        if *event.metadata().level() != Level::ERROR {
            return;
        }
        let Some(span) = ctx.event_span(event) else {
            return;
        };
        let mut extensions = span.extensions_mut();
        if let Some(recording) = extensions.get_mut::<Recording>()
            && recording.context.is_sampled()
        {
            let mut message = Message::default();
            event.record(&mut message);
            recording.status = Status::error(message.0);
        }
    }

    fn on_close(&self, id: span::Id, ctx: LayerContext<'_, S>) {
        let Some(export) = &self.export else {
            return;
        };
        let Some(span) = ctx.span(&id) else {
            return;
        };
        let Some(recording) = span.extensions_mut().remove::<Recording>() else {
            return;
        };
        if !recording.context.is_sampled() {
            return;
        }
        let mut links = SpanLinks::default();
        links.links = recording.links;
        export.on_end(SpanData {
            span_context: recording.context,
            parent_span_id: recording.parent,
            parent_span_is_remote: recording.parent_is_remote,
            span_kind: recording.kind,
            name: recording.name,
            start_time: recording.start,
            end_time: SystemTime::now(),
            attributes: recording.attributes,
            dropped_attributes_count: 0,
            events: SpanEvents::default(),
            links,
            status: recording.status,
            instrumentation_scope: self.scope.clone(),
        });
    }
}

fn flags(sampled: bool) -> TraceFlags {
    TraceFlags::default().with_sampled(sampled)
}

/// Runs `f` on `span`'s recording and the layer that keeps it, when the process's subscriber
/// has them.
pub(crate) fn with_recording<R>(
    span: &tracing::Span,
    f: impl FnOnce(&Bridge, &mut Recording) -> R,
) -> Option<R> {
    span.with_subscriber(|(id, dispatch)| {
        let bridge = dispatch.downcast_ref::<Bridge>()?;
        let registry = dispatch.downcast_ref::<Registry>()?;
        let data = registry.span_data(id)?;
        let mut extensions = data.extensions_mut();
        extensions.get_mut::<Recording>().map(|r| f(bridge, r))
    })
    .flatten()
}

/// Settles the trace of `span`, a root: a child of the remote span `parent` when there is one
/// (its trace, the sampler's decision under that parent, by default the parent's, and its trace
/// state), its own otherwise. Once settled, an unsampled span keeps no fields.
pub(crate) fn settle(span: &tracing::Span, parent: Option<&SpanContext>) {
    with_recording(span, |bridge, recording| {
        if !recording.adoptable {
            return;
        }
        recording.adoptable = false;
        if let Some(parent) = parent {
            let sampled = bridge.sampled(Some(parent), parent.trace_id(), &recording.name);
            recording.context = SpanContext::new(
                parent.trace_id(),
                recording.context.span_id(),
                flags(sampled),
                false,
                parent.trace_state().clone(),
            );
            recording.parent = parent.span_id();
            recording.parent_is_remote = true;
        }
        if !recording.context.is_sampled() {
            recording.attributes = Vec::new();
        }
    });
}

/// Names `span` for export, gives it a kind and attributes: `describe` runs only when the
/// span is sampled, so an unsampled request builds none of it (what a trace viewer shows and
/// the log lines need not repeat: the access log has them).
pub fn describe<A>(
    span: &tracing::Span,
    describe: impl FnOnce() -> (Cow<'static, str>, SpanKind, A),
) where
    A: IntoIterator<Item = KeyValue>,
{
    with_recording(span, |_, recording| {
        if recording.context.is_sampled() {
            let (name, kind, attributes) = describe();
            recording.name = name;
            recording.kind = kind;
            recording.attributes.extend(attributes);
        }
    });
}

/// Links `span` to the span `to` of another trace.
pub(crate) fn link(span: &tracing::Span, to: SpanContext) {
    with_recording(span, |_, recording| {
        if recording.context.is_sampled() {
            recording.links.push(Link::with_context(to));
        }
    });
}

/// A span's fields as attributes.
struct Fields<'a>(&'a mut Recording);

impl Fields<'_> {
    fn put(&mut self, field: &Field, value: Value) {
        self.0
            .attributes
            .push(KeyValue::new(Key::from_static_str(field.name()), value));
    }
}

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, Value::from(value.to_owned()));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, Value::I64(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, Value::I64(i64::try_from(value).unwrap_or(i64::MAX)));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, Value::F64(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, Value::Bool(value));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.put(field, Value::from(format!("{value:?}")));
    }
}

/// The `message` of an event.
#[derive(Default)]
struct Message(String);

impl Visit for Message {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            value.clone_into(&mut self.0);
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use opentelemetry_sdk::error::OTelSdkResult;
    use tracing_subscriber::layer::SubscriberExt;

    use super::*;
    use crate::traces;

    /// Keeps what it is handed, as the OTLP batch processor would export it.
    #[derive(Debug, Default)]
    struct Collected(Mutex<Vec<SpanData>>);

    impl SpanProcessor for Collected {
        fn on_start(&self, _: &mut opentelemetry_sdk::trace::Span, _: &Context) {}
        fn on_end(&self, span: SpanData) {
            self.0.lock().unwrap().push(span);
        }
        fn force_flush(&self) -> OTelSdkResult {
            Ok(())
        }
        fn shutdown_with_timeout(&self, _: std::time::Duration) -> OTelSdkResult {
            Ok(())
        }
    }

    /// Runs `f` under a subscriber with the bridge; what it exported, by span name.
    fn exported(f: impl FnOnce()) -> Vec<SpanData> {
        let collected = Arc::new(Collected::default());
        let subscriber =
            tracing_subscriber::registry().with(Bridge::new(Some(collected.clone() as _)));
        tracing::subscriber::with_default(subscriber, f);
        let mut spans = std::mem::take(&mut *collected.0.lock().unwrap());
        spans.sort_by(|a, b| a.name.cmp(&b.name));
        spans
    }

    fn headers(traceparent: &str) -> http::HeaderMap {
        let mut headers = http::HeaderMap::new();
        headers.insert("traceparent", traceparent.parse().unwrap());
        headers
    }

    const SAMPLED: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    const UNSAMPLED: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00";

    #[test]
    fn a_child_shares_its_parents_trace_and_each_is_exported_with_its_fields() {
        // Given a request's span with the fields the edge gives it, and a child in its scope
        let spans = exported(|| {
            let rpc = tracing::info_span!("grpc", rpc.grpc.status_code = tracing::field::Empty);
            describe(&rpc, || {
                (
                    Cow::Borrowed("causeway.orders.v1.OrderCommands/PlaceOrder"),
                    SpanKind::Server,
                    [KeyValue::new("rpc.system", "grpc")],
                )
            });
            rpc.in_scope(|| {
                let _command = tracing::info_span!("command", stream = "order-1").entered();
            });
            rpc.record("rpc.grpc.status_code", 0);
        });
        // Then both are exported, the child under the request, with the fields as attributes
        // (sorted by name: the request's is its `otel.name`)
        let [rpc, command] = spans.as_slice() else {
            panic!("two spans: {spans:?}");
        };
        assert_eq!(rpc.name, "causeway.orders.v1.OrderCommands/PlaceOrder");
        assert_eq!(rpc.span_kind, SpanKind::Server);
        assert_eq!(rpc.parent_span_id, SpanId::INVALID);
        assert_eq!(command.name, "command");
        assert_eq!(command.parent_span_id, rpc.span_context.span_id());
        assert_eq!(command.span_context.trace_id(), rpc.span_context.trace_id());
        let attribute = |span: &SpanData, key: &str| {
            span.attributes
                .iter()
                .find(|kv| kv.key.as_str() == key)
                .map(|kv| kv.value.clone())
        };
        assert_eq!(attribute(rpc, "rpc.system"), Some(Value::from("grpc")));
        assert_eq!(attribute(rpc, "rpc.grpc.status_code"), Some(Value::I64(0)));
        assert_eq!(attribute(command, "stream"), Some(Value::from("order-1")));
    }

    #[test]
    fn a_remote_parent_adopts_the_request_and_its_sampling_decides_the_export() {
        // Given a caller's sampled trace: the request and its children join it
        let spans = exported(|| {
            let rpc = tracing::info_span!("grpc");
            traces::continue_trace(&rpc, &headers(SAMPLED));
            let _child = rpc.in_scope(|| tracing::info_span!("command"));
        });
        let [command, rpc] = spans.as_slice() else {
            panic!("two spans: {spans:?}");
        };
        assert_eq!(
            rpc.span_context.trace_id().to_string(),
            "0af7651916cd43dd8448eb211c80319c"
        );
        assert_eq!(rpc.parent_span_id.to_string(), "b7ad6b7169203331");
        assert!(rpc.parent_span_is_remote);
        assert_eq!(command.span_context.trace_id(), rpc.span_context.trace_id());

        // Given a caller's unsampled trace: nothing is exported, yet the ids (and the flag)
        // still travel on to what the request stores and calls
        let mut stored = None;
        let spans = exported(|| {
            let rpc = tracing::info_span!("grpc");
            traces::continue_trace(&rpc, &headers(UNSAMPLED));
            let child = rpc.in_scope(|| tracing::info_span!("command"));
            stored = traces::traceparent(&child);
        });
        assert!(spans.is_empty(), "{spans:?}");
        let stored = stored.expect("a traceparent");
        assert!(
            stored.starts_with("00-0af7651916cd43dd8448eb211c80319c-") && stored.ends_with("-00"),
            "{stored}"
        );
    }

    #[test]
    fn a_link_and_an_error_reach_the_export() {
        let spans = exported(|| {
            let batch = tracing::info_span!("projection.batch");
            traces::link_to(&batch, SAMPLED);
            batch.in_scope(|| tracing::error!("the read store refused the batch"));
        });
        let [batch] = spans.as_slice() else {
            panic!("one span: {spans:?}");
        };
        let linked = &batch.links.links[0].span_context;
        assert_eq!(
            linked.trace_id().to_string(),
            "0af7651916cd43dd8448eb211c80319c"
        );
        assert_ne!(linked.trace_id(), batch.span_context.trace_id());
        assert_eq!(
            batch.status,
            Status::error("the read store refused the batch")
        );
    }

    #[test]
    fn without_an_exporter_spans_still_have_ids() {
        let subscriber = tracing_subscriber::registry().with(Bridge::new(None));
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("grpc");
            let id = traces::trace_id(&span).expect("a trace id");
            assert_eq!(id.len(), 32);
            assert_ne!(id, "0".repeat(32));
        });
    }
}
