//! What every command RPC shares at the edge, once: the command context from `options` and the
//! request context, the request's fingerprint, conversion into the domain command with every
//! violation reported together, the kernel call, and the acknowledgement back.
//!
//! A handler is one call: `acknowledge::<_, ConfirmOrder, _>(&commands, request)`, or `parse`
//! followed by its own application step when the command is more than one decision.

use causeway_proto::{
    common::{CommandAck, CommandOptions},
    identity, inventory, orders,
};
use prost::Message;
use tonic::{Request, Response, Status};

use super::{
    context::RequestContext,
    validation::{Invalid, both},
};
use crate::auth::Caller;
use crate::kernel::{Ack, CommandContext, CommandHandler, Decision, ids};
use crate::values::invisible;

/// Longest accepted command or correlation id; long enough for any UUID or HTTP idempotency key.
pub const MAX_COMMAND_ID_CHARS: usize = 128;

/// A command RPC's request: where its options are, and what of it identifies the request.
pub trait CommandRequest: Message + Clone + Sized + Send + 'static {
    /// The request's command options.
    fn options(&self) -> Option<&CommandOptions>;

    /// The request as its fingerprint sees it: without options (a retry may change those) and
    /// without secrets (a fingerprint is stored with the events).
    fn fingerprinted(&self) -> Self;
}

/// A command RPC's response that carries only the acknowledgement.
pub trait Acknowledged {
    /// The response for `ack`.
    fn acknowledged(ack: CommandAck) -> Self;
}

macro_rules! command_requests {
    ($($request:ty),+ $(,)?) => {
        $(impl CommandRequest for $request {
            fn options(&self) -> Option<&CommandOptions> {
                self.options.as_ref()
            }
            fn fingerprinted(&self) -> Self {
                Self { options: None, ..self.clone() }
            }
        })+
    };
}

command_requests!(
    orders::PlaceOrderRequest,
    orders::ConfirmOrderRequest,
    orders::RejectOrderRequest,
    orders::CancelOrderRequest,
    orders::ShipOrderRequest,
    inventory::RegisterProductRequest,
    inventory::ReceiveStockRequest,
    inventory::ReserveStockRequest,
    inventory::ReleaseStockRequest,
    identity::GrantRoleRequest,
    identity::RevokeRoleRequest,
    identity::DisableUserRequest,
);

/// The password is left out: a digest of it stored beside the events would be an
/// offline-crackable copy. A retry with another password is the same registration.
impl CommandRequest for identity::RegisterUserRequest {
    fn options(&self) -> Option<&CommandOptions> {
        self.options.as_ref()
    }
    fn fingerprinted(&self) -> Self {
        Self {
            options: None,
            password: String::new(),
            ..self.clone()
        }
    }
}

macro_rules! acknowledged {
    ($($response:ty),+ $(,)?) => {
        $(impl Acknowledged for $response {
            fn acknowledged(ack: CommandAck) -> Self {
                Self { ack: Some(ack) }
            }
        })+
    };
}

acknowledged!(
    orders::ConfirmOrderResponse,
    orders::RejectOrderResponse,
    orders::CancelOrderResponse,
    orders::ShipOrderResponse,
    inventory::RegisterProductResponse,
    inventory::ReceiveStockResponse,
    inventory::ReserveStockResponse,
    inventory::ReleaseStockResponse,
    identity::GrantRoleResponse,
    identity::RevokeRoleResponse,
    identity::DisableUserResponse,
);

/// A command request after the edge: its context, the domain command, and who sent it (for
/// the ownership rules of the context's application step).
#[derive(Debug)]
pub struct Parsed<C> {
    /// Command id, options, trace context, actor and tenant.
    pub context: CommandContext,
    /// The validated domain command.
    pub command: C,
    /// The caller the auth layer established.
    pub caller: Caller,
}

/// The command context and the domain command of `request`, or every violation of both.
pub fn parse<R, C>(request: Request<R>) -> Result<Parsed<C>, Status>
where
    R: CommandRequest,
    C: TryFrom<R, Error = Invalid>,
{
    let (_, extensions, request) = request.into_parts();
    let headers = extensions
        .get::<RequestContext>()
        .cloned()
        .unwrap_or_default();
    // The authentication layer always sets the caller; a handler called in-process without
    // it (tests, embedders) acts as with authentication disabled.
    let caller = extensions
        .get::<Caller>()
        .cloned()
        .unwrap_or(Caller::Unchecked);
    let fingerprint = ids::fingerprint(&request.fingerprinted().encode_to_vec());
    let context = command_context(request.options(), headers, &caller, fingerprint);
    let (context, command) = both(context, C::try_from(request))?;
    Ok(Parsed {
        context,
        command,
        caller,
    })
}

/// Runs a command that is one decision on one aggregate and answers its acknowledgement.
pub async fn acknowledge<R, C, P>(
    commands: &CommandHandler,
    request: Request<R>,
) -> Result<Response<P>, Status>
where
    R: CommandRequest,
    C: Decision + TryFrom<R, Error = Invalid>,
    P: Acknowledged,
{
    let parsed = parse::<R, C>(request)?;
    let ack = commands.handle(&parsed.context, &parsed.command).await?;
    Ok(Response::new(P::acknowledged(ack.into())))
}

/// The context of a command from its `options`, its request context and its caller (the
/// actor and tenant recorded with its events).
fn command_context(
    options: Option<&CommandOptions>,
    headers: RequestContext,
    caller: &Caller,
    fingerprint: String,
) -> Result<CommandContext, Invalid> {
    let options = options.ok_or_else(|| {
        Invalid::field("options", "required: carries the commandId idempotency key")
    })?;
    let command_id = options.command_id.trim();
    if command_id.is_empty() {
        return Err(Invalid::field(
            "options.commandId",
            "required: a client-chosen idempotency key such as a UUIDv7",
        ));
    }
    let printable = |id: &str| {
        id.chars().count() <= MAX_COMMAND_ID_CHARS
            && !id.chars().any(|c| c.is_control() || invisible(c))
    };
    if !printable(command_id) {
        return Err(Invalid::field(
            "options.commandId",
            format!("at most {MAX_COMMAND_ID_CHARS} printable characters, none of them invisible"),
        ));
    }
    let correlation_id = options.correlation_id.trim();
    if !printable(correlation_id) {
        return Err(Invalid::field(
            "options.correlationId",
            format!("at most {MAX_COMMAND_ID_CHARS} printable characters, none of them invisible"),
        ));
    }
    Ok(CommandContext {
        command_id: command_id.to_owned(),
        expected_revision: options.expected_revision,
        correlation_id: Some(correlation_id)
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .or(headers.correlation_id),
        actor: caller.principal().map(|p| p.subject.clone()),
        tenant: caller.principal().and_then(|p| p.tenant.clone()),
        // The server's own span continues the caller's trace; what its events store points at
        // this request, so their projection can be followed back to it.
        traceparent: causeway_telemetry::traces::traceparent(&tracing::Span::current())
            .or(headers.traceparent),
        fingerprint: Some(fingerprint),
    })
}

impl From<Ack> for CommandAck {
    fn from(ack: Ack) -> Self {
        Self {
            stream_id: ack.stream_id,
            revision: ack.revision,
            position: ack.position,
            deduplicated: ack.deduplicated,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(command_id: &str) -> CommandOptions {
        CommandOptions {
            command_id: command_id.into(),
            ..CommandOptions::default()
        }
    }

    fn field(result: Result<CommandContext, Invalid>) -> String {
        result.unwrap_err().0[0].field.clone()
    }

    fn context(options: Option<&CommandOptions>) -> Result<CommandContext, Invalid> {
        command_context(
            options,
            RequestContext::default(),
            &Caller::Unchecked,
            "f".into(),
        )
    }

    #[test]
    fn requires_options_and_a_bounded_command_id() {
        assert_eq!(field(context(None)), "options");
        assert_eq!(field(context(Some(&options("  ")))), "options.commandId");
        let long = "x".repeat(MAX_COMMAND_ID_CHARS + 1);
        assert_eq!(field(context(Some(&options(&long)))), "options.commandId");
        let mut huge = options("c-1");
        huge.correlation_id = "x".repeat(MAX_COMMAND_ID_CHARS + 1);
        assert_eq!(field(context(Some(&huge))), "options.correlationId");
        assert_eq!(
            field(context(Some(&options("c\u{202E}1")))),
            "options.commandId"
        );
    }

    #[test]
    fn the_actor_and_tenant_are_the_verified_callers_and_nothing_else() {
        let headers = RequestContext {
            correlation_id: Some("flow-1".into()),
            ..RequestContext::default()
        };
        let mut opts = options("cmd-1");
        opts.expected_revision = Some(3);
        let caller = Caller::Verified(crate::auth::Principal {
            subject: "u-7".into(),
            roles: Default::default(),
            tenant: Some("acme".into()),
            issuer: "causeway".into(),
        });
        let ctx = command_context(Some(&opts), headers.clone(), &caller, "f".into()).unwrap();
        assert_eq!(ctx.command_id, "cmd-1");
        assert_eq!(ctx.expected_revision, Some(3));
        assert_eq!(ctx.correlation_id.as_deref(), Some("flow-1"));
        assert_eq!(ctx.actor.as_deref(), Some("u-7"));
        assert_eq!(ctx.tenant.as_deref(), Some("acme"));
        assert_eq!(ctx.fingerprint.as_deref(), Some("f"));
        let unchecked = command_context(Some(&opts), headers, &Caller::Unchecked, "f".into());
        let unchecked = unchecked.unwrap();
        assert_eq!((unchecked.actor, unchecked.tenant), (None, None));
    }

    #[test]
    fn a_fingerprint_ignores_options_and_passwords_but_not_the_request() {
        let print = |r: &identity::RegisterUserRequest| {
            ids::fingerprint(&r.fingerprinted().encode_to_vec())
        };
        let first = identity::RegisterUserRequest {
            options: Some(options("c-1")),
            email: "ada@example.com".into(),
            display_name: "Ada".into(),
            password: "correct horse".into(),
        };
        let retry = identity::RegisterUserRequest {
            options: Some(options("c-1-again")),
            password: "other horse".into(),
            ..first.clone()
        };
        let other = identity::RegisterUserRequest {
            display_name: "Grace".into(),
            ..first.clone()
        };
        assert_eq!(print(&first), print(&retry));
        assert_ne!(print(&first), print(&other));
    }
}
