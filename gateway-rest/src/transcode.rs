//! JSON and HTTP in, protobuf out, and back, by the proto3 JSON mapping, for any route.
//!
//! A request message is assembled in a fixed order, each source refusing what another one
//! already bound: the body (all of it, one field, or nothing), then path variables, then
//! query parameters (only on routes whose body does not take the whole message), then the
//! convention headers. Every refusal is a 400 (413 or 415 for the body itself) whose message
//! and `fieldViolations` name the field, parameter or header at fault, and nothing is
//! forwarded.
//!
//! Layout: `body` (JSON into the message, and which field a wrong value belongs to),
//! `duplicates` (keys given twice),
//! `query`, `headers` (the conventions), `fields` (field paths in a `DynamicMessage`,
//! scalars from text), `response` (the message back to JSON and headers).

mod blame;
mod body;
mod duplicates;
mod fields;
mod headers;
mod query;
mod response;

use bytes::Bytes;
use http::HeaderMap;
use prost_reflect::DynamicMessage;

pub use self::fields::{TEXT_MESSAGES, display_path};
pub use self::response::{WELL_KNOWN_CACHE_CONTROL, response};
use self::{
    body::read_body,
    fields::{is_set, set_from_text},
    headers::bind_headers,
    query::bind_query,
};
use crate::{
    error::ApiError,
    routes::{BodyRule, Route},
    template::decode,
};

/// The header whose value becomes `options.commandId`.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
/// The header whose value becomes `consistency.minPosition`.
pub const MIN_POSITION: &str = "x-min-position";
/// The header a Server-Sent Events client reconnects with: the id (position) of the last event
/// it received, which becomes the request's `after`.
pub const LAST_EVENT_ID: &str = "last-event-id";
/// The header that carries a command's global position back.
pub const POSITION: &str = "x-position";

/// A request message ready to forward.
#[derive(Debug)]
pub struct Transcoded {
    /// The message.
    pub message: DynamicMessage,
    /// Whether `If-Match` set the expected revision (then `ABORTED` answers 412).
    pub conditional: bool,
}

/// Builds the request message of `route` from the HTTP request's parts; `path_values` are the
/// template's values as matched, still percent-encoded.
pub fn request(
    route: &Route,
    path_values: &[String],
    query: Option<&str>,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Transcoded, ApiError> {
    let input = route.rpc.input();
    let mut message = read_body(route, &input, headers, body)?;

    for (fields, raw) in route.path_fields.iter().zip(path_values) {
        let name = display_path(fields);
        let refuse = |why: String| {
            ApiError::bad_request(format!("path parameter {name}: {why}"))
                .with_violation(&name, why)
        };
        let value = decode(raw).map_err(|bad| refuse(bad.to_string()))?;
        if value.is_empty() {
            return Err(refuse("required: the path gives it no value".to_owned()));
        }
        if let BodyRule::Whole = route.body
            && is_set(&message, fields)
        {
            return Err(ApiError::bad_request(format!(
                "{name} is given by the path; leave it out of the body"
            ))
            .with_violation(&name, "given by the path; leave it out of the body"));
        }
        set_from_text(&mut message, fields, &value, false).map_err(refuse)?;
    }

    if let Some(query) = query.filter(|q| !q.is_empty()) {
        bind_query(route, &input, &mut message, query)?;
    }

    let conditional = bind_headers(route, &mut message, headers)?;
    Ok(Transcoded {
        message,
        conditional,
    })
}

#[cfg(test)]
mod tests;
