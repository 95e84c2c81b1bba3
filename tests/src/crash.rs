//! The crash harness: real `causeway-server` processes (a command role and a projection role)
//! under load from concurrent clients, killed with SIGKILL at a random moment, for several
//! rounds; then what every caller was promised is checked:
//!
//! - no acknowledged command is missing: its one event is in the log, at the acked position;
//! - every acknowledged `commandId` sent again answers `deduplicated` with the identical ack;
//! - every command whose answer was lost is applied at most once, also after it is sent again;
//! - the read models equal what a clean rebuild of them gives.
//!
//! The moment of each kill is drawn from a seed the test prints, so a failure can be replayed.
//! Rounds are bounded by acknowledgements counted, never by sleeping.

mod workload;

use std::{collections::BTreeMap, path::Path, sync::Arc, time::Duration};

use causeway_client::{
    admin::{
        ListProjectionsRequest, RebuildProjectionRequest,
        projection_admin_client::ProjectionAdminClient,
    },
    inventory::{ListProductsRequest, Product, inventory_queries_client::InventoryQueriesClient},
    orders::{ListOrdersRequest, Order, order_queries_client::OrderQueriesClient},
};
use causeway_server::store::{
    EventStore,
    embedded::{Durability, EmbeddedEventStore},
};
use tonic::transport::Channel;

pub use self::workload::load_until_killed;
use self::workload::resend;
pub use self::workload::{Ledger, Outcome, Seed};
use crate::mongo::process::ServerProcess;

/// Bound on every wait of the harness: far beyond what any step takes.
const BOUND: Duration = Duration::from_secs(120);

/// Where the processes keep their data, and how they reach their stores.
pub struct Deployment<'a> {
    /// The data directory every process shares.
    pub data_dir: &'a Path,
    /// Extra environment (`KURRENTDB_URL`, `MONGODB_URL`, ...).
    pub env: Vec<(&'static str, String)>,
    /// The event log as the processes write it, for the final check.
    pub events: Arc<dyn EventStore>,
}

impl<'a> Deployment<'a> {
    /// Every store embedded in `data_dir` (events written relaxed: a SIGKILL loses nothing the
    /// kernel has), no extra environment.
    pub fn embedded(data_dir: &'a Path) -> Self {
        let events = EmbeddedEventStore::open(data_dir, Durability::Relaxed)
            .unwrap_or_else(|e| panic!("opening the embedded event store: {e}"));
        Self {
            data_dir,
            env: Vec::new(),
            events: Arc::new(events),
        }
    }
}

impl Deployment<'_> {
    fn start(&self, role: &str) -> ServerProcess {
        self.start_with_args(role, &[], None)
    }

    /// Starts `causeway-server --role <role>` over this deployment's stores with more `args`,
    /// logging into `log` (or nowhere).
    pub fn start_with_args(&self, role: &str, args: &[&str], log: Option<&Path>) -> ServerProcess {
        let env: Vec<(&str, &str)> = self.env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        ServerProcess::start_with_args(role, self.data_dir, &env, args, log)
    }
}

/// Runs `rounds` rounds of load and SIGKILL over `deployment`, then checks every promise.
/// Returns the ledger, for the caller's own figures.
pub async fn run(deployment: &Deployment<'_>, rounds: usize, seed: Seed) -> Ledger {
    println!("crash harness seed: {seed:?}");
    let mut ledger = Ledger::default();
    let mut rng = seed;
    for round in 0..rounds {
        let command = deployment.start("command");
        let projection = deployment.start("projection");
        let channel = command.channel().await;
        let kill_after = 10 + rng.below(30);
        ledger = load_until_killed(channel, ledger, kill_after, &mut rng, move || {
            // Both processes at the same instant, while requests and batches are in flight.
            command.kill();
            projection.kill();
        })
        .await;
        println!("round {round}: {}", ledger.summary());
    }
    verify(deployment, &mut ledger).await;
    ledger
}

/// Every promise, checked against fresh processes over the same stores.
async fn verify(deployment: &Deployment<'_>, ledger: &mut Ledger) {
    let projection = deployment.start("projection");
    verify_with(deployment, ledger, &projection).await;
}

/// Every promise, checked against fresh command and query processes over the same stores and
/// the running `projection` process (the one that holds the projections' leases).
pub async fn verify_with(
    deployment: &Deployment<'_>,
    ledger: &mut Ledger,
    projection: &ServerProcess,
) {
    let command = deployment.start("command");
    // Each process has bound its port before the next one picks a free one.
    command.channel().await;
    let query = deployment.start("query");
    resend(command.channel().await, ledger).await;

    let log = read_log(&*deployment.events).await;
    for (command_id, events) in &log.by_command {
        assert_eq!(
            events.len(),
            1,
            "command {command_id} applied {} times",
            events.len()
        );
    }
    for (command_id, ack) in ledger.acknowledged() {
        let events = log
            .by_command
            .get(command_id)
            .map(Vec::as_slice)
            .unwrap_or_default();
        assert_eq!(
            events.iter().map(|(_, p)| *p).collect::<Vec<_>>(),
            vec![ack.position],
            "acknowledged command {command_id} is in the log at its acked position"
        );
    }

    let mut admin = ProjectionAdminClient::new(projection.channel().await);
    settled(&mut admin, &*deployment.events).await;
    let channel = query.channel().await;
    let before = read_models(&channel).await;
    for name in ["orders", "products"] {
        admin
            .rebuild_projection(RebuildProjectionRequest { name: name.into() })
            .await
            .expect("rebuild starts");
    }
    rebuilt(&mut admin).await;
    caught_up(&mut admin, &log.last_of_category).await;
    let after = read_models(&channel).await;
    assert_eq!(
        before.0.len() + before.1.len(),
        after.0.len() + after.1.len()
    );
    assert_eq!(before, after, "the read models equal a clean rebuild");
}

/// The log as the final check needs it.
struct Log {
    /// The (stream, position) of each command's events.
    by_command: BTreeMap<String, Vec<(String, u64)>>,
    /// The position of the newest event of each category.
    last_of_category: BTreeMap<String, u64>,
    /// The position of the newest event.
    end: Option<u64>,
}

async fn read_log(events: &dyn EventStore) -> Log {
    let mut log = Log {
        by_command: BTreeMap::new(),
        last_of_category: BTreeMap::new(),
        end: None,
    };
    let mut after = None;
    loop {
        let page = events.read_all(after, 1000).await.expect("read the log");
        let Some(last) = page.last() else {
            return log;
        };
        after = Some(last.position);
        log.end = after;
        for event in page {
            log.last_of_category
                .insert(event.category().to_owned(), event.position);
            let metadata: serde_json::Value =
                serde_json::from_slice(&event.metadata).unwrap_or_default();
            let Some(command_id) = metadata["commandId"].as_str() else {
                continue;
            };
            log.by_command
                .entry(command_id.to_owned())
                .or_default()
                .push((event.stream.clone(), event.position));
        }
    }
}

/// Whether the orders and products projections have applied their categories' newest events.
fn at(all: &[causeway_client::admin::ProjectionInfo], last: &BTreeMap<String, u64>) -> bool {
    let wanted = |name: &str| match name {
        "orders" => last.get("order").copied().unwrap_or(0),
        "products" => last.get("product").copied().unwrap_or(0),
        _ => 0,
    };
    all.iter()
        .all(|p| p.rebuilding_generation.is_none() && p.position >= wanted(&p.name))
}

/// Waits until the orders and products projections have applied their categories' newest
/// events.
async fn caught_up(admin: &mut ProjectionAdminClient<Channel>, last: &BTreeMap<String, u64>) {
    let deadline = tokio::time::Instant::now() + BOUND;
    loop {
        let all = projections(admin).await;
        if at(&all, last) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "projections stuck: {all:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until fulfilment has settled what the rounds left unsettled and the orders and
/// products projections have applied it: the log read again, every runner caught up with its
/// categories' newest events, and the log's end unchanged afterwards.
async fn settled(admin: &mut ProjectionAdminClient<Channel>, events: &dyn EventStore) {
    let deadline = tokio::time::Instant::now() + BOUND;
    loop {
        let log = read_log(events).await;
        let order = log.last_of_category.get("order").copied().unwrap_or(0);
        let all = projections(admin).await;
        let fulfilled = all
            .iter()
            .all(|p| p.name != "fulfilment" || p.position >= order);
        if fulfilled && at(&all, &log.last_of_category) && read_log(events).await.end == log.end {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not settled at {:?}: {all:?}",
            log.end
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until both rebuilds have switched readers over (generation 2, nothing rebuilding).
async fn rebuilt(admin: &mut ProjectionAdminClient<Channel>) {
    let deadline = tokio::time::Instant::now() + BOUND;
    loop {
        let all = projections(admin).await;
        let done = |name: &str| {
            all.iter()
                .any(|p| p.name == name && p.generation >= 2 && p.rebuilding_generation.is_none())
        };
        if done("orders") && done("products") {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "rebuild stuck: {all:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn projections(
    admin: &mut ProjectionAdminClient<Channel>,
) -> Vec<causeway_client::admin::ProjectionInfo> {
    admin
        .list_projections(ListProjectionsRequest {})
        .await
        .expect("admin answers")
        .into_inner()
        .projections
}

/// Every order and every product, as the query process reads them.
async fn read_models(channel: &Channel) -> (Vec<Order>, Vec<Product>) {
    let mut orders = Vec::new();
    let mut client = OrderQueriesClient::new(channel.clone());
    let mut token = String::new();
    loop {
        let page = client
            .list_orders(ListOrdersRequest {
                page_size: 200,
                page_token: token,
                ..ListOrdersRequest::default()
            })
            .await
            .expect("list orders")
            .into_inner();
        orders.extend(page.orders);
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    let mut products = Vec::new();
    let mut client = InventoryQueriesClient::new(channel.clone());
    let mut token = String::new();
    loop {
        let page = client
            .list_products(ListProductsRequest {
                page_size: 200,
                page_token: token,
                ..ListProductsRequest::default()
            })
            .await
            .expect("list products")
            .into_inner();
        products.extend(page.products);
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    (orders, products)
}
