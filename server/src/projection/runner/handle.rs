//! Asking a running projection to rebuild: the handle the admin service holds, and why a
//! rebuild could not start.

use tokio::sync::{mpsc, oneshot, watch};

use crate::projection::ProjectionStatus;

/// A rebuild could not start.
#[derive(Debug, thiserror::Error)]
pub enum RebuildError {
    /// One is already running for this projection.
    #[error("a rebuild of {0} is already running")]
    AlreadyRunning(String),
    /// The runner is not running (its task ended or is paused on errors).
    #[error("the runner of {0} is not accepting requests")]
    NotRunning(String),
    /// Another replica holds the projection's lease and runs it: ask that one.
    #[error("{projection} runs in another replica ({holder}): ask that one to rebuild it")]
    Elsewhere {
        /// The projection.
        projection: String,
        /// The replica holding its lease (`unknown` before this one has heard).
        holder: String,
    },
}

pub(super) type RebuildReply = oneshot::Sender<Result<u64, RebuildError>>;

/// Asks a running projection to rebuild.
#[derive(Debug, Clone)]
pub struct RunnerHandle {
    pub(super) name: &'static str,
    pub(super) rebuilds: mpsc::Sender<RebuildReply>,
    pub(super) status: watch::Receiver<ProjectionStatus>,
}

impl RunnerHandle {
    /// Starts rebuilding from position 0 into a new generation while the current one keeps
    /// serving; returns the new generation number. Readers switch once it has caught up.
    pub async fn rebuild(&self) -> Result<u64, RebuildError> {
        let elsewhere = {
            let status = self.status.borrow();
            (!status.runs_here()).then(|| {
                status
                    .lease
                    .as_ref()
                    .map_or_else(|| "unknown".to_owned(), |lease| lease.holder.clone())
            })
        };
        if let Some(holder) = elsewhere {
            return Err(RebuildError::Elsewhere {
                projection: self.name.to_owned(),
                holder,
            });
        }
        let (reply, answer) = oneshot::channel();
        self.rebuilds
            .send(reply)
            .await
            .map_err(|_| RebuildError::NotRunning(self.name.to_owned()))?;
        answer
            .await
            .map_err(|_| RebuildError::NotRunning(self.name.to_owned()))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lease::LeaseView;

    #[tokio::test]
    async fn a_standby_refuses_a_rebuild_naming_the_replica_that_runs_it() {
        // Given a runner of this replica whose lease another replica holds
        let (rebuilds, mut queued) = mpsc::channel(4);
        let (status, watching) = watch::channel(ProjectionStatus {
            leased: true,
            lease: Some(LeaseView {
                holder: "node-b/7/x".into(),
                epoch: 2,
                held: false,
            }),
            ..ProjectionStatus::default()
        });
        let handle = RunnerHandle {
            name: "orders",
            rebuilds,
            status: watching,
        };
        // When asked to rebuild, it answers at once, naming the holder, and queues nothing.
        let refused = handle
            .rebuild()
            .await
            .expect_err("a standby does not rebuild");
        assert!(
            matches!(&refused, RebuildError::Elsewhere { holder, .. } if holder == "node-b/7/x"),
            "{refused}"
        );
        assert!(
            queued.try_recv().is_err(),
            "nothing left to run on take-over"
        );
        // Once it holds the lease, the request goes to the runner.
        status.send_modify(|s| {
            if let Some(lease) = s.lease.as_mut() {
                lease.held = true;
            }
        });
        let asking = tokio::spawn(async move { handle.rebuild().await });
        let reply = queued.recv().await.expect("the request reaches the runner");
        reply.send(Ok(5)).unwrap();
        assert_eq!(asking.await.unwrap().unwrap(), 5);
    }
}
