//! A world for fulfilment to act in, in this process: the embedded stores in a temporary
//! directory, a kernel on them for what customers and staff do (place, ship, cancel), and
//! fulfilment itself started and stopped as a process would be: its subscription, deadline
//! read model and deadline worker, on whatever event store it is given (a [`Faulty`] one to
//! crash it). Reading state goes through the kernel, i.e. the aggregates, the truth.

use std::{sync::Arc, time::Duration};

use causeway_server::{
    fulfilment::{self, Fulfilment, domain::Status},
    inventory::{
        Product,
        domain::{ProductName, ReceiveStock, RegisterProduct},
    },
    kernel::{Aggregate, CommandContext, CommandHandler},
    lease::{LeaseMetrics, Leasing},
    orders::{
        Order,
        domain::{
            CancelOrder, Currency, CustomerId, Money, OrderId, OrderLine, PlaceOrder, Quantity,
            Reason, ShipOrder, Sku,
        },
    },
    projection::Projections,
    readstore::{ReadStore, embedded::EmbeddedReadStore},
    server::upcasters,
    store::{
        EventStore,
        embedded::{Durability, EmbeddedEventStore},
    },
};
use tempfile::TempDir;
use tokio::task::JoinSet;

/// The longest any wait for fulfilment lasts.
pub const WAIT: Duration = Duration::from_secs(60);

pub struct World {
    pub events: Arc<dyn EventStore>,
    pub reads: Arc<dyn ReadStore>,
    pub kernel: CommandHandler,
    _dir: TempDir,
}

impl World {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        Self::open(dir)
    }

    fn open(dir: TempDir) -> Self {
        let events: Arc<dyn EventStore> = Arc::new(
            EmbeddedEventStore::open(dir.path(), Durability::Relaxed).expect("event store"),
        );
        let reads: Arc<dyn ReadStore> =
            Arc::new(EmbeddedReadStore::open(dir.path()).expect("read store"));
        let kernel = CommandHandler::new(events.clone(), Arc::new(upcasters()));
        Self {
            events,
            reads,
            kernel,
            _dir: dir,
        }
    }

    /// Fulfilment running on `events` (this world's store, or a faulty wrapper of it), giving
    /// each order `timeout`.
    pub fn fulfil(&self, events: Arc<dyn EventStore>, timeout: Duration) -> JoinSet<()> {
        let mut tasks = JoinSet::new();
        let upcasters = Arc::new(upcasters());
        let commands = CommandHandler::new(events.clone(), upcasters.clone());
        fulfilment::start(
            events,
            self.reads.clone(),
            commands,
            upcasters,
            &fulfilment::Setup {
                timeout,
                leasing: Leasing::new(
                    self.reads.leases(),
                    // One replica: a restart after a crash takes its lease back at once.
                    "world".to_owned(),
                    causeway_server::lease::DEFAULT_TTL,
                    LeaseMetrics::default(),
                ),
            },
            &Projections::default(),
            &mut tasks,
        );
        tasks
    }

    async fn run<C: causeway_server::kernel::Decision>(&self, command: &C) {
        let ctx = CommandContext::new(uuid::Uuid::now_v7().to_string());
        self.kernel.handle(&ctx, command).await.expect("command");
    }

    pub async fn stock(&self, sku: &str, units: u64) {
        self.run(&RegisterProduct {
            sku: sku_of(sku),
            name: ProductName::parse(sku).unwrap(),
        })
        .await;
        self.run(&ReceiveStock {
            sku: sku_of(sku),
            quantity: Quantity::parse(units).unwrap(),
        })
        .await;
    }

    /// Places order `id` of `(sku, units)` lines, for fulfilment.
    pub async fn place(&self, id: &str, lines: &[(&str, u64)]) {
        self.run(&PlaceOrder {
            order_id: order_id(id),
            customer_id: CustomerId::parse("ada").unwrap(),
            currency: Currency::parse("EUR").unwrap(),
            lines: lines
                .iter()
                .map(|(sku, units)| OrderLine {
                    sku: sku_of(sku),
                    quantity: Quantity::parse(*units).unwrap(),
                    unit_price: Money::parse(100).unwrap(),
                })
                .collect(),
            awaits_fulfilment: true,
        })
        .await;
    }

    pub async fn ship(&self, id: &str) {
        self.run(&ShipOrder {
            order_id: order_id(id),
        })
        .await;
    }

    pub async fn cancel(&self, id: &str) {
        self.run(&CancelOrder {
            order_id: order_id(id),
            reason: Reason::parse("changed my mind").unwrap(),
            requested_by: None,
        })
        .await;
    }

    pub async fn product(&self, sku: &str) -> Product {
        let stream = Product::stream_id(sku);
        self.kernel.load::<Product>(&stream).await.unwrap().state
    }

    pub async fn order(&self, id: &str) -> Order {
        let stream = Order::stream_id(id);
        self.kernel.load::<Order>(&stream).await.unwrap().state
    }

    pub async fn fulfilment(&self, id: &str) -> Fulfilment {
        let stream = Fulfilment::stream_id(id);
        self.kernel.load::<Fulfilment>(&stream).await.unwrap().state
    }

    /// Waits (bounded) until order `id`'s fulfilment is in `status`.
    pub async fn until(&self, id: &str, status: Status) {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let now = self.fulfilment(id).await;
            if now.status() == Some(status) {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{id} never reached {status:?}: {now:?}"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// How many events of `event_type` name each reservation in `sku`'s stream.
    pub async fn per_reservation(&self, sku: &str, event_type: &str) -> Vec<(String, usize)> {
        let records = self
            .events
            .read_stream(&Product::stream_id(sku), 0)
            .await
            .unwrap();
        let mut counts = std::collections::BTreeMap::new();
        for record in records.iter().filter(|r| r.event_type == event_type) {
            let data: serde_json::Value = serde_json::from_slice(&record.data).unwrap();
            let id = data["reservationId"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            *counts.entry(id).or_insert(0) += 1;
        }
        counts.into_iter().collect()
    }
}

pub fn order_id(id: &str) -> OrderId {
    OrderId::parse(id).unwrap()
}

fn sku_of(sku: &str) -> Sku {
    Sku::parse(sku).unwrap()
}
