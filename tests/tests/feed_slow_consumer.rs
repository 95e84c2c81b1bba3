//! A consumer that never reads, against the real server binary: the server holds only a bounded
//! read-ahead for it (its peak memory, from the kernel, grows by a small fraction of what the
//! consumer has not read), ends it with RESOURCE_EXHAUSTED once it has taken nothing for the
//! stall timeout, and keeps every other subscriber flowing meanwhile; on the embedded store and
//! on KurrentDB (the protocol double).

use std::time::Duration;

use causeway_client::events::SubscribeRequest;
use causeway_server::store::{
    EventStore, ExpectedRevision, NewEvent,
    embedded::{Durability, EmbeddedEventStore},
    kurrentdb::KurrentDbEventStore,
};
use causeway_tests::{
    kurrentdb::KurrentDbDouble,
    mongo::process::ServerProcess,
    scenarios::{
        feed::{WAIT, position, read_through, receive, register, subscribe},
        unique,
    },
};
use tonic::{Code, transport::Endpoint};

/// Events stored before the server starts, and the size of each one's product name.
const EVENTS: u64 = 12_000;
const NAME_BYTES: usize = 4_000;
/// Subscribers that never read, each on a connection of its own.
const STALLED: usize = 4;
/// What the peak may grow by: a store page, the read-ahead and HTTP/2's buffers per stalled
/// subscriber, with room for the allocator. Holding what they did not read would take
/// `STALLED` x 48 MB.
const BOUND_MIB: u64 = 80;

/// A `/proc/<pid>/status` figure in KiB (`VmHWM`: the peak resident set).
fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("{field} in /proc/{pid}/status"))
}

async fn store_big_events(store: &dyn EventStore) {
    let metadata = serde_json::json!({
        "eventType": "causeway.inventory.v1.ProductRegistered",
        "schemaVersion": 2,
        "commandId": "big", "correlationId": "big", "causationId": "big",
        "timestamp": "2026-01-01T00:00:00Z",
    });
    let name = "n".repeat(NAME_BYTES);
    for stream in 0..EVENTS / 500 {
        let events = (0..500)
            .map(|i| NewEvent {
                id: uuid::Uuid::new_v4(),
                event_type: "causeway.inventory.v1.ProductRegistered".into(),
                data: serde_json::to_vec(
                    &serde_json::json!({"sku": format!("big{stream}-{i}"), "name": name}),
                )
                .expect("json"),
                metadata: serde_json::to_vec(&metadata).expect("json"),
            })
            .collect();
        store
            .append(
                &format!("product-big{stream}"),
                ExpectedRevision::NoStream,
                events,
            )
            .await
            .expect("append");
    }
}

async fn stalled_endings(metrics: &str) -> bool {
    let Ok(answer) = reqwest::get(metrics).await else {
        return false;
    };
    let text = answer.text().await.unwrap_or_default();
    text.lines().any(|line| {
        line == format!("causeway_feed_subscriptions_ended_total{{reason=\"stalled\"}} {STALLED}")
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn a_consumer_that_never_reads_costs_bounded_memory_and_is_ended_while_others_flow() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = EmbeddedEventStore::open(dir.path(), Durability::Relaxed).expect("event store");
    store_big_events(&store).await;
    let head = store.head_position().await.expect("head").expect("events");
    drop(store);
    never_reading_consumers(dir.path(), &[], head).await;
}

/// The same against KurrentDB (the protocol double, in this process; the server is the binary).
#[tokio::test(flavor = "multi_thread")]
async fn on_kurrentdb_a_consumer_that_never_reads_is_bounded_and_ended_while_others_flow() {
    let (_double, url) = KurrentDbDouble::start().await;
    let store = KurrentDbEventStore::connect(&url).expect("the double");
    store_big_events(&store).await;
    let head = store.head_position().await.expect("head").expect("events");
    let dir = tempfile::tempdir().expect("temp dir");
    never_reading_consumers(dir.path(), &[("KURRENTDB_URL", url.as_str())], head).await;
}

/// `head`: the position of the last big event stored.
async fn never_reading_consumers(dir: &std::path::Path, env: &[(&str, &str)], head: u64) {
    let metrics_port = causeway_tests::tools::free_port();
    let metrics_listen = format!("127.0.0.1:{metrics_port}");
    let mut env = env.to_vec();
    env.push(("CAUSEWAY_FEED_STALL_TIMEOUT", "3s"));
    let server = ServerProcess::start_with_args(
        "all",
        dir,
        &env,
        &["--metrics-listen", &metrics_listen],
        None,
    );
    let channel = server.channel().await;

    // A subscriber that keeps up reads everything once, so the peak below starts warm.
    let mut fast = subscribe(&channel, SubscribeRequest::default()).await;
    read_through(&mut fast, head).await;
    let before = status_kib(server.pid(), "VmHWM");

    let mut stalled = Vec::new();
    for _ in 0..STALLED {
        let own = Endpoint::from_shared(server.url())
            .expect("url")
            .connect()
            .await
            .expect("connect");
        stalled.push(subscribe(&own, SubscribeRequest::default()).await);
    }
    // The others flow meanwhile.
    let sku = unique("flow");
    let mut last = register(&channel, &sku).await;
    for _ in 0..199 {
        last = receive(&channel, &sku).await;
    }
    let flowed = read_through(&mut fast, last).await;
    assert_eq!(
        flowed.len(),
        200,
        "every new event reached the subscriber that keeps up"
    );

    let metrics = format!("http://{metrics_listen}/metrics");
    let ended = async {
        while !stalled_endings(&metrics).await {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(WAIT, ended)
        .await
        .expect("the stalled subscribers are ended after the stall timeout");
    let after = status_kib(server.pid(), "VmHWM");

    for mut feed in stalled {
        let mut reached = 0;
        let status = loop {
            match feed.message().await {
                Ok(Some(response)) => reached = position(&response.item.expect("item")),
                Ok(None) => panic!("a stalled subscription ends with a status"),
                Err(status) => break status,
            }
        };
        assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
        assert!(status.message().contains("subscribe again"), "{status:?}");
        assert!(
            reached < head / 2,
            "only the read-ahead was held for it: {reached}"
        );
    }
    let one_more = receive(&channel, &sku).await;
    read_through(&mut fast, one_more).await;

    let grown_mib = after.saturating_sub(before) / 1024;
    let unread_mb = EVENTS * NAME_BYTES as u64 / 1_000_000;
    println!(
        "peak resident memory grew by {grown_mib} MiB (from {} MiB) with {STALLED} subscribers \
         that never read, each {unread_mb} MB behind",
        before / 1024
    );
    assert!(grown_mib < BOUND_MIB, "grew by {grown_mib} MiB");
}
