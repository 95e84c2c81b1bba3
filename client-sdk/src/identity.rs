//! The identity context: the generated messages and clients of `causeway.identity.v1`, and
//! [`Identity`], the handle that sends them with the SDK's guarantees.

pub use causeway_proto::identity::*;

use causeway_proto::common::CommandAck;

use crate::{Error, call::Caller};

/// What registering a user returns: the new user's id (derived from the command id, so a retry
/// names the same user) and the acknowledgement.
#[derive(Debug, Clone, PartialEq)]
pub struct UserRegistered {
    /// The user's id, to grant roles or read the user back.
    pub user_id: String,
    /// Where the registration was stored.
    pub ack: CommandAck,
}

/// Sends user and role commands and queries; from [`crate::Client::identity`] or
/// [`crate::Session::identity`]. Leave `options` unset on a command and the SDK gives it a
/// UUIDv7 command id, reused on every retry.
#[derive(Debug, Clone)]
pub struct Identity {
    caller: Caller,
}

impl Identity {
    pub(crate) fn new(caller: Caller) -> Self {
        Self { caller }
    }

    /// Registers a user; [`Error::RuleBroken`] when the email is taken. The password travels
    /// only in this request (only its hash is stored) and never appears in its `Debug` output.
    pub async fn register_user(
        &self,
        request: RegisterUserRequest,
    ) -> Result<UserRegistered, Error> {
        let (response, ack) = self
            .caller
            .command(request, |channel, request| async move {
                identity_commands_client::IdentityCommandsClient::new(channel)
                    .register_user(request)
                    .await
            })
            .await?;
        Ok(UserRegistered {
            user_id: response.user_id,
            ack,
        })
    }

    /// Grants a role to a user.
    pub async fn grant_role(&self, request: GrantRoleRequest) -> Result<CommandAck, Error> {
        let (_, ack) = self
            .caller
            .command(request, |channel, request| async move {
                identity_commands_client::IdentityCommandsClient::new(channel)
                    .grant_role(request)
                    .await
            })
            .await?;
        Ok(ack)
    }

    /// Revokes a role from a user.
    pub async fn revoke_role(&self, request: RevokeRoleRequest) -> Result<CommandAck, Error> {
        let (_, ack) = self
            .caller
            .command(request, |channel, request| async move {
                identity_commands_client::IdentityCommandsClient::new(channel)
                    .revoke_role(request)
                    .await
            })
            .await?;
        Ok(ack)
    }

    /// Disables a user, with a reason.
    pub async fn disable_user(&self, request: DisableUserRequest) -> Result<CommandAck, Error> {
        let (_, ack) = self
            .caller
            .command(request, |channel, request| async move {
                identity_commands_client::IdentityCommandsClient::new(channel)
                    .disable_user(request)
                    .await
            })
            .await?;
        Ok(ack)
    }

    /// One user by id; [`Error::NotFound`] when there is none. Never carries a password hash.
    pub async fn get_user(&self, request: GetUserRequest) -> Result<User, Error> {
        self.caller
            .query(request, |channel, request| async move {
                identity_queries_client::IdentityQueriesClient::new(channel)
                    .get_user(request)
                    .await
            })
            .await?
            .user
            .ok_or_else(|| Error::protocol("GetUser answered without a user"))
    }

    /// One user by email; [`Error::NotFound`] when there is none.
    pub async fn find_user_by_email(&self, request: FindUserByEmailRequest) -> Result<User, Error> {
        self.caller
            .query(request, |channel, request| async move {
                identity_queries_client::IdentityQueriesClient::new(channel)
                    .find_user_by_email(request)
                    .await
            })
            .await?
            .user
            .ok_or_else(|| Error::protocol("FindUserByEmail answered without a user"))
    }
}
