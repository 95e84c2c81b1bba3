//! One batch of a projection's feed applied: events folded into document writes, committed with
//! the checkpoint in one write; documents the read store refuses are parked with their event so
//! the rest of the stream flows; progress and lag published after each commit.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::json;
use tracing::{Instrument, error, warn};

use super::{PARKED_COLLECTION, Parts, RunError};
use crate::{
    projection::{BatchView, ProjectionError, observe, status::StuckEvent},
    readstore::{Document, ReadStoreError, WriteOp},
    store::{FeedItem, RecordedEvent, StoreError},
};

impl Parts {
    /// Commits `clear` as the checkpoint (no documents) if it is ahead: the store said no event
    /// of ours lies between the checkpoint and it.
    pub(super) async fn skip_to(
        &self,
        generation: u64,
        clear: u64,
        checkpoint: &mut Option<u64>,
    ) -> Result<(), RunError> {
        if Some(clear) <= *checkpoint {
            return Ok(());
        }
        match self
            .apply_batch(generation, &[], Some(clear), checkpoint)
            .await
        {
            Ok(result) => result,
            Err(Rejected(reason)) => Err(RunError::Store(reason)),
        }
    }

    /// Applies one chunk of the feed and commits it.
    pub(super) async fn process(
        &self,
        generation: u64,
        chunk: Vec<Result<FeedItem, StoreError>>,
        checkpoint: &mut Option<u64>,
    ) -> Result<(), RunError> {
        let mut events = Vec::with_capacity(chunk.len());
        let mut caught_up_at = None;
        for item in chunk {
            match item? {
                FeedItem::Event(event) if Some(event.position) > *checkpoint => events.push(event),
                FeedItem::Event(_) => {}
                FeedItem::Checkpoint(position) => caught_up_at = caught_up_at.max(Some(position)),
            }
        }
        match self
            .apply_batch(generation, &events, caught_up_at, checkpoint)
            .await
        {
            Err(Rejected(reason)) if events.len() > 1 => {
                warn!(projection = self.projection.name(), %reason, "batch refused; applying its events one by one to find the culprit");
                for event in &events {
                    match self
                        .apply_batch(generation, std::slice::from_ref(event), None, checkpoint)
                        .await
                    {
                        Err(Rejected(reason)) => {
                            self.park(generation, event, &reason, checkpoint).await?
                        }
                        Ok(result) => result?,
                    }
                }
                Ok(())
            }
            Err(Rejected(reason)) => match events.first() {
                Some(event) => self.park(generation, event, &reason, checkpoint).await,
                None => Err(RunError::Store(reason)),
            },
            Ok(result) => result,
        }
    }

    /// Folds `events` and commits them with the checkpoint. The outer `Err` is a refused batch.
    async fn apply_batch(
        &self,
        generation: u64,
        events: &[RecordedEvent],
        caught_up_at: Option<u64>,
        checkpoint: &mut Option<u64>,
    ) -> Result<Result<(), RunError>, Rejected> {
        let span = observe::batch_span(self.projection.name(), events);
        // The span covers the batch's polls only (never entered across an await: the thread
        // goes on to poll other tasks, requests among them, which would open their spans
        // inside it).
        async {
            let started = std::time::Instant::now();
            let mut view = BatchView::new(&*self.reads, generation);
            let mut last = None;
            let mut poison = None;
            for event in events {
                let savepoint = view.savepoint();
                match self.projection.apply(event, &mut view).await {
                    Ok(()) => last = Some(event.position),
                    Err(ProjectionError::Store(e)) => return Ok(Err(e.into())),
                    Err(e) => {
                        view.rollback_to(savepoint);
                        poison = Some(StuckEvent {
                            stream: event.stream.clone(),
                            revision: event.revision,
                            position: event.position,
                            reason: e.to_string(),
                        });
                        break;
                    }
                }
            }
            let position = if poison.is_some() {
                last
            } else {
                last.max(caught_up_at)
            };
            if let Some(position) = position.filter(|p| Some(*p) > *checkpoint) {
                // A document that cannot be written is refused like one the store refuses.
                let ops = view.into_ops().map_err(|e| Rejected(e.to_string()))?;
                match self.commit(&self.key(generation), ops, position).await {
                    Ok(()) => {
                        *checkpoint = Some(position);
                        self.projections
                            .observe_batch(self.projection.name(), started.elapsed().as_secs_f64());
                        self.status.send_modify(|s| {
                            if s.generation == generation {
                                s.position = s.position.max(Some(position));
                            }
                        });
                    }
                    Err(ReadStoreError::Rejected(reason)) => return Err(Rejected(reason)),
                    Err(e) => return Ok(Err(e.into())),
                }
                if let Some(event) = events.iter().rfind(|e| e.position == position) {
                    let age = age_seconds(event.created_micros);
                    self.status.send_modify(|s| s.behind_seconds = age);
                }
            }
            Ok(match poison {
                Some(stuck) => Err(RunError::Poison(stuck)),
                None => Ok(()),
            })
        }
        .instrument(span)
        .await
    }

    /// Skips an event whose documents the read store refuses, keeping it for operators.
    async fn park(
        &self,
        generation: u64,
        event: &RecordedEvent,
        reason: &str,
        checkpoint: &mut Option<u64>,
    ) -> Result<(), RunError> {
        let name = self.projection.name();
        error!(projection = name, stream = %event.stream, revision = event.revision,
            position = event.position, %reason, "read store refused the event's documents; event parked");
        let parked = WriteOp::Upsert {
            collection: PARKED_COLLECTION.to_owned(),
            document: Document {
                id: format!("{name}@{}", event.position),
                body: json!({
                    "projection": name,
                    "stream": event.stream,
                    "revision": event.revision,
                    "position": event.position,
                    "eventType": event.event_type,
                    "reason": reason,
                }),
            },
        };
        self.commit(&self.key(generation), vec![parked], event.position)
            .await?;
        *checkpoint = Some(event.position);
        self.status.send_modify(|s| s.parked += 1);
        Ok(())
    }

    /// Publishes the position and the lag behind the store's head as of now.
    pub(super) async fn measure_lag(&self, checkpoint: Option<u64>) {
        let head = self.events.head_position().await.ok().flatten();
        self.status.send_modify(|s| s.measured(checkpoint, head));
    }

    /// Publishes progress after a committed batch: position, lag against the head, health.
    pub(super) async fn published(&self, checkpoint: Option<u64>) {
        let head = self.events.head_position().await.ok().flatten();
        self.status.send_modify(|s| s.progressed(checkpoint, head));
    }
}

/// The read store refused a batch's documents.
struct Rejected(String);

fn age_seconds(created_micros: i64) -> f64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64);
    (now.saturating_sub(created_micros)).max(0) as f64 / 1e6
}
