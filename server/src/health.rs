//! Health that tells the truth: each service is SERVING only while the stores it needs answer.
//! A probe asks each store a cheap question (the head position, a checkpoint) with a short
//! timeout, once before the server accepts requests and then periodically, so a store that goes
//! away turns its services NOT_SERVING and they recover by themselves when it returns.

use std::{sync::Arc, time::Duration};

use tonic::server::NamedService;
use tonic_health::{ServingStatus, server::HealthReporter};
use tracing::{info, warn};

use crate::{readstore::ReadStore, store::EventStore};

/// How long one probe may take before the store counts as unreachable.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// Time between probes while everything answers.
const HEALTHY_INTERVAL: Duration = Duration::from_secs(1);
/// Time between probes while something does not, so recovery is noticed quickly.
const UNHEALTHY_INTERVAL: Duration = Duration::from_millis(200);

/// Which services depend on which store.
pub struct StoreHealth {
    health: HealthReporter,
    events: Option<Arc<dyn EventStore>>,
    reads: Option<Arc<dyn ReadStore>>,
    on_events: Vec<&'static str>,
    on_reads: Vec<&'static str>,
    last: Option<(bool, bool)>,
}

impl StoreHealth {
    /// Reports into `health` for the given stores (absent ones are not probed).
    pub fn new(
        health: HealthReporter,
        events: Option<Arc<dyn EventStore>>,
        reads: Option<Arc<dyn ReadStore>>,
    ) -> Self {
        Self {
            health,
            events,
            reads,
            on_events: Vec::new(),
            on_reads: Vec::new(),
            last: None,
        }
    }

    /// Marks `service` as needing the event store; returns it for chaining into a router.
    pub fn needs_events<S: NamedService>(&mut self, service: S) -> S {
        self.on_events.push(S::NAME);
        service
    }

    /// Marks `service` as needing the read store.
    pub fn needs_reads<S: NamedService>(&mut self, service: S) -> S {
        self.on_reads.push(S::NAME);
        service
    }

    /// Marks `service` as needing both stores.
    pub fn needs_both<S: NamedService>(&mut self, service: S) -> S {
        self.on_events.push(S::NAME);
        self.on_reads.push(S::NAME);
        service
    }

    /// Probes both stores once and publishes every status; returns whether all answered.
    pub async fn probe(&mut self) -> bool {
        let events_ok = match &self.events {
            Some(store) => answers(store.head_position()).await,
            None => true,
        };
        let reads_ok = match &self.reads {
            Some(store) => answers(store.checkpoint("health-probe")).await,
            None => true,
        };
        if self.last != Some((events_ok, reads_ok)) {
            if !(events_ok && reads_ok) {
                warn!(
                    events_ok,
                    reads_ok, "a store does not answer; its services are NOT_SERVING"
                );
            } else if self.last.is_some() {
                info!("every store answers again; services are SERVING");
            }
            let status = |ok: bool| {
                if ok {
                    ServingStatus::Serving
                } else {
                    ServingStatus::NotServing
                }
            };
            for name in &self.on_events {
                let ok = events_ok && (reads_ok || !self.on_reads.contains(name));
                self.health.set_service_status(*name, status(ok)).await;
            }
            for name in self.on_reads.iter().filter(|n| !self.on_events.contains(n)) {
                self.health
                    .set_service_status(*name, status(reads_ok))
                    .await;
            }
            self.health
                .set_service_status("", status(events_ok && reads_ok))
                .await;
            self.last = Some((events_ok, reads_ok));
        }
        events_ok && reads_ok
    }

    /// Probes forever, faster while something is down.
    pub async fn run(mut self) {
        loop {
            let healthy = self.probe().await;
            let interval = if healthy {
                HEALTHY_INTERVAL
            } else {
                UNHEALTHY_INTERVAL
            };
            tokio::time::sleep(interval).await;
        }
    }
}

async fn answers<T, E>(probe: impl Future<Output = Result<T, E>>) -> bool {
    matches!(tokio::time::timeout(PROBE_TIMEOUT, probe).await, Ok(Ok(_)))
}
