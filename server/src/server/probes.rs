//! Health names beyond the stores': readiness against the projections' lag objective, each
//! projection's own health, and whether callers are authenticated.

use tonic_health::{ServingStatus, server::HealthReporter};

use crate::projection::{ProjectionState, Projections};

/// The health name a load balancer's readiness probe asks: SERVING while every projection of
/// this process is within its lag objective and making progress, NOT_SERVING while one lags or
/// is stuck, so fresh replicas are preferred; liveness (`""`) stays SERVING meanwhile.
pub const READINESS: &str = "causeway.readiness";

/// The health name that says whether callers are authenticated: SERVING when tokens are
/// verified, NOT_SERVING under `--auth disabled`, so a probe or an operator sees a process that
/// lets every caller do anything.
pub const AUTHENTICATION: &str = "causeway.authentication";

/// Keeps [`READINESS`] in step with the projections of this process.
pub(super) async fn report_readiness(health: HealthReporter, projections: Projections) {
    let mut statuses: Vec<_> = projections
        .snapshot()
        .into_iter()
        .filter_map(|(name, _)| projections.watch(&name))
        .collect();
    loop {
        let ready = statuses.iter_mut().all(|status| {
            let state = status.borrow_and_update().state(projections.lag_slo());
            matches!(
                state,
                ProjectionState::Serving | ProjectionState::Rebuilding | ProjectionState::Standby
            )
        });
        let serving = if ready {
            ServingStatus::Serving
        } else {
            ServingStatus::NotServing
        };
        health.set_service_status(READINESS, serving).await;
        if statuses.is_empty() {
            return;
        }
        let changes = statuses.iter_mut().map(|status| Box::pin(status.changed()));
        if futures::future::select_all(changes).await.0.is_err() {
            return;
        }
    }
}

/// The health service name of a projection: `causeway.projection.<name>`.
pub fn projection_health_name(projection: &str) -> String {
    format!("causeway.projection.{projection}")
}

/// Mirrors a projection's health into the health service: NOT_SERVING while it cannot make
/// progress (store down, poison event), SERVING once it commits again.
pub(super) async fn report_health(
    health: HealthReporter,
    projections: Projections,
    name: &'static str,
) {
    let service = projection_health_name(name);
    let Some(mut status) = projections.watch(name) else {
        return;
    };
    loop {
        let serving = if status.borrow_and_update().healthy {
            ServingStatus::Serving
        } else {
            ServingStatus::NotServing
        };
        health.set_service_status(&service, serving).await;
        if status.changed().await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use futures::StreamExt;
    use tonic::Request;
    use tonic_health::{
        pb::{HealthCheckRequest, health_check_response, health_server::Health},
        server::{HealthReporter, HealthService},
    };

    use super::*;

    fn asking(service: &str) -> Request<HealthCheckRequest> {
        Request::new(HealthCheckRequest {
            service: service.to_owned(),
        })
    }

    #[tokio::test]
    async fn readiness_follows_the_lag_objective_while_liveness_stays_serving() {
        // Given a process with one projection, caught up, and a lag objective of 5 s
        let projections = Projections::with_lag_slo(Some(Duration::from_secs(5)));
        let orders = projections.register("orders");
        orders.send_modify(|status| status.healthy = true);
        let reporter = HealthReporter::new();
        reporter
            .set_service_status(READINESS, ServingStatus::Unknown)
            .await;
        let health = HealthService::from_health_reporter(reporter.clone());
        let mut readiness = health
            .watch(asking(READINESS))
            .await
            .expect("the name is registered")
            .into_inner();
        let mut next = async |want: health_check_response::ServingStatus| {
            let seen = tokio::time::timeout(Duration::from_secs(10), async {
                while let Some(Ok(answer)) = readiness.next().await {
                    if answer.status() == want {
                        return true;
                    }
                }
                false
            })
            .await;
            assert_eq!(seen, Ok(true), "readiness never became {want:?}");
        };
        tokio::spawn(report_readiness(reporter, projections.clone()));
        next(health_check_response::ServingStatus::Serving).await;

        // When it falls further behind than its objective, readiness is refused, liveness not
        orders.send_modify(|status| status.behind_seconds = 60.0);
        next(health_check_response::ServingStatus::NotServing).await;
        let live = health
            .check(asking(""))
            .await
            .expect("liveness")
            .into_inner();
        assert_eq!(live.status(), health_check_response::ServingStatus::Serving);

        // Then once it catches up, the process is ready again
        orders.send_modify(|status| status.behind_seconds = 0.0);
        next(health_check_response::ServingStatus::Serving).await;
    }
}
