//! Which role serves which service, and the answer a process gives for a service of another
//! role: `UNIMPLEMENTED` naming the role to call instead, rather than a bare "unknown method"
//! that looks like a typo or a version mismatch.

use std::task::{Context, Poll};

use causeway_proto::{admin, auth, events, fulfilment, identity, inventory, orders};
use futures::future::{Either, Ready, ready};
use tonic::{Status, body::Body, server::NamedService};
use tower::{Layer, Service};

use crate::config::Role;

/// Every Causeway service with the role that serves it (`all` serves every one).
pub const SERVICES: &[(&str, Role)] = &[
    (
        name::<orders::order_commands_server::OrderCommandsServer<()>>(),
        Role::Command,
    ),
    (
        name::<inventory::inventory_commands_server::InventoryCommandsServer<()>>(),
        Role::Command,
    ),
    (
        name::<identity::identity_commands_server::IdentityCommandsServer<()>>(),
        Role::Command,
    ),
    (
        name::<identity::sessions_server::SessionsServer<()>>(),
        Role::Command,
    ),
    (
        name::<auth::token_keys_server::TokenKeysServer<()>>(),
        Role::Command,
    ),
    (
        name::<orders::order_queries_server::OrderQueriesServer<()>>(),
        Role::Query,
    ),
    (
        name::<inventory::inventory_queries_server::InventoryQueriesServer<()>>(),
        Role::Query,
    ),
    (
        name::<identity::identity_queries_server::IdentityQueriesServer<()>>(),
        Role::Query,
    ),
    (
        name::<events::event_feed_server::EventFeedServer<()>>(),
        Role::Query,
    ),
    (
        name::<admin::projection_admin_server::ProjectionAdminServer<()>>(),
        Role::Projection,
    ),
    (
        name::<fulfilment::fulfilment_queries_server::FulfilmentQueriesServer<()>>(),
        Role::Projection,
    ),
];

const fn name<S: NamedService>() -> &'static str {
    S::NAME
}

/// The role that serves `service`, if it is one of Causeway's.
pub fn role_of(service: &str) -> Option<Role> {
    SERVICES
        .iter()
        .find(|(name, _)| *name == service)
        .map(|(_, role)| *role)
}

/// Answers calls to services this process's role does not serve.
#[derive(Debug, Clone, Copy)]
pub struct ServedElsewhereLayer {
    here: Role,
}

impl ServedElsewhereLayer {
    /// For a process running `here`.
    pub fn new(here: Role) -> Self {
        Self { here }
    }
}

impl<S> Layer<S> for ServedElsewhereLayer {
    type Service = ServedElsewhere<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ServedElsewhere {
            inner,
            here: self.here,
        }
    }
}

/// The service [`ServedElsewhereLayer`] wraps around the routes.
#[derive(Debug, Clone)]
pub struct ServedElsewhere<S> {
    inner: S,
    here: Role,
}

impl<S, B> Service<http::Request<B>> for ServedElsewhere<S>
where
    S: Service<http::Request<B>, Response = http::Response<Body>>,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = Either<Ready<Result<Self::Response, S::Error>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let service = request.uri().path().trim_start_matches('/');
        let service = service.split('/').next().unwrap_or_default();
        match role_of(service) {
            Some(there) if !self.here.serves(there) => {
                let status = Status::unimplemented(format!(
                    "{service} is served by processes of role {there} (or all); this process \
                     runs role {}",
                    self.here
                ));
                Either::Left(ready(Ok(status.into_http())))
            }
            _ => Either::Right(self.inner.call(request)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_service_has_one_role() {
        assert_eq!(
            role_of("causeway.orders.v1.OrderQueries"),
            Some(Role::Query)
        );
        assert_eq!(
            role_of("causeway.admin.v1.ProjectionAdmin"),
            Some(Role::Projection)
        );
        assert_eq!(
            role_of("causeway.fulfilment.v1.FulfilmentQueries"),
            Some(Role::Projection)
        );
        assert_eq!(role_of("grpc.health.v1.Health"), None);
        assert!(Role::All.serves(Role::Command) && !Role::Query.serves(Role::Command));
    }
}
