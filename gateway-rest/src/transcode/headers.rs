//! The convention headers: `Idempotency-Key`, `If-Match`, `X-Min-Position` and (on event
//! streams) `Last-Event-ID` fill the request fields found by shape when the routes were built. A REST caller sends no `options`, so a
//! command without `Idempotency-Key` (and without `options.commandId` in its body) is refused
//! here, naming the header. Every refusal names its header in `fieldViolations`.

use http::{HeaderMap, HeaderValue, header};
use prost_reflect::{DynamicMessage, Value};

use super::{
    IDEMPOTENCY_KEY, LAST_EVENT_ID, MIN_POSITION,
    fields::{descend, display_path, get, is_set, scalar_from_text},
};
use crate::{
    error::ApiError,
    routes::{FieldPath, Route},
};

/// Applies `Idempotency-Key`, `If-Match` and `X-Min-Position`; returns whether `If-Match` set
/// the expected revision.
pub(super) fn bind_headers(
    route: &Route,
    message: &mut DynamicMessage,
    headers: &HeaderMap,
) -> Result<bool, ApiError> {
    let conventions = &route.conventions;
    if let Some(fields) = &conventions.command_id {
        if let Some(value) = headers.get(IDEMPOTENCY_KEY) {
            let key = header_text(value, "Idempotency-Key")?;
            if key.is_empty() {
                return Err(refuse("Idempotency-Key", "must not be empty"));
            }
            set_unless_different(message, fields, key, "Idempotency-Key")?;
        }
        let given =
            matches!(get(message, fields), Some(Value::String(key)) if !key.trim().is_empty());
        if !given {
            return Err(refuse(
                "Idempotency-Key",
                "is required on commands: a key of your choosing (a UUID, say), sent again \
                 unchanged when you retry, so the command is applied once",
            ));
        }
    }

    let mut conditional = false;
    if let Some(value) = headers.get(header::IF_MATCH) {
        let Some(fields) = &conventions.expected_revision else {
            return Err(refuse(
                "If-Match",
                "is only supported on commands that take an expected revision",
            ));
        };
        if let Some(revision) = parse_if_match(header_text(value, "If-Match")?)? {
            set_unless_different(message, fields, &revision.to_string(), "If-Match")?;
            conditional = true;
        }
    }

    if let (Some(fields), Some(value)) = (&conventions.min_position, headers.get(MIN_POSITION)) {
        let position = header_text(value, "X-Min-Position")?
            .parse::<u64>()
            .map_err(|_| {
                refuse(
                    "X-Min-Position",
                    "must be a position as returned in X-Position (an unsigned integer)",
                )
            })?;
        set_unless_different(message, fields, &position.to_string(), "X-Min-Position")?;
    }

    // An event stream's reconnection: the browser resends the original URL (with its
    // `after`) and the id of the last event it received, which is where to go on from.
    if let (Some(fields), Some(value)) = (&conventions.resume_after, headers.get(LAST_EVENT_ID))
        && let Some(leaf) = fields.last()
    {
        let text = header_text(value, "Last-Event-ID")?;
        if !text.is_empty() {
            let position = text.parse::<u64>().map_err(|_| {
                refuse(
                    "Last-Event-ID",
                    "must be the id of an event this stream sent (a position)",
                )
            })?;
            message.set_field(leaf, Value::U64(position));
        }
    }
    Ok(conditional)
}

/// A 400 because of `header`: "`header` `why`" as the message, and the header as the field.
fn refuse(header: &str, why: &str) -> ApiError {
    ApiError::bad_request(format!("{header} {why}")).with_violation(header, why)
}

fn header_text<'a>(value: &'a HeaderValue, name: &str) -> Result<&'a str, ApiError> {
    value
        .to_str()
        .map(str::trim)
        .map_err(|_| refuse(name, "must be visible ASCII"))
}

/// `"7"` (the ETag the gateway sends) or a bare `7` is revision 7; `*` matches any revision,
/// so it sets nothing.
pub(super) fn parse_if_match(text: &str) -> Result<Option<u64>, ApiError> {
    if text == "*" {
        return Ok(None);
    }
    let bad = || {
        refuse(
            "If-Match",
            "must be one ETag as sent by a read (like \"7\"), or *; weak tags and lists are \
             not supported",
        )
    };
    let inner = match text.strip_prefix('"') {
        Some(rest) => rest.strip_suffix('"').ok_or_else(bad)?,
        None => text,
    };
    inner.parse::<u64>().map(Some).map_err(|_| bad())
}

/// Sets `fields` to `text` (read as the field's type) unless the body or query already set it
/// to something else.
fn set_unless_different(
    message: &mut DynamicMessage,
    fields: &FieldPath,
    text: &str,
    header: &str,
) -> Result<(), ApiError> {
    let (leaf, parents) = match fields.split_last() {
        Some(split) => split,
        None => return Ok(()),
    };
    let value = scalar_from_text(&leaf.kind(), text)
        .map_err(|why| refuse(header, &format!("cannot be read: {why}")))?;
    if is_set(message, fields) {
        let current = get(message, fields);
        if current.as_ref() != Some(&value) {
            let path = display_path(fields);
            return Err(refuse(
                header,
                &format!("and {path} in the request body disagree; send one of them"),
            ));
        }
        return Ok(());
    }
    descend(message, parents)
        .and_then(|target| target.try_set_field(leaf, value).ok())
        .ok_or_else(|| refuse(header, &format!("cannot set {}", display_path(fields))))
}
