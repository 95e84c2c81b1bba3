//! Back-pressure on writers (`--max-projection-lag`, off by default): while a projection that
//! reads a stream category is further behind than the limit, commands on that category are
//! refused with `RESOURCE_EXHAUSTED` and a retry delay, so read-your-writes never times out
//! silently under overload. It sees the projections that run in this process (`--role all`);
//! a command process of a split deployment has none and admits everything.

use std::time::Duration;

use super::Projections;
use crate::kernel::{Admission, CommandError};

/// Refuses commands whose category's projections lag beyond `limit`.
#[derive(Debug, Clone)]
pub struct LagLimit {
    projections: Projections,
    limit: Duration,
}

impl LagLimit {
    /// A limit of `limit` on the projections in `projections`.
    pub fn new(projections: Projections, limit: Duration) -> Self {
        Self { projections, limit }
    }
}

impl Admission for LagLimit {
    fn admit(&self, category: &str) -> Result<(), CommandError> {
        let limit = self.limit.as_secs_f64();
        match self
            .projections
            .reading(category)
            .into_iter()
            .find(|(_, status)| status.behind_seconds > limit)
        {
            None => Ok(()),
            Some((projection, status)) => Err(CommandError::Overloaded {
                reason: format!(
                    "read model {projection} is {:.0} s behind (limit {:.0} s); retry shortly",
                    status.behind_seconds, limit
                ),
                retry_after: Duration::from_secs(1),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_wait_while_a_projection_of_their_category_lags() {
        let projections = Projections::default();
        projections.set_categories("orders", &["order"]);
        let status = projections.register("orders");
        let limit = LagLimit::new(projections.clone(), Duration::from_secs(10));
        assert!(limit.admit("order").is_ok());
        status.send_modify(|s| s.behind_seconds = 12.0);
        let refused = limit.admit("order").unwrap_err();
        assert!(
            matches!(&refused, CommandError::Overloaded { reason, .. } if reason.contains("orders is 12 s behind")),
            "{refused:?}"
        );
        // The caller hears RESOURCE_EXHAUSTED with when to retry, not a read that times out.
        let answer = tonic::Status::from(refused);
        assert_eq!(answer.code(), tonic::Code::ResourceExhausted);
        let retry = tonic_types::StatusExt::get_details_retry_info(&answer)
            .and_then(|info| info.retry_delay)
            .expect("RetryInfo with a delay");
        assert_eq!(retry, Duration::from_secs(1));
        assert!(limit.admit("product").is_ok(), "other categories flow");
        status.send_modify(|s| s.behind_seconds = 0.5);
        assert!(limit.admit("order").is_ok());
    }
}
