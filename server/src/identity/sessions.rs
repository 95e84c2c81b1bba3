//! `causeway.identity.v1.Sessions`: the edge hop of signing in. The request becomes an email
//! and a (redacted) password, [`Login`] decides, and the answer is the token or a status that
//! names no detail an attacker could use.

use causeway_proto::identity::{
    LoginRequest, LoginResponse,
    sessions_server::{Sessions, SessionsServer},
};
use tonic::{Code, Request, Response, Status};
use tonic_types::{ErrorDetails, StatusExt};
use tracing::error;

use super::login::{Login, LoginError};
use super::password::Password;
use super::values::Email;
use crate::grpc::{Invalid, Violations};

/// The Sessions gRPC service.
#[derive(Clone)]
pub struct SessionsService {
    login: Login,
}

/// The tonic service to mount.
pub fn sessions_service(login: Login) -> SessionsServer<SessionsService> {
    SessionsServer::new(SessionsService { login })
}

/// A login request's email and password.
struct Credentials {
    email: Email,
    password: Password,
}

impl TryFrom<LoginRequest> for Credentials {
    type Error = Invalid;

    fn try_from(req: LoginRequest) -> Result<Self, Invalid> {
        let mut v = Violations::default();
        let email = v.check("email", Email::parse(&req.email));
        let password = v.check("password", Password::new(req.password));
        v.finish(|| {
            Some(Self {
                email: email?,
                password: password?,
            })
        })
    }
}

impl From<LoginError> for Status {
    fn from(error: LoginError) -> Self {
        match error {
            LoginError::Refused => Status::unauthenticated(error.to_string()),
            LoginError::Throttled { retry_after } => {
                let mut details = ErrorDetails::new();
                details.set_retry_info(Some(retry_after));
                Status::with_error_details(Code::ResourceExhausted, error.to_string(), details)
            }
            LoginError::Command(e) => e.into(),
            LoginError::Hashing(e) => {
                error!(error = %e, "password check failed");
                Status::internal("the password could not be checked; retry later")
            }
            LoginError::Mint(e) => {
                error!(error = %e, "token signing failed");
                Status::unavailable("the token could not be signed; retry later")
            }
        }
    }
}

#[tonic::async_trait]
impl Sessions for SessionsService {
    async fn login(
        &self,
        request: Request<LoginRequest>,
    ) -> Result<Response<LoginResponse>, Status> {
        let credentials = Credentials::try_from(request.into_inner())?;
        let minted = self
            .login
            .login(&credentials.email, credentials.password)
            .await?;
        Ok(Response::new(LoginResponse {
            access_token: minted.token,
            token_type: "Bearer".into(),
            expires_in: minted.expires_in.as_secs(),
        }))
    }
}
