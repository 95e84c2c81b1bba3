//! Data sets written straight through the `EventStore` port, in the exact shape the kernel
//! stores: proto3 JSON payloads encoded by the inventory context's own `DomainEvent` impl and
//! the kernel's JSON metadata. Every stream is a product: `ProductRegistered` (schema v2), then
//! `StockReceived`s, so the server's commands, queries and projections accept it as their own.

use std::{sync::Arc, time::SystemTime};

use causeway_server::{
    inventory::domain::{ProductEvent, ProductName, Quantity, Sku},
    kernel::{DomainEvent, EventMetadata},
    store::{EventStore, ExpectedRevision, NewEvent},
};
use futures::{StreamExt, TryStreamExt, stream};
use uuid::Uuid;

use super::{BenchError, error::Context};

/// Most events in one seeding append (larger streams take several, each at its exact revision).
const APPEND_CHUNK: usize = 500;
/// Streams seeded concurrently, so the store's group commit batches them.
const SEED_IN_FLIGHT: usize = 32;

/// The sku of stream `n` of data set `set` in run `run`; the stream is `product-<sku>`.
pub fn sku(run: &str, set: &str, n: usize) -> String {
    format!("{run}-{set}-{n}")
}

/// The stream name of `sku`.
pub fn stream(sku: &str) -> String {
    format!("product-{sku}")
}

/// Metadata as the kernel writes it for a command without actor, tenant or trace.
fn metadata(event: &ProductEvent, command_id: &str, timestamp: &str) -> Vec<u8> {
    EventMetadata {
        event_type: event.event_type().to_owned(),
        schema_version: event.schema_version(),
        command_id: command_id.to_owned(),
        correlation_id: command_id.to_owned(),
        causation_id: command_id.to_owned(),
        actor: None,
        tenant: None,
        timestamp: timestamp.to_owned(),
        traceparent: None,
        fingerprint: None,
    }
    .to_json()
}

fn now() -> String {
    humantime::format_rfc3339_millis(SystemTime::now()).to_string()
}

/// One encoded event, ready to append.
fn encoded(event: &ProductEvent, command_id: &str, timestamp: &str) -> NewEvent {
    NewEvent {
        id: Uuid::new_v4(),
        event_type: event.event_type().to_owned(),
        data: event.encode(),
        metadata: metadata(event, command_id, timestamp),
    }
}

/// `sku` as the domain's value; seeded skus are the bench's own, never empty.
fn product(sku: &str) -> Sku {
    Sku::recorded(sku).unwrap_or_else(|_| panic!("an empty sku was seeded"))
}

/// One unit of `sku` arrived.
fn received_one(sku: &str) -> ProductEvent {
    ProductEvent::StockReceived {
        sku: product(sku),
        quantity: Quantity::recorded(1).unwrap_or_else(|_| unreachable!("1 is a quantity")),
    }
}

/// A `StockReceived` of one unit for `sku`, as the raw-store baselines append it.
pub fn stock_received(sku: &str) -> NewEvent {
    let event = received_one(sku);
    encoded(&event, &Uuid::now_v7().to_string(), &now())
}

/// The `count` events of product `sku`'s stream: registration, then one-unit receipts. Each
/// kind is encoded once and copied with a fresh id, which keeps seeding a million events cheap
/// without changing a byte of what is stored.
pub fn product_events(sku: &str, count: usize) -> Vec<NewEvent> {
    let timestamp = now();
    let command_id = Uuid::now_v7().to_string();
    let registered = encoded(
        &ProductEvent::Registered {
            sku: product(sku),
            name: ProductName::recorded(&format!("Benchmark product {sku}")),
        },
        &command_id,
        &timestamp,
    );
    let received = encoded(&received_one(sku), &command_id, &timestamp);
    let mut events = Vec::with_capacity(count);
    if count > 0 {
        events.push(registered);
    }
    while events.len() < count {
        events.push(NewEvent {
            id: Uuid::new_v4(),
            ..received.clone()
        });
    }
    events
}

/// Writes each `(sku, events)` product stream, [`SEED_IN_FLIGHT`] streams at a time; returns
/// the number of events written. Streams are generated as they are written, so a million events
/// never sit in memory at once.
pub async fn products(
    store: &Arc<dyn EventStore>,
    streams: Vec<(String, usize)>,
) -> Result<u64, BenchError> {
    stream::iter(streams)
        .map(|(sku, count)| {
            let store = Arc::clone(store);
            async move { one_stream(&*store, &sku, count).await }
        })
        .buffer_unordered(SEED_IN_FLIGHT)
        .try_fold(0u64, |total, written| async move { Ok(total + written) })
        .await
}

async fn one_stream(store: &dyn EventStore, sku: &str, count: usize) -> Result<u64, BenchError> {
    let name = stream(sku);
    let mut events = product_events(sku, count);
    let mut expected = ExpectedRevision::NoStream;
    let mut written = 0u64;
    while !events.is_empty() {
        let rest = events.split_off(events.len().min(APPEND_CHUNK));
        let chunk = std::mem::replace(&mut events, rest);
        written += chunk.len() as u64;
        let appended = store
            .append(&name, expected, chunk)
            .await
            .doing(&format!("seeding {name}"))?;
        expected = ExpectedRevision::Exact(appended.revision);
    }
    Ok(written)
}
