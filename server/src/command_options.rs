//! What every command RPC shares at the edge: turning `CommandOptions` and request metadata into
//! a validated [`CommandContext`], and a kernel [`Ack`] back into the proto `CommandAck`.

use causeway_proto::common::{CommandAck, CommandOptions};
use tonic::metadata::MetadataMap;

use crate::kernel::{Ack, CommandContext, CommandError};

/// Longest accepted command id; long enough for any UUID or HTTP idempotency key.
const MAX_COMMAND_ID_LEN: usize = 128;

/// The context of a command from its `options` field and the request's metadata
/// (`x-correlation-id`, `x-actor`, `x-tenant-id`, `traceparent`).
pub fn command_context(
    options: Option<&CommandOptions>,
    metadata: &MetadataMap,
) -> Result<CommandContext, CommandError> {
    let options = options.ok_or_else(|| {
        CommandError::invalid(
            "options",
            "required: carries the command_id idempotency key",
        )
    })?;
    let command_id = options.command_id.trim();
    if command_id.is_empty() {
        return Err(CommandError::invalid(
            "options.command_id",
            "required: a client-chosen idempotency key such as a UUIDv7",
        ));
    }
    if command_id.len() > MAX_COMMAND_ID_LEN || command_id.chars().any(char::is_control) {
        return Err(CommandError::invalid(
            "options.command_id",
            format!("at most {MAX_COMMAND_ID_LEN} printable characters"),
        ));
    }
    let header = |name: &str| {
        metadata
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let correlation_id = Some(options.correlation_id.trim())
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
        .or_else(|| header("x-correlation-id"));
    Ok(CommandContext {
        command_id: command_id.to_owned(),
        expected_revision: options.expected_revision,
        correlation_id,
        actor: header("x-actor"),
        tenant: header("x-tenant-id"),
        traceparent: header("traceparent"),
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

    #[test]
    fn requires_options_and_a_command_id() {
        let md = MetadataMap::new();
        let field = |e: CommandError| match e {
            CommandError::Invalid(v) => v[0].field.clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(field(command_context(None, &md).unwrap_err()), "options");
        assert_eq!(
            field(command_context(Some(&options("  ")), &md).unwrap_err()),
            "options.command_id"
        );
        let long = "x".repeat(129);
        assert_eq!(
            field(command_context(Some(&options(&long)), &md).unwrap_err()),
            "options.command_id"
        );
    }

    #[test]
    fn takes_tracing_headers_and_defaults_nothing_it_was_not_given() {
        let mut md = MetadataMap::new();
        md.insert("x-correlation-id", "flow-1".parse().unwrap());
        md.insert("x-tenant-id", "acme".parse().unwrap());
        let mut opts = options("cmd-1");
        opts.expected_revision = Some(3);
        let ctx = command_context(Some(&opts), &md).unwrap();
        assert_eq!(ctx.command_id, "cmd-1");
        assert_eq!(ctx.expected_revision, Some(3));
        assert_eq!(ctx.correlation_id.as_deref(), Some("flow-1"));
        assert_eq!(ctx.tenant.as_deref(), Some("acme"));
        assert_eq!(ctx.actor, None);
    }
}
