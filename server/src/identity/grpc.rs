//! The `causeway.identity.v1.IdentityCommands` handlers: the edge hop only. Each request is
//! turned into a validated command (every bad field reported at once, by its proto3 JSON path)
//! and run through the generic command path of [`crate::grpc`]; registration, which writes two
//! streams, goes through [`Registration`]. No rule lives here.
//!
//! The RegisterUser request's `Debug` is hand-written in `causeway-proto` and redacts the
//! password, and the password moves straight into a redacted [`Password`], so no log line or
//! error can print it.

use causeway_proto::identity::{
    DisableUserRequest, DisableUserResponse, GrantRoleRequest, GrantRoleResponse,
    RegisterUserRequest, RegisterUserResponse, RevokeRoleRequest, RevokeRoleResponse,
    identity_commands_server::{IdentityCommands, IdentityCommandsServer},
};
use tonic::{Request, Response, Status};

use super::domain::{DisableUser, GrantRole, RevokeRole};
use super::password::{Password, PasswordHashing};
use super::registration::{NewUser, Registration};
use super::values::{DisplayName, Email, Reason, Role, UserId};
use crate::grpc::{Invalid, Violations, acknowledge, parse};
use crate::kernel::CommandHandler;

/// The IdentityCommands gRPC service.
#[derive(Clone)]
pub struct IdentityCommandsService {
    commands: CommandHandler,
    registration: Registration,
}

/// The tonic service to mount, writing through `commands` and hashing with `passwords`.
pub fn service(
    commands: CommandHandler,
    passwords: PasswordHashing,
) -> IdentityCommandsServer<IdentityCommandsService> {
    let registration = Registration::new(commands.clone(), passwords);
    IdentityCommandsServer::new(IdentityCommandsService {
        commands,
        registration,
    })
}

impl TryFrom<RegisterUserRequest> for NewUser {
    type Error = Invalid;

    fn try_from(req: RegisterUserRequest) -> Result<Self, Invalid> {
        let mut v = Violations::default();
        let email = v.check("email", Email::parse(&req.email));
        let display_name = v.check("displayName", DisplayName::parse(&req.display_name));
        let password = v.check("password", Password::new(req.password));
        v.finish(|| {
            Some(Self {
                email: email?,
                display_name: display_name?,
                password: password?,
            })
        })
    }
}

/// A user id and a role, as GrantRole and RevokeRole both carry.
fn user_and_role(user_id: &str, role: &str) -> Result<(UserId, Role), Invalid> {
    let mut v = Violations::default();
    let user_id = v.check("userId", UserId::parse(user_id));
    let role = v.check("role", Role::parse(role));
    v.finish(|| user_id.zip(role))
}

impl TryFrom<GrantRoleRequest> for GrantRole {
    type Error = Invalid;

    fn try_from(req: GrantRoleRequest) -> Result<Self, Invalid> {
        let (user_id, role) = user_and_role(&req.user_id, &req.role)?;
        Ok(Self { user_id, role })
    }
}

impl TryFrom<RevokeRoleRequest> for RevokeRole {
    type Error = Invalid;

    fn try_from(req: RevokeRoleRequest) -> Result<Self, Invalid> {
        let (user_id, role) = user_and_role(&req.user_id, &req.role)?;
        Ok(Self { user_id, role })
    }
}

impl TryFrom<DisableUserRequest> for DisableUser {
    type Error = Invalid;

    fn try_from(req: DisableUserRequest) -> Result<Self, Invalid> {
        let mut v = Violations::default();
        let user_id = v.check("userId", UserId::parse(&req.user_id));
        let reason = v.check("reason", Reason::parse(&req.reason));
        v.finish(|| {
            Some(Self {
                user_id: user_id?,
                reason: reason?,
            })
        })
    }
}

#[tonic::async_trait]
impl IdentityCommands for IdentityCommandsService {
    async fn register_user(
        &self,
        request: Request<RegisterUserRequest>,
    ) -> Result<Response<RegisterUserResponse>, Status> {
        let parsed = parse::<_, NewUser>(request)?;
        let (user_id, ack) = self
            .registration
            .register(&parsed.context, parsed.command)
            .await?;
        Ok(Response::new(RegisterUserResponse {
            user_id: user_id.to_string(),
            ack: Some(ack.into()),
        }))
    }

    async fn grant_role(
        &self,
        request: Request<GrantRoleRequest>,
    ) -> Result<Response<GrantRoleResponse>, Status> {
        acknowledge::<_, GrantRole, _>(&self.commands, request).await
    }

    async fn revoke_role(
        &self,
        request: Request<RevokeRoleRequest>,
    ) -> Result<Response<RevokeRoleResponse>, Status> {
        acknowledge::<_, RevokeRole, _>(&self.commands, request).await
    }

    async fn disable_user(
        &self,
        request: Request<DisableUserRequest>,
    ) -> Result<Response<DisableUserResponse>, Status> {
        acknowledge::<_, DisableUser, _>(&self.commands, request).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(error: Invalid) -> Vec<String> {
        error.0.into_iter().map(|v| v.field).collect()
    }

    #[test]
    fn a_valid_registration_is_normalised() {
        let user = NewUser::try_from(RegisterUserRequest {
            options: None,
            email: " Ada@Example.com ".into(),
            display_name: "Ada".into(),
            password: "correct horse".into(),
        })
        .unwrap();
        assert_eq!(user.email.as_str(), "ada@example.com");
        assert!(!format!("{user:?}").contains("correct horse"));
    }

    #[test]
    fn every_bad_registration_field_is_reported_without_the_password() {
        let err = NewUser::try_from(RegisterUserRequest {
            options: None,
            email: "not-an-email".into(),
            display_name: " ".into(),
            password: "hunter2".into(),
        })
        .unwrap_err();
        let text = format!("{err} {err:?}");
        assert!(!text.contains("hunter2"), "{text}");
        assert_eq!(
            Status::from(err.clone()).message(),
            "email: must contain exactly one '@'; displayName: required; \
             password: must be 8 to 1024 characters"
        );
        assert_eq!(fields(err), ["email", "displayName", "password"]);
    }

    #[test]
    fn role_requests_need_a_user_id_and_a_role() {
        let err = GrantRole::try_from(GrantRoleRequest {
            options: None,
            user_id: "".into(),
            role: "Admin".into(),
        })
        .unwrap_err();
        assert_eq!(fields(err), ["userId", "role"]);
        let user_id = UserId::for_command("c").to_string();
        let ok = RevokeRole::try_from(RevokeRoleRequest {
            options: None,
            user_id: user_id.to_uppercase(),
            role: "orders:admin".into(),
        })
        .unwrap();
        assert_eq!(ok.user_id.as_str(), user_id);
        let err = RevokeRole::try_from(RevokeRoleRequest::default()).unwrap_err();
        assert_eq!(fields(err), ["userId", "role"]);
    }

    #[test]
    fn disabling_bounds_the_reason() {
        let user_id = UserId::for_command("c").to_string();
        let ok = DisableUser::try_from(DisableUserRequest {
            options: None,
            user_id: user_id.clone(),
            reason: String::new(),
        });
        assert!(ok.is_ok());
        let err = DisableUser::try_from(DisableUserRequest {
            options: None,
            user_id: "nope".into(),
            reason: "x".repeat(501),
        })
        .unwrap_err();
        assert_eq!(fields(err), ["userId", "reason"]);
    }

    #[tokio::test]
    async fn option_and_field_violations_are_reported_together() {
        let Err(status) = parse::<_, GrantRole>(Request::new(GrantRoleRequest::default())) else {
            panic!("an empty request parsed");
        };
        let details = tonic_types::StatusExt::get_details_bad_request(&status).unwrap();
        let fields: Vec<_> = details.field_violations.iter().map(|v| &v.field).collect();
        assert_eq!(fields, ["options", "userId", "role"]);
    }

    mod handlers {
        use std::sync::Arc;

        use causeway_proto::common::CommandOptions;
        use tonic::Code;

        use super::super::*;
        use crate::kernel::Upcasters;
        use crate::store::embedded::{Durability, EmbeddedEventStore};

        fn service(dir: &tempfile::TempDir) -> IdentityCommandsService {
            let store = EmbeddedEventStore::open(dir.path(), Durability::Relaxed).unwrap();
            let commands = CommandHandler::new(Arc::new(store), Arc::new(Upcasters::default()));
            let passwords = PasswordHashing::insecure_fast_for_tests();
            IdentityCommandsService {
                registration: Registration::new(commands.clone(), passwords),
                commands,
            }
        }

        fn options(command_id: &str) -> Option<CommandOptions> {
            Some(CommandOptions {
                command_id: command_id.into(),
                ..CommandOptions::default()
            })
        }

        fn grant(user_id: &str, command_id: &str) -> Request<GrantRoleRequest> {
            Request::new(GrantRoleRequest {
                options: options(command_id),
                user_id: user_id.into(),
                role: "orders:admin".into(),
            })
        }

        #[tokio::test]
        async fn register_grant_revoke_disable_through_the_handlers() {
            let dir = tempfile::tempdir().unwrap();
            let svc = service(&dir);
            let registered = svc
                .register_user(Request::new(RegisterUserRequest {
                    options: options("cmd-1"),
                    email: "ada@example.com".into(),
                    display_name: "Ada".into(),
                    password: "correct horse".into(),
                }))
                .await
                .unwrap()
                .into_inner();
            let user_id = registered.user_id;
            assert_eq!(registered.ack.unwrap().stream_id, format!("user-{user_id}"));

            let ack = svc.grant_role(grant(&user_id, "cmd-2")).await.unwrap();
            assert_eq!(ack.into_inner().ack.unwrap().revision, 1);
            let again = svc.grant_role(grant(&user_id, "cmd-2")).await.unwrap();
            assert!(again.into_inner().ack.unwrap().deduplicated);
            let twice = svc.grant_role(grant(&user_id, "cmd-3")).await.unwrap_err();
            assert_eq!(twice.code(), Code::FailedPrecondition);

            let revoked = svc
                .revoke_role(Request::new(RevokeRoleRequest {
                    options: options("cmd-4"),
                    user_id: user_id.clone(),
                    role: "orders:admin".into(),
                }))
                .await
                .unwrap();
            assert_eq!(revoked.into_inner().ack.unwrap().revision, 2);
            let disable = |command_id: &str| {
                Request::new(DisableUserRequest {
                    options: options(command_id),
                    user_id: user_id.clone(),
                    reason: "left".into(),
                })
            };
            svc.disable_user(disable("cmd-5")).await.unwrap();
            let twice = svc.disable_user(disable("cmd-6")).await.unwrap_err();
            assert_eq!(twice.code(), Code::FailedPrecondition);
            let disabled = svc.grant_role(grant(&user_id, "cmd-7")).await.unwrap_err();
            assert_eq!(disabled.code(), Code::FailedPrecondition);
        }

        #[tokio::test]
        async fn unknown_users_are_not_found_and_bad_requests_invalid() {
            let dir = tempfile::tempdir().unwrap();
            let svc = service(&dir);
            let nobody = UserId::for_command("nobody").to_string();
            let status = svc.grant_role(grant(&nobody, "cmd-1")).await.unwrap_err();
            assert_eq!(status.code(), Code::NotFound);
            let status = svc
                .register_user(Request::new(RegisterUserRequest {
                    options: None,
                    email: "ada@example.com".into(),
                    display_name: "Ada".into(),
                    password: "hunter2".into(),
                }))
                .await
                .unwrap_err();
            assert_eq!(status.code(), Code::InvalidArgument);
            assert!(!format!("{status:?}").contains("hunter2"));
            assert!(status.message().contains("options") && status.message().contains("password"));
        }
    }
}
