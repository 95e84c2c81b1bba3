//! Criterion benchmarks of the in-process hot paths every command, query and projection runs:
//! event encode/decode (proto3 JSON through the descriptor pool), upcasting an old event on
//! read, folding an aggregate of 1,000 events, and translating a read-model filter to SQL.
//!
//! Run with `cargo bench -p causeway-server --bench hot_paths`. The end-to-end figures (gRPC,
//! durable stores, projections) come from `causeway-bench` (`scripts/bench`); these isolate the
//! CPU-bound pieces so a regression in one of them is seen without a server.
//!
//! Filter translation (`readstore::embedded::sql`) is private to the adapter, so it is measured
//! through the smallest public entry that runs it, `ReadStore::query` on an empty collection
//! (validate, translate, fetch the cached statement, run it on the blocking pool), beside
//! `ReadStore::get` of a missing id, which pays the same blocking-pool round trip and a fixed
//! statement but translates nothing: the difference is what the translation path costs.

use std::{hint::black_box, sync::Arc};

use causeway_server::{
    inventory::{
        Product, ProductEvent,
        domain::{ProductName, Quantity, ReservationId, Sku},
        events::{PRODUCT_REGISTERED, STOCK_RESERVED},
    },
    kernel::{Aggregate, DomainEvent},
    orders::{
        OrderEvent,
        domain::{Currency, CustomerId, Money, OrderId, OrderLine},
        events::ORDER_PLACED,
    },
    readstore::{Filter, Query, ReadStore, SortKey, embedded::EmbeddedReadStore},
    store::RecordedEvent,
};
use criterion::{Criterion, criterion_group, criterion_main};
use uuid::Uuid;

fn sku(raw: &str) -> Sku {
    Sku::parse(raw).unwrap()
}

fn units(n: u64) -> Quantity {
    Quantity::parse(n).unwrap()
}

fn reservation(n: usize) -> ReservationId {
    ReservationId::parse(&format!("reservation-{n}")).unwrap()
}

fn reserved(n: usize) -> ProductEvent {
    ProductEvent::StockReserved {
        sku: sku("sku-bench-1"),
        quantity: units(3),
        reservation_id: reservation(n),
    }
}

fn placed() -> OrderEvent {
    OrderEvent::Placed {
        order_id: OrderId::parse("0190f0c4-9b1e-7cc2-9a57-3f1d2e4b5a60").unwrap(),
        customer_id: CustomerId::parse("customer-42").unwrap(),
        currency: Currency::parse("EUR").unwrap(),
        lines: (0..3)
            .map(|i| OrderLine {
                sku: sku(&format!("sku-{i}")),
                quantity: units(2),
                unit_price: Money::parse(1_999).unwrap(),
            })
            .collect(),
        total: Money::parse(11_994).unwrap(),
        awaits_fulfilment: true,
    }
}

fn recorded(event_type: &str, revision: u64, data: Vec<u8>, schema_version: u32) -> RecordedEvent {
    RecordedEvent {
        id: Uuid::nil(),
        stream: "product-sku-bench-1".into(),
        revision,
        position: revision + 1,
        event_type: event_type.into(),
        data,
        metadata: format!(
            r#"{{"eventType":"{event_type}","schemaVersion":{schema_version},"commandId":"c","correlationId":"c","causationId":"c","timestamp":"2026-01-01T00:00:00.000Z"}}"#
        )
        .into_bytes(),
        created_micros: 0,
    }
}

fn codec(c: &mut Criterion) {
    let stock = reserved(1);
    let stock_json = stock.encode();
    let order = placed();
    let order_json = order.encode();
    c.bench_function("encode StockReserved to proto3 JSON", |b| {
        b.iter(|| black_box(&stock).encode())
    });
    c.bench_function("decode StockReserved from proto3 JSON", |b| {
        b.iter(|| ProductEvent::decode(STOCK_RESERVED, black_box(&stock_json)))
    });
    c.bench_function("encode OrderPlaced (3 lines) to proto3 JSON", |b| {
        b.iter(|| black_box(&order).encode())
    });
    c.bench_function("decode OrderPlaced (3 lines) from proto3 JSON", |b| {
        b.iter(|| OrderEvent::decode(ORDER_PLACED, black_box(&order_json)))
    });
}

fn upcasting(c: &mut Criterion) {
    let upcasters = causeway_server::server::upcasters();
    let v1 = recorded(
        PRODUCT_REGISTERED,
        0,
        br#"{"sku":"sku-bench-1","title":"Kettle"}"#.to_vec(),
        1,
    );
    let v2 = recorded(
        PRODUCT_REGISTERED,
        0,
        br#"{"sku":"sku-bench-1","name":"Kettle"}"#.to_vec(),
        2,
    );
    c.bench_function(
        "Upcasters::decode ProductRegistered v1 (upcast + decode)",
        |b| b.iter(|| upcasters.decode::<ProductEvent>(black_box(&v1))),
    );
    c.bench_function(
        "Upcasters::decode ProductRegistered v2 (decode only)",
        |b| b.iter(|| upcasters.decode::<ProductEvent>(black_box(&v2))),
    );
}

/// A product stream of 1,000 events: registration, receipts, reservations and releases.
fn product_events() -> Vec<ProductEvent> {
    let mut events = vec![ProductEvent::Registered {
        sku: sku("sku-bench-1"),
        name: ProductName::parse("Kettle").unwrap(),
    }];
    for n in 1..1_000 {
        events.push(match n % 3 {
            0 => ProductEvent::StockReceived {
                sku: sku("sku-bench-1"),
                quantity: units(10),
            },
            1 => reserved(n),
            _ => ProductEvent::StockReleased {
                sku: sku("sku-bench-1"),
                quantity: units(3),
                reservation_id: reservation(n - 1),
            },
        });
    }
    events
}

fn fold(c: &mut Criterion) {
    let events = product_events();
    let upcasters = causeway_server::server::upcasters();
    let records: Vec<RecordedEvent> = events
        .iter()
        .enumerate()
        .map(|(i, e)| recorded(e.event_type(), i as u64, e.encode(), e.schema_version()))
        .collect();
    c.bench_function("fold Product over 1,000 decoded events", |b| {
        b.iter(|| Product::fold(black_box(&events)))
    });
    c.bench_function("decode + fold Product over 1,000 stored events", |b| {
        b.iter(|| {
            let mut state = Product::default();
            for record in black_box(&records) {
                if let Ok(event) = upcasters.decode::<ProductEvent>(record) {
                    state.apply(&event);
                }
            }
            state
        })
    });
}

fn filter_translation(c: &mut Criterion) {
    let Ok(dir) = tempfile::tempdir() else { return };
    let Ok(store) = EmbeddedReadStore::open(dir.path()) else {
        return;
    };
    let store = Arc::new(store);
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return;
    };
    let query = Query::new("orders")
        .with_filter(Filter::and([
            Filter::eq("customerId", "customer-42"),
            Filter::is_in("status", ["ORDER_STATUS_PLACED", "ORDER_STATUS_CONFIRMED"]),
            Filter::between("totalMinor", 1_000, 100_000),
        ]))
        .with_sort(SortKey::asc("placedAt"))
        .with_limit(50);
    c.bench_function("Query::validate (and, eq, in, range; one sort key)", |b| {
        b.iter(|| black_box(&query).validate())
    });
    c.bench_function(
        "ReadStore::query, same filter, empty collection (translation path)",
        |b| b.iter(|| runtime.block_on(store.query(black_box(&query)))),
    );
    c.bench_function(
        "ReadStore::get of a missing id (same round trip, no translation)",
        |b| b.iter(|| runtime.block_on(store.get("orders", black_box("missing")))),
    );
}

criterion_group!(hot_paths, codec, upcasting, fold, filter_translation);
criterion_main!(hot_paths);
