//! An operation's parameters: the path variables, the query parameters (every scalar the path
//! and the body leave, as a dotted JSON-name path) and the convention headers. Each carries
//! the comment of its field.

use prost_reflect::{FieldDescriptor, Kind, MessageDescriptor};
use serde_json::{Value, json};

use super::{
    comments::Comments,
    schema::{field_description, text_schema, well_known},
};
use crate::{
    routes::{BodyRule, Route},
    transcode::TEXT_MESSAGES,
};

/// How deep query parameters reach into nested messages (`consistency.minPosition` is 2).
const MAX_QUERY_DEPTH: usize = 4;

/// Every parameter of `route`.
pub(super) fn parameters(route: &Route, comments: &Comments) -> Vec<Value> {
    let mut parameters = Vec::new();
    for (variable, fields) in route.template.variables().iter().zip(&route.path_fields) {
        if let Some(leaf) = fields.last() {
            let mut parameter = json!({
                "name": variable.field_path,
                "in": "path",
                "required": true,
                "schema": text_schema(leaf),
            });
            if let Some(text) = field_description(leaf, comments) {
                parameter["description"] = json!(text);
            }
            parameters.push(parameter);
        }
    }
    if !matches!(route.body, BodyRule::Whole) {
        let input = route.rpc.input();
        let mut chain = vec![input.full_name().to_owned()];
        query_parameters(
            route,
            &input,
            "",
            &[],
            &mut chain,
            comments,
            &mut parameters,
        );
    }
    parameters.extend(convention_headers(route));
    parameters
}

/// The headers the route's conventions take.
fn convention_headers(route: &Route) -> Vec<Value> {
    let conventions = &route.conventions;
    let mut headers = Vec::new();
    if conventions.command_id.is_some() {
        headers.push(json!({
            "name": "Idempotency-Key",
            "in": "header",
            "required": true,
            "description": "Sets options.commandId; required on every command (a REST caller \
                sends no options). A key of your choosing, e.g. a UUID. Its scope is the entity \
                the command targets: repeat the same request with the same key and the command \
                is applied once, answering with the original acknowledgement \
                (deduplicated: true); the same key with a different request on the same entity \
                answers 409 ALREADY_EXISTS and writes nothing.",
            "schema": {"type": "string", "minLength": 1},
        }));
    }
    if conventions.expected_revision.is_some() {
        headers.push(json!({
            "name": "If-Match",
            "in": "header",
            "description": "An ETag from a read (\"7\"): sets options.expectedRevision; a \
                mismatch answers 412 and changes nothing.",
            "schema": {"type": "string", "pattern": "^(\\*|\"[0-9]+\"|[0-9]+)$"},
        }));
    }
    if conventions.min_position.is_some() {
        headers.push(json!({
            "name": "X-Min-Position",
            "in": "header",
            "description": "Read your writes: sets consistency.minPosition to a command's \
                X-Position; the query waits (within the deadline) until the read model has \
                applied it, else 504.",
            "schema": {"type": "string", "pattern": "^[0-9]+$"},
        }));
    }
    if conventions.resume_after.is_some() {
        headers.push(json!({
            "name": "Last-Event-ID",
            "in": "header",
            "description": "The id of the last event received, as an event stream client                 sends it when it reconnects: the stream goes on after that position                 (overriding the after parameter).",
            "schema": {"type": "string", "pattern": "^[0-9]+$"},
        }));
    }
    headers
}

/// Every scalar leaf reachable through singular message fields, as a dotted JSON-name query
/// parameter, except fields the path or the body binds.
fn query_parameters(
    route: &Route,
    message: &MessageDescriptor,
    prefix: &str,
    parents: &[FieldDescriptor],
    chain: &mut Vec<String>,
    comments: &Comments,
    out: &mut Vec<Value>,
) {
    for field in message.fields() {
        let mut path = parents.to_vec();
        path.push(field.clone());
        if route.path_fields.contains(&path) {
            continue;
        }
        if let BodyRule::Field(body) = &route.body
            && path.first() == Some(body)
        {
            continue;
        }
        let name = format!("{prefix}{}", field.json_name());
        match field.kind() {
            Kind::Message(inner)
                if !field.is_list() && TEXT_MESSAGES.contains(&inner.full_name()) =>
            {
                let mut parameter = json!({
                    "name": name,
                    "in": "query",
                    "required": false,
                    "schema": well_known(&inner),
                });
                if let Some(text) = field_description(&field, comments) {
                    parameter["description"] = json!(text);
                }
                out.push(parameter);
            }
            Kind::Message(inner) => {
                if field.is_list()
                    || field.is_map()
                    || well_known(&inner).is_some()
                    || chain.len() >= MAX_QUERY_DEPTH
                    || chain.iter().any(|n| n == inner.full_name())
                {
                    continue;
                }
                chain.push(inner.full_name().to_owned());
                query_parameters(
                    route,
                    &inner,
                    &format!("{name}."),
                    &path,
                    chain,
                    comments,
                    out,
                );
                chain.pop();
            }
            _ => {
                let schema = if field.is_list() {
                    json!({"type": "array", "items": text_schema(&field)})
                } else {
                    text_schema(&field)
                };
                let mut parameter = json!({
                    "name": name,
                    "in": "query",
                    "required": false,
                    "schema": schema,
                });
                if field.is_list() {
                    parameter["style"] = json!("form");
                    parameter["explode"] = json!(true);
                }
                if let Some(text) = field_description(&field, comments) {
                    parameter["description"] = json!(text);
                }
                out.push(parameter);
            }
        }
    }
}
