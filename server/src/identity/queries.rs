//! The `causeway.identity.v1.IdentityQueries` handlers: the edge hop only. Each request is
//! validated, read through [`ReadModel`] (which waits for read-your-writes and picks the live
//! rebuild generation), and the `users` document mapped to the proto `User`. The document type
//! has no password-hash field, so no response can carry one.

use causeway_proto::identity::{
    FindUserByEmailRequest, FindUserByEmailResponse, GetUserRequest, GetUserResponse,
    User as ProtoUser,
    identity_queries_server::{IdentityQueries, IdentityQueriesServer},
};
use serde_json::Value;
use tonic::{Request, Response, Status};

use super::projection::{USERS, UserDocument};
use super::values::{Email, UserId};
use crate::{
    query::{QueryError, ReadModel},
    readstore::{Filter, Query},
};

/// The IdentityQueries gRPC service, reading the `users` projection.
#[derive(Clone)]
pub struct IdentityQueriesService {
    model: ReadModel,
}

/// The tonic service to mount; `model` must read the `users` projection.
pub fn query_service(model: ReadModel) -> IdentityQueriesServer<IdentityQueriesService> {
    IdentityQueriesServer::new(IdentityQueriesService { model })
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

/// The proto user of a stored document. A document that is not a `UserDocument` is the
/// server's fault (the projection wrote it), so it is a store failure, not the caller's.
fn to_user(id: &str, body: Value) -> Result<ProtoUser, QueryError> {
    serde_json::from_value::<UserDocument>(body)
        .map(Into::into)
        .map_err(|e| QueryError::Corrupt(format!("{USERS}/{id} is not a user document: {e}")))
}

impl IdentityQueriesService {
    async fn get(&self, request: Request<GetUserRequest>) -> Result<ProtoUser, QueryError> {
        let (metadata, _, req) = request.into_parts();
        let user_id =
            UserId::parse(&req.user_id).map_err(|e| QueryError::invalid("user_id", e.0))?;
        let body = self
            .model
            .get(USERS, user_id.as_str(), req.consistency.as_ref(), &metadata)
            .await?
            .ok_or_else(|| QueryError::NotFound(format!("user {user_id}")))?;
        to_user(user_id.as_str(), body)
    }

    async fn find(
        &self,
        request: Request<FindUserByEmailRequest>,
    ) -> Result<ProtoUser, QueryError> {
        let (metadata, _, req) = request.into_parts();
        let email = Email::parse(&req.email).map_err(|e| QueryError::invalid("email", e.0))?;
        let query = Query {
            collection: USERS.to_owned(),
            filter: Filter::eq("email", email.as_str()),
            sort: vec![],
            limit: 1,
            after: None,
        };
        let page = self
            .model
            .page(query, req.consistency.as_ref(), &metadata)
            .await?;
        // The address is not echoed back: messages end up in logs.
        let doc = page
            .documents
            .into_iter()
            .next()
            .ok_or_else(|| QueryError::NotFound("user with that email".to_owned()))?;
        to_user(&doc.id, doc.body)
    }
}

#[tonic::async_trait]
impl IdentityQueries for IdentityQueriesService {
    async fn get_user(
        &self,
        request: Request<GetUserRequest>,
    ) -> Result<Response<GetUserResponse>, Status> {
        let user = self.get(request).await?;
        Ok(Response::new(GetUserResponse { user: Some(user) }))
    }

    async fn find_user_by_email(
        &self,
        request: Request<FindUserByEmailRequest>,
    ) -> Result<Response<FindUserByEmailResponse>, Status> {
        let user = self.find(request).await?;
        Ok(Response::new(FindUserByEmailResponse { user: Some(user) }))
    }
}

#[cfg(test)]
mod tests;
