//! The runner against the real embedded stores, with a counting projection that proves each
//! event is applied exactly once: catch-up then live, faults between documents and checkpoint,
//! restarts mid-stream, poison events, parked documents, and rebuilds.

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::task::JoinHandle;

use super::{
    BatchView, Projection, ProjectionError, ProjectionRunner, ProjectionStatus, Projections,
    consistency::ReadYourWrites, generation, runner::PARKED_COLLECTION, runner::RunnerHandle,
};
use crate::{
    kernel::DecodeError,
    readstore::{IndexSpec, Query, ReadStore, embedded::EmbeddedReadStore},
    store::{
        EventStore, ExpectedRevision, NewEvent, RecordedEvent,
        embedded::{Durability, EmbeddedEventStore},
    },
};

const WAIT: Duration = Duration::from_secs(20);

/// Counts events per `tally-<id>` stream; an optional `label` must be unique across tallies.
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
            fields: vec!["label".into()],
            unique: true,
        }]
    }

    async fn apply(
        &self,
        event: &RecordedEvent,
        view: &mut BatchView<'_>,
    ) -> Result<(), ProjectionError> {
        let payload: Value =
            serde_json::from_slice(&event.data).map_err(|e| DecodeError::Malformed {
                event_type: event.event_type.clone(),
                reason: e.to_string(),
            })?;
        let mut doc = view
            .get("tallies", &event.stream)
            .await?
            .unwrap_or_else(|| json!({ "count": 0 }));
        doc["count"] = json!(doc["count"].as_u64().unwrap_or(0) + 1);
        doc["revision"] = json!(event.revision);
        if let Some(label) = payload.get("label") {
            doc["label"] = label.clone();
        }
        view.put("tallies", &event.stream, doc);
        Ok(())
    }
}

struct Fixture {
    events: Arc<dyn EventStore>,
    reads: Arc<EmbeddedReadStore>,
    projections: Projections,
    _dir: TempDir,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        Self {
            events: Arc::new(EmbeddedEventStore::open(dir.path(), Durability::Relaxed).unwrap()),
            reads: Arc::new(EmbeddedReadStore::open(dir.path()).unwrap()),
            projections: Projections::default(),
            _dir: dir,
        }
    }

    fn start(&self) -> (JoinHandle<()>, RunnerHandle) {
        let reads: Arc<dyn ReadStore> = self.reads.clone();
        let (runner, handle) = ProjectionRunner::new(
            self.events.clone(),
            reads,
            Arc::new(Tally),
            &self.projections,
        );
        (tokio::spawn(runner.run()), handle)
    }

    async fn append(&self, stream: &str, payload: &[u8]) -> u64 {
        let event = NewEvent {
            id: uuid::Uuid::new_v4(),
            event_type: "test.Tallied".into(),
            data: payload.to_vec(),
            metadata: b"{}".to_vec(),
        };
        self.events
            .append(stream, ExpectedRevision::Any, vec![event])
            .await
            .expect("append")
            .position
    }

    async fn reached(&self, position: u64) {
        let reads: Arc<dyn ReadStore> = self.reads.clone();
        ReadYourWrites::new(self.projections.clone(), reads)
            .wait("tallies", position, WAIT)
            .await
            .expect("projection reaches the position");
    }

    async fn status_until(&self, done: impl Fn(&ProjectionStatus) -> bool) -> ProjectionStatus {
        let mut status = self.projections.watch("tallies").expect("registered");
        tokio::time::timeout(WAIT, status.wait_for(|s| done(s)))
            .await
            .expect("status in time")
            .expect("runner alive")
            .clone()
    }

    async fn documents(&self, generation: u64) -> Vec<(String, Value)> {
        all_documents(&*self.reads, &generation::collection("tallies", generation)).await
    }
}

async fn all_documents(reads: &dyn ReadStore, collection: &str) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = reads
            .query(&Query::new(collection).with_limit(500).with_after(after))
            .await
            .expect("query");
        out.extend(page.documents.into_iter().map(|d| (d.id, d.body)));
        match page.next {
            Some(next) => after = Some(next),
            None => return out,
        }
    }
}

/// The documents a clean run from position 0 produces, in a store of their own.
async fn clean_rebuild(events: &Arc<dyn EventStore>) -> Vec<(String, Value)> {
    let dir = tempfile::tempdir().expect("temp dir");
    let reads: Arc<dyn ReadStore> = Arc::new(EmbeddedReadStore::open(dir.path()).unwrap());
    let projections = Projections::default();
    let (runner, _handle) =
        ProjectionRunner::new(events.clone(), reads.clone(), Arc::new(Tally), &projections);
    let task = tokio::spawn(runner.run());
    let head = events.head_position().await.unwrap().unwrap_or(0);
    ReadYourWrites::new(projections, reads.clone())
        .wait("tallies", head, WAIT)
        .await
        .expect("clean rebuild reaches the head");
    task.abort();
    all_documents(&*reads, &generation::collection("tallies", 1)).await
}

#[tokio::test(flavor = "multi_thread")]
async fn catches_up_then_follows_live_and_checkpoints_past_other_categories() {
    let f = Fixture::new();
    for i in 0..30 {
        f.append(&format!("tally-{}", i % 3), b"{}").await;
    }
    let (_task, _) = f.start();
    f.reached(30).await;
    let counts: Vec<u64> = f
        .documents(1)
        .await
        .iter()
        .map(|(_, d)| d["count"].as_u64().unwrap())
        .collect();
    assert_eq!(counts, vec![10, 10, 10]);

    let live = f.append("tally-0", b"{}").await;
    f.reached(live).await;
    // An event the projection never sees still counts as reached once it is caught up.
    let other = f.append("other-1", b"{}").await;
    f.reached(other).await;
    let status = f.status_until(|s| s.position >= Some(other)).await;
    assert!(status.healthy);
    assert_eq!(f.documents(1).await[0].1["count"], 11);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fault_between_documents_and_checkpoint_leaves_the_same_read_model_as_a_clean_run() {
    let f = Fixture::new();
    let (_task, _) = f.start();
    f.reads.fail_next_apply_after_documents();
    let mut last = 0;
    for i in 0..50 {
        last = f.append(&format!("tally-{}", i % 5), b"{}").await;
    }
    f.reached(last).await;
    assert_eq!(f.documents(1).await, clean_rebuild(&f.events).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_runner_killed_mid_stream_resumes_without_skipping_or_double_applying() {
    let f = Fixture::new();
    let mut last = 0;
    for chunk in 0..20 {
        for i in 0..100 {
            last = f
                .append(&format!("tally-{}", (chunk * 100 + i) % 7), b"{}")
                .await;
        }
    }
    let (task, _) = f.start();
    f.status_until(|s| s.position.is_some_and(|p| p > 0)).await;
    task.abort();
    let _ = task.await;
    let (_task, _) = f.start();
    f.reached(last).await;
    let total: u64 = f
        .documents(1)
        .await
        .iter()
        .map(|(_, d)| d["count"].as_u64().unwrap())
        .sum();
    assert_eq!(total, 2000, "every event counted exactly once");
    assert_eq!(f.documents(1).await, clean_rebuild(&f.events).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_poison_event_is_reported_with_its_position_and_the_runner_keeps_retrying() {
    let f = Fixture::new();
    let good = f.append("tally-1", b"{}").await;
    let poison = f.append("tally-2", b"not json").await;
    f.append("tally-1", b"{}").await;
    let (task, _) = f.start();
    let status = f.status_until(|s| s.stuck.is_some()).await;
    let stuck = status.stuck.expect("stuck event");
    assert_eq!(
        (stuck.stream.as_str(), stuck.revision, stuck.position),
        ("tally-2", 0, poison)
    );
    assert!(!status.healthy);
    assert_eq!(
        status.position,
        Some(good),
        "events before the poison are applied"
    );
    assert!(!task.is_finished(), "the runner does not stop");
}

#[tokio::test(flavor = "multi_thread")]
async fn documents_the_read_store_refuses_are_parked_and_the_rest_flows() {
    let f = Fixture::new();
    f.append("tally-1", br#"{"label":"same"}"#).await;
    let refused = f.append("tally-2", br#"{"label":"same"}"#).await;
    let last = f.append("tally-3", br#"{"label":"other"}"#).await;
    let (_task, _) = f.start();
    f.reached(last).await;
    let status = f.status_until(|s| s.parked == 1).await;
    assert!(status.healthy);
    let parked = f
        .reads
        .get(PARKED_COLLECTION, &format!("tallies@{refused}"))
        .await
        .unwrap()
        .expect("parked event recorded");
    assert_eq!(parked.body["stream"], "tally-2");
    let ids: Vec<String> = f.documents(1).await.into_iter().map(|(id, _)| id).collect();
    assert_eq!(ids, vec!["tally-1", "tally-3"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rebuild_fills_a_new_generation_while_the_old_one_serves_then_switches() {
    let f = Fixture::new();
    let mut last = 0;
    for i in 0..300 {
        last = f.append(&format!("tally-{}", i % 4), b"{}").await;
    }
    let (_task, handle) = f.start();
    f.reached(last).await;
    let before = f.documents(1).await;

    assert_eq!(handle.rebuild().await.expect("rebuild starts"), 2);
    // Writes keep flowing during the rebuild and land in whichever generation serves.
    let during = f.append("tally-9", b"{}").await;
    f.status_until(|s| s.generation == 2 && s.rebuilding.is_none())
        .await;
    f.reached(during).await;
    assert_eq!(generation::active(&*f.reads, "tallies").await.unwrap(), 2);
    let after = f.documents(2).await;
    assert_eq!(
        &after[..4],
        &before[..],
        "rebuilt documents equal the old ones"
    );
    assert_eq!(after.len(), 5);
    assert!(
        f.documents(1).await.is_empty(),
        "the old generation is dropped"
    );
    assert_eq!(handle.rebuild().await.expect("a second rebuild"), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rebuild_starts_above_every_generation_claimed_before() {
    // Given a generation another replica claimed for a rebuild and may still be dropping
    // (it lost its lease before switching readers to it)
    let f = Fixture::new();
    let last = f.append("tally-1", b"{}").await;
    let (key, ops) = generation::claim("tallies", 7);
    f.reads.apply(&key, ops, 7).await.unwrap();
    let (_task, handle) = f.start();
    f.reached(last).await;
    // When this one rebuilds, it fills a generation above it, claimed first
    assert_eq!(handle.rebuild().await.expect("rebuild starts"), 8);
    assert_eq!(
        generation::last_started(&*f.reads, "tallies")
            .await
            .unwrap(),
        8
    );
    f.status_until(|s| s.generation == 8 && s.rebuilding.is_none())
        .await;
    assert_eq!(f.documents(8).await.len(), 1);
}
