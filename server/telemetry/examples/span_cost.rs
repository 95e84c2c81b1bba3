//! What tracing costs one command, without the server around it: the spans a command opens
//! (the request, the command, the store append, each entered at every poll, the request
//! continuing a trace and the append storing its `traceparent`) and its access-log line,
//! timed under each filter the benchmark's scenario 9 switches between.
//!
//! `cargo run --release -p causeway-telemetry --example span_cost` (pin it to one core with
//! `taskset -c 0` for steadier figures). Spans are exported to a port where nothing listens:
//! the batch exporter's thread fails to connect and drops them, so what is timed is the
//! request path's share (making, closing and handing over spans), not the collector's.

use std::time::Instant;

use tracing::{Instrument, field::Empty, info, info_span};

/// Commands timed per filter and round.
const COMMANDS: u32 = 200_000;

/// One command's worth of spans and its access line; `stream` alternates like two aggregates.
async fn command(headers: &http::HeaderMap, stream: &str) {
    let request = info_span!("grpc", rpc.grpc.status_code = Empty);
    causeway_telemetry::traces::continue_trace(&request, headers);
    let trace_id = causeway_telemetry::traces::trace_id(&request).unwrap_or_default();
    async {
        let command = info_span!("command", aggregate = "product", stream);
        async {
            let append = info_span!("store.append", stream, events = 1u64);
            let stored = causeway_telemetry::traces::traceparent(&tracing::Span::current());
            std::hint::black_box(stored);
            // The append waits for the store: a second poll.
            tokio::task::yield_now().instrument(append).await;
        }
        .instrument(command)
        .await;
    }
    .instrument(request.clone())
    .await;
    request.record("rpc.grpc.status_code", 0);
    info!(target: "access", parent: None, protocol = "grpc", service = "causeway.inventory.v1.InventoryCommands",
        method = "ReceiveStock", code = "OK", duration_ms = 0.1, trace_id = %trace_id, subject = "-", "request");
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let telemetry = causeway_telemetry::logs::init_exporting_to(
            "off",
            "span-cost",
            "http://127.0.0.1:9",
            std::io::sink(),
        )
        .expect("telemetry installs");
        let headers = http::HeaderMap::new();
        let filters = [
            ("off", "nothing"),
            ("access=info", "access line only"),
            ("access=off,info", "spans only"),
            ("info", "spans and access line"),
        ];
        for (filter, what) in filters {
            telemetry.set_filter(filter).expect("a valid filter");
            for round in 1..=2 {
                let started = Instant::now();
                for n in 0..COMMANDS {
                    command(&headers, if n % 2 == 0 { "product-a" } else { "product-b" }).await;
                }
                let per = started.elapsed().as_secs_f64() * 1e6 / f64::from(COMMANDS);
                println!("{what:>22} ({filter}), round {round}: {per:.2} µs per command");
            }
        }
    });
}
