//! The `causeway.identity.v1.IdentityQueries` handlers: the edge hop only. Each request is
//! validated, read through [`ReadModel`] (which waits for read-your-writes and picks the live
//! rebuild generation), and the `users` document mapped to the proto `User`. The document type
//! has no password-hash field, so no response can carry one. A user `asOf` a past point is
//! folded from its stream through [`History`] into the same document type.

use causeway_proto::identity::{
    FindUserByEmailRequest, FindUserByEmailResponse, GetUserRequest, GetUserResponse,
    User as ProtoUser,
    identity_queries_server::{IdentityQueries, IdentityQueriesServer},
};
use tonic::{Request, Response, Status};

use super::projection::{USERS, UserDocument};
use super::values::{Email, UserId};
use crate::feed::{History, Point};
use crate::grpc::validation::{both, single};
use crate::kernel::Aggregate;
use crate::query::{QueryError, ReadModel};
use crate::readstore::{Filter, Query};

/// The IdentityQueries gRPC service, reading the `users` projection.
#[derive(Clone)]
pub struct IdentityQueriesService {
    model: ReadModel,
    history: History,
}

/// The tonic service to mount; `model` must read the `users` projection, `history` the event
/// store.
pub fn query_service(
    model: ReadModel,
    history: History,
) -> IdentityQueriesServer<IdentityQueriesService> {
    IdentityQueriesServer::new(IdentityQueriesService { model, history })
}

impl From<UserDocument> for ProtoUser {
    fn from(doc: UserDocument) -> Self {
        Self {
            user_id: doc.user_id,
            email: doc.email,
            display_name: doc.display_name,
            roles: doc.roles.into_iter().collect(),
            disabled: doc.disabled,
            revision: doc.revision,
        }
    }
}

#[tonic::async_trait]
impl IdentityQueries for IdentityQueriesService {
    async fn get_user(
        &self,
        request: Request<GetUserRequest>,
    ) -> Result<Response<GetUserResponse>, Status> {
        let (metadata, _, req) = request.into_parts();
        let (user_id, point) = both(
            single("userId", UserId::parse(&req.user_id)),
            Point::of(req.as_of.as_ref(), "asOf"),
        )?;
        let doc: Option<UserDocument> = match point {
            Some(point) => {
                let stream = super::domain::User::stream_id(user_id.as_str());
                self.history.as_of(&stream, point).await?
            }
            None => {
                let consistency = req.consistency.as_ref();
                (self.model)
                    .get_as(USERS, user_id.as_str(), consistency, &metadata)
                    .await?
            }
        };
        let doc = doc.ok_or_else(|| QueryError::NotFound(format!("user {user_id}")))?;
        Ok(Response::new(GetUserResponse {
            user: Some(doc.into()),
        }))
    }

    async fn find_user_by_email(
        &self,
        request: Request<FindUserByEmailRequest>,
    ) -> Result<Response<FindUserByEmailResponse>, Status> {
        let (metadata, _, req) = request.into_parts();
        let email = single("email", Email::parse(&req.email))?;
        let query = Query::new(USERS)
            .with_filter(Filter::eq("email", email.as_str()))
            .with_limit(1);
        let page = self
            .model
            .page_as::<UserDocument>(query, req.consistency.as_ref(), &metadata)
            .await?;
        // The address is not echoed back: messages end up in logs.
        let doc = page
            .documents
            .into_iter()
            .next()
            .ok_or_else(|| QueryError::NotFound("user with that email".to_owned()))?;
        Ok(Response::new(FindUserByEmailResponse {
            user: Some(doc.into()),
        }))
    }
}

#[cfg(test)]
mod tests;
