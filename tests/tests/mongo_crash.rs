//! Crashes of a projection writing to MongoDB, on both commit paths, end with read models equal
//! to a clean rebuild and no event applied twice:
//! - in process: a counting projection (no revision guard, so a double application would show as
//!   a wrong count) whose runner is aborted between batches and mid-batch (a batch that wrote its
//!   documents and then "crashed" before its checkpoint), again and again while events flow;
//! - as processes: a `--role projection` server killed with SIGKILL while catching up a backlog
//!   of orders, restarted, and compared with a rebuild.

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use causeway_client::admin::{
    ListProjectionsRequest, ProjectionInfo, RebuildProjectionRequest,
    projection_admin_client::ProjectionAdminClient,
};
use causeway_server::{
    kernel::{CommandContext, CommandHandler},
    orders::domain::{Currency, CustomerId, Money, OrderId, OrderLine, PlaceOrder, Quantity, Sku},
    projection::{BatchView, Projection, ProjectionError, ProjectionRunner, Projections},
    readstore::{IndexSpec, Query, ReadStore, conformance::walk, mongodb::MongoReadStore},
    server::upcasters,
    store::{
        EventStore, ExpectedRevision, NewEvent, RecordedEvent,
        embedded::{Durability, EmbeddedEventStore},
    },
};
use causeway_tests::mongo::{MongoServer, Topology, process::ServerProcess, unique_database};
use serde_json::{Value, json};
use tonic::async_trait;
use tonic::transport::Channel;

const WAIT: Duration = Duration::from_secs(60);
const STREAMS: usize = 40;
/// Orders in the backlog of the process test: four batches of the runner's 500.
const ORDERS: u32 = 2000;

/// Counts the events of each `tally-<n>` stream by read-modify-write, with no guard at all:
/// an event applied twice, or a batch folded onto documents it already wrote, miscounts.
struct Tally;

#[async_trait]
impl Projection for Tally {
    fn name(&self) -> &'static str {
        "tallies"
    }

    fn categories(&self) -> &'static [&'static str] {
        &["tally"]
    }

    fn indexes(&self) -> Vec<IndexSpec> {
        vec![IndexSpec {
            collection: "tallies".into(),
            fields: vec!["count".into()],
            unique: false,
        }]
    }

    async fn apply(
        &self,
        event: &RecordedEvent,
        view: &mut BatchView<'_>,
    ) -> Result<(), ProjectionError> {
        let mut doc = view
            .get("tallies", &event.stream)
            .await?
            .unwrap_or_else(|| json!({ "count": 0 }));
        doc["count"] = json!(doc["count"].as_u64().unwrap_or(0) + 1);
        view.put("tallies", &event.stream, doc);
        Ok(())
    }
}

/// Appends `per_stream` events to each stream; returns the head position.
async fn append(events: &Arc<dyn EventStore>, per_stream: usize) -> u64 {
    let mut head = 0;
    for stream in 0..STREAMS {
        let batch = (0..per_stream)
            .map(|_| NewEvent {
                id: uuid::Uuid::new_v4(),
                event_type: "test.Tallied".into(),
                data: b"{}".to_vec(),
                metadata: b"{}".to_vec(),
            })
            .collect();
        head = events
            .append(&format!("tally-{stream}"), ExpectedRevision::Any, batch)
            .await
            .expect("append")
            .position;
    }
    head
}

/// Every tally document of `reads` (generation 1), by stream.
async fn tallies(reads: Arc<dyn ReadStore>) -> BTreeMap<String, Value> {
    walk(&reads, Query::new("tallies_g1").with_limit(500))
        .await
        .into_iter()
        .map(|doc| (doc.id, doc.body))
        .collect()
}

/// A runner of `Tally` on `reads`, spawned, with its own status registry.
fn spawn(
    events: &Arc<dyn EventStore>,
    reads: &Arc<MongoReadStore>,
) -> (tokio::task::JoinHandle<()>, Projections) {
    let projections = Projections::default();
    let reads: Arc<dyn ReadStore> = reads.clone();
    let (runner, _handle) =
        ProjectionRunner::new(events.clone(), reads, Arc::new(Tally), &projections);
    (tokio::spawn(runner.run()), projections)
}

/// Waits until the runner's status satisfies `done`.
async fn until(
    projections: &Projections,
    done: impl Fn(&causeway_server::projection::ProjectionStatus) -> bool,
) {
    let mut status = projections.watch("tallies").expect("registered");
    tokio::time::timeout(WAIT, status.wait_for(|s| done(s)))
        .await
        .expect("in time")
        .expect("runner alive");
}

async fn aborted_runners_apply_each_event_once(topology: Topology) {
    let mongo = MongoServer::start(topology).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let events: Arc<dyn EventStore> =
        Arc::new(EmbeddedEventStore::open(dir.path(), Durability::Relaxed).expect("event store"));
    let reads = mongo.store().await;
    let mut head = append(&events, 100).await;
    let mut reached = 0;
    for round in 0..6 {
        let (task, projections) = spawn(&events, &reads);
        if round % 2 == 0 {
            // Mid-batch: the next batch writes its documents and dies before its checkpoint.
            reads.fail_next_apply_after_documents();
            until(&projections, |s| s.last_error.is_some()).await;
        } else {
            // Between batches: as soon as one more batch is committed.
            until(&projections, |s| s.position > Some(reached)).await;
        }
        task.abort();
        let _ = task.await;
        reached = reads
            .checkpoint("tallies_g1")
            .await
            .expect("checkpoint")
            .unwrap_or(0);
        // Events keep coming while the projection is down.
        head = append(&events, 5).await;
    }
    assert!(
        reached < head,
        "the crashes happened before catching up ({reached} of {head})"
    );
    let (task, projections) = spawn(&events, &reads);
    until(&projections, |s| s.position >= Some(head)).await;
    task.abort();

    let per_stream = 100 + 6 * 5;
    let resumed = tallies(reads.clone()).await;
    assert_eq!(resumed.len(), STREAMS);
    for (stream, doc) in &resumed {
        assert_eq!(
            doc["count"],
            json!(per_stream),
            "{stream}: each event counted once"
        );
    }
    let clean = mongo.store().await;
    let (task, projections) = spawn(&events, &clean);
    until(&projections, |s| s.position >= Some(head)).await;
    task.abort();
    assert_eq!(
        tallies(clean).await,
        resumed,
        "a clean rebuild gives the same documents"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn replica_set_aborted_runners_apply_each_event_once() {
    aborted_runners_apply_each_event_once(Topology::ReplicaSet).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn standalone_aborted_runners_apply_each_event_once() {
    aborted_runners_apply_each_event_once(Topology::Standalone).await;
}

async fn orders(
    admin: &mut ProjectionAdminClient<Channel>,
    done: impl Fn(&ProjectionInfo) -> bool,
) -> ProjectionInfo {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let info = admin
            .list_projections(ListProjectionsRequest {})
            .await
            .expect("admin answers")
            .into_inner()
            .projections
            .into_iter()
            .find(|p| p.name == "orders")
            .expect("orders projection");
        if done(&info) {
            return info;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "gave up waiting: {info:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn a_killed_projection_process_resumes_to_a_clean_rebuild(topology: Topology) {
    let mongo = MongoServer::start(topology).await;
    let database = unique_database();
    let data = tempfile::tempdir().expect("temp dir");
    let store =
        Arc::new(EmbeddedEventStore::open(data.path(), Durability::Relaxed).expect("store"));
    let kernel = CommandHandler::new(store.clone(), Arc::new(upcasters()));
    let mut head = 0;
    for i in 0u32..ORDERS {
        let id = format!("backlog-{i}");
        let command = PlaceOrder {
            order_id: OrderId::parse(&id).unwrap(),
            customer_id: CustomerId::parse(&format!("customer-{}", i % 17)).unwrap(),
            currency: Currency::parse("EUR").unwrap(),
            lines: vec![OrderLine {
                sku: Sku::parse("sku-1").unwrap(),
                quantity: Quantity::parse(u64::from(1 + i % 5)).unwrap(),
                unit_price: Money::parse(250).unwrap(),
            }],
            awaits_fulfilment: false,
        };
        head = kernel
            .handle(&CommandContext::new(format!("seed-{i}")), &command)
            .await
            .expect("seed")
            .position;
    }
    drop(kernel);
    drop(store);

    let process = ServerProcess::start("projection", data.path(), &mongo, &database, None);
    let mut admin = ProjectionAdminClient::new(process.channel().await);
    let info = orders(&mut admin, |p| p.position > 0).await;
    process.kill(); // most likely in the middle of the next batch
    assert!(
        info.position < head,
        "killed before catching up ({} of {head})",
        info.position
    );

    let process = ServerProcess::start("projection", data.path(), &mongo, &database, None);
    let mut admin = ProjectionAdminClient::new(process.channel().await);
    orders(&mut admin, |p| p.position >= head).await;
    let reads: Arc<dyn ReadStore> = mongo.store_in(&database).await;
    let resumed = walk(&reads, Query::new("orders_g1").with_limit(1000)).await;
    assert_eq!(resumed.len(), ORDERS as usize);

    admin
        .rebuild_projection(RebuildProjectionRequest {
            name: "orders".into(),
        })
        .await
        .expect("rebuild");
    orders(&mut admin, |p| {
        p.generation == 2 && p.rebuilding_generation.is_none()
    })
    .await;
    let rebuilt = walk(&reads, Query::new("orders_g2").with_limit(1000)).await;
    assert_eq!(
        rebuilt, resumed,
        "the resumed read model equals a clean rebuild"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn replica_set_a_killed_projection_process_resumes_to_a_clean_rebuild() {
    a_killed_projection_process_resumes_to_a_clean_rebuild(Topology::ReplicaSet).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn standalone_a_killed_projection_process_resumes_to_a_clean_rebuild() {
    a_killed_projection_process_resumes_to_a_clean_rebuild(Topology::Standalone).await;
}
