//! `causeway.admin.v1.ProjectionAdmin`: what operators ask a projection process. It lists each
//! projection's position, lag, health (including the event it is stuck on) and which replica
//! holds its lease, and starts rebuilds. Served by the processes that run projections
//! (`--role projection` or `all`).

use std::collections::BTreeMap;

use causeway_proto::admin::{
    ListProjectionsRequest, ListProjectionsResponse, ProjectionInfo, RebuildProjectionRequest,
    RebuildProjectionResponse, StuckEvent,
    projection_admin_server::{ProjectionAdmin, ProjectionAdminServer},
};
use tonic::{Request, Response, Status};

use super::{ProjectionStatus, Projections, runner::RunnerHandle};
use crate::kernel::CommandError;

/// The admin service over this process's projection runners.
pub struct ProjectionAdminService {
    projections: Projections,
    runners: BTreeMap<&'static str, RunnerHandle>,
}

/// The admin service for `runners`, reporting from `projections`.
pub fn admin_service(
    projections: Projections,
    runners: impl IntoIterator<Item = (&'static str, RunnerHandle)>,
) -> ProjectionAdminServer<ProjectionAdminService> {
    ProjectionAdminServer::new(ProjectionAdminService {
        projections,
        runners: runners.into_iter().collect(),
    })
}

fn info(name: String, s: ProjectionStatus, lag_slo: Option<std::time::Duration>) -> ProjectionInfo {
    let lease = s.lease.clone().unwrap_or_default();
    ProjectionInfo {
        lease_holder: lease.holder,
        lease_epoch: lease.epoch,
        lease_held: lease.held,
        state: s.state(lag_slo).as_str().to_owned(),
        name,
        generation: s.generation,
        position: s.position.unwrap_or(0),
        head: s.head.unwrap_or(0),
        behind: s.behind,
        behind_seconds: s.behind_seconds,
        healthy: s.healthy,
        stuck: s.stuck.map(|e| StuckEvent {
            stream: e.stream,
            revision: e.revision,
            position: e.position,
            reason: e.reason,
        }),
        last_error: s.last_error.unwrap_or_default(),
        parked: s.parked,
        rebuilding_generation: s.rebuilding.map(|(g, _)| g),
        rebuilding_position: s.rebuilding.and_then(|(_, p)| p).unwrap_or(0),
    }
}

#[tonic::async_trait]
impl ProjectionAdmin for ProjectionAdminService {
    async fn list_projections(
        &self,
        _request: Request<ListProjectionsRequest>,
    ) -> Result<Response<ListProjectionsResponse>, Status> {
        let projections = self
            .projections
            .snapshot()
            .into_iter()
            .map(|(name, status)| info(name, status, self.projections.lag_slo()))
            .collect();
        Ok(Response::new(ListProjectionsResponse { projections }))
    }

    async fn rebuild_projection(
        &self,
        request: Request<RebuildProjectionRequest>,
    ) -> Result<Response<RebuildProjectionResponse>, Status> {
        let name = request.into_inner().name;
        if let Err(why) = crate::values::identifier(&name) {
            return Err(CommandError::invalid("name", why.to_string()).into());
        }
        let runner = self.runners.get(name.as_str()).ok_or_else(|| {
            let known: Vec<&str> = self.runners.keys().copied().collect();
            Status::from(CommandError::invalid(
                "name",
                format!(
                    "no projection named {name:?} runs here; known: {}",
                    known.join(", ")
                ),
            ))
        })?;
        let generation = runner.rebuild().await?;
        Ok(Response::new(RebuildProjectionResponse { generation }))
    }
}
