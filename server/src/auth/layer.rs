//! The two auth layers of the gRPC edge, outermost first:
//!
//! - [`AuthenticationLayer`]: reads `authorization: Bearer <jwt>`, verifies it, and puts the
//!   [`Caller`] in the request's extensions (without a token: the principal of a client
//!   certificate the operator gave roles, else anonymous; unchecked when authentication is
//!   switched off). A token that does not verify is `UNAUTHENTICATED` at once, whatever the
//!   RPC.
//! - [`AuthorizationLayer`]: the RPC's access rule from the contracts against the caller:
//!   `UNAUTHENTICATED` without a token, `PERMISSION_DENIED` without a required role or for an
//!   RPC that declares no rule.

use std::{
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use causeway_telemetry::{Metrics, requests::Subject};
use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family},
};
use tonic::{Status, body::Body};
use tower::{Layer, Service};
use tracing::debug;

use super::{
    access::{AccessTable, Rule},
    certificates::CertificateRoles,
    principal::Caller,
    verify::{AuthError, Verifier},
};
use crate::connection::ConnectionInfo;

/// Tells whether a subject's tokens stopped counting (a disabled user).
pub trait Revocations: Send + Sync {
    /// Whether `subject` may no longer act, whatever its tokens say.
    fn is_revoked(&self, subject: &str) -> bool;
}

/// How a process authenticates.
#[derive(Clone)]
pub enum Authentication {
    /// Verifies bearer tokens.
    Tokens {
        /// The verifier of every trusted issuer.
        verifier: Arc<Verifier>,
        /// Subjects whose tokens no longer count.
        revocations: Arc<dyn Revocations>,
    },
    /// Switched off (`--auth disabled`): every caller is [`Caller::Unchecked`].
    Disabled,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RefusalLabels {
    code: &'static str,
}

/// Calls the auth layers refused, by the code they answered (`UNAUTHENTICATED`,
/// `PERMISSION_DENIED`).
#[derive(Debug, Clone, Default)]
pub struct Refusals(Family<RefusalLabels, Counter>);

impl Refusals {
    /// The counter, registered in `metrics`.
    pub fn new(metrics: &Metrics) -> Self {
        Self(metrics.register(
            "auth_refusals",
            "Calls refused by the auth layers, by the code answered.",
            Family::default(),
        ))
    }

    fn count(&self, status: &Status) {
        let code = match status.code() {
            tonic::Code::Unauthenticated => "UNAUTHENTICATED",
            tonic::Code::PermissionDenied => "PERMISSION_DENIED",
            _ => "OTHER",
        };
        self.0.get_or_create(&RefusalLabels { code }).inc();
    }
}

/// Puts the [`Caller`] of every request in its extensions.
#[derive(Clone)]
pub struct AuthenticationLayer {
    authentication: Authentication,
    refusals: Refusals,
    certificates: Arc<CertificateRoles>,
}

impl AuthenticationLayer {
    /// Authenticates with `authentication`, counting refusals in `refusals`.
    pub fn new(authentication: Authentication, refusals: Refusals) -> Self {
        Self {
            authentication,
            refusals,
            certificates: Arc::default(),
        }
    }

    /// Also takes the client certificates `certificates` lists as principals, for calls
    /// without a token.
    pub fn with_certificates(self, certificates: CertificateRoles) -> Self {
        Self {
            certificates: Arc::new(certificates),
            ..self
        }
    }
}

impl<S> Layer<S> for AuthenticationLayer {
    type Service = Authenticate<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Authenticate {
            inner,
            authentication: self.authentication.clone(),
            refusals: self.refusals.clone(),
            certificates: self.certificates.clone(),
        }
    }
}

/// The service [`AuthenticationLayer`] wraps around the routes.
#[derive(Clone)]
pub struct Authenticate<S> {
    inner: S,
    authentication: Authentication,
    refusals: Refusals,
    certificates: Arc<CertificateRoles>,
}

type Answer<E> = Pin<Box<dyn Future<Output = Result<http::Response<Body>, E>> + Send>>;

impl<S, B> Service<http::Request<B>> for Authenticate<S>
where
    S: Service<http::Request<B>, Response = http::Response<Body>> + Clone + Send + 'static,
    S::Future: Send,
    B: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = Answer<S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        // The clone that was not polled ready stays here; the ready one serves this request.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let authentication = self.authentication.clone();
        let refusals = self.refusals.clone();
        let header = request
            .headers()
            .get(http::header::AUTHORIZATION)
            .map(|v| v.to_str().map(str::to_owned));
        let certified = request
            .extensions()
            .get::<ConnectionInfo>()
            .and_then(|connection| connection.peer.as_deref())
            .and_then(|peer| self.certificates.principal(peer))
            .map(Caller::Verified);
        Box::pin(async move {
            let caller = match authentication {
                Authentication::Disabled => Ok(Caller::Unchecked),
                Authentication::Tokens {
                    verifier,
                    revocations,
                } => match (header, certified) {
                    (None, Some(certified)) => Ok(certified),
                    (header, _) => identify(header, &verifier, &*revocations).await,
                },
            };
            match caller {
                Ok(caller) => {
                    let subject = caller.principal().map(|p| Subject(p.subject.clone()));
                    request.extensions_mut().insert(caller);
                    let mut response = inner.call(request).await?;
                    if let Some(subject) = subject {
                        response.extensions_mut().insert(subject);
                    }
                    Ok(response)
                }
                Err(refused) => {
                    debug!(path = request.uri().path(), reason = %refused, "refused a token");
                    let status = Status::unauthenticated(refused.to_string());
                    refusals.count(&status);
                    Ok(status.into_http())
                }
            }
        })
    }
}

/// The caller an `authorization` header (absent, or its text when it is text) proves.
async fn identify(
    header: Option<Result<String, http::header::ToStrError>>,
    verifier: &Verifier,
    revocations: &dyn Revocations,
) -> Result<Caller, AuthError> {
    let Some(header) = header else {
        return Ok(Caller::Anonymous);
    };
    let token = header
        .ok()
        .as_deref()
        .and_then(|v| {
            // The scheme is case-insensitive (RFC 7235).
            let (scheme, token) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then_some(token)
        })
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .ok_or(AuthError::Malformed)?;
    let principal = verifier.verify(&token).await?;
    if revocations.is_revoked(&principal.subject) {
        return Err(AuthError::Disabled);
    }
    Ok(Caller::Verified(principal))
}

/// Enforces every RPC's access rule.
#[derive(Clone)]
pub struct AuthorizationLayer {
    table: Arc<AccessTable>,
    refusals: Refusals,
}

impl AuthorizationLayer {
    /// Enforces the rules of `table`, counting refusals in `refusals`.
    pub fn new(table: AccessTable, refusals: Refusals) -> Self {
        Self {
            table: Arc::new(table),
            refusals,
        }
    }
}

impl<S> Layer<S> for AuthorizationLayer {
    type Service = Authorize<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Authorize {
            inner,
            table: self.table.clone(),
            refusals: self.refusals.clone(),
        }
    }
}

/// The service [`AuthorizationLayer`] wraps around the routes.
#[derive(Clone)]
pub struct Authorize<S> {
    inner: S,
    table: Arc<AccessTable>,
    refusals: Refusals,
}

impl<S, B> Service<http::Request<B>> for Authorize<S>
where
    S: Service<http::Request<B>, Response = http::Response<Body>>,
    S::Future: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = futures::future::Either<
        futures::future::Ready<Result<http::Response<Body>, S::Error>>,
        S::Future,
    >;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let caller = request
            .extensions()
            .get::<Caller>()
            .cloned()
            .unwrap_or_default();
        match decide(self.table.rule(request.uri().path()), &caller) {
            Ok(()) => futures::future::Either::Right(self.inner.call(request)),
            Err(status) => {
                self.refusals.count(&status);
                futures::future::Either::Left(futures::future::ready(Ok(status.into_http())))
            }
        }
    }
}

/// Whether `caller` may call an RPC with `rule`.
pub fn decide(rule: Option<&Rule>, caller: &Caller) -> Result<(), Status> {
    match (rule, caller) {
        (_, Caller::Unchecked) | (Some(Rule::Public), _) => Ok(()),
        (None, _) => Err(Status::permission_denied(
            "this RPC declares no access rule, so nobody may call it",
        )),
        (Some(Rule::Roles(_)), Caller::Anonymous) => {
            Err(Status::unauthenticated(AuthError::Missing.to_string()))
        }
        (Some(Rule::Roles(roles)), caller) if caller.has_any(roles) => Ok(()),
        (Some(Rule::Roles(roles)), _) => Err(Status::permission_denied(format!(
            "this RPC needs one of the roles: {}",
            roles.join(", ")
        ))),
    }
}
