//! An operation's responses, derived from the one list of answers in [`crate::mapping`]: every
//! HTTP status the gRPC table can produce, described by the codes behind it and what each
//! means, with the headers those answers carry (`WWW-Authenticate` on 401, `Retry-After`),
//! plus the gateway's own answers that can come from this route. Also the error body's schema
//! and the health answer.

use std::collections::BTreeMap;

use http::Method;
use serde_json::{Map, Value, json};
use tonic::Code;

use super::schema::reference;
use crate::{
    mapping::{ANSWER_HEADERS, Applies, MAPPING, REFUSALS, Refusal, mapping},
    routes::{BodyRule, Route},
    transcode::WELL_KNOWN_CACHE_CONTROL,
};

/// Component name of the error body every failure uses.
pub(super) const ERROR_SCHEMA: &str = "GatewayError";

/// Every response `route` can give, by HTTP status.
pub(super) fn responses(route: &Route) -> Map<String, Value> {
    let mut meanings: BTreeMap<u16, Vec<String>> = BTreeMap::new();
    for row in MAPPING.iter().filter(|row| row.code != Code::Ok) {
        meanings
            .entry(row.http)
            .or_default()
            .push(format!("{}: {}.", row.name, row.meaning));
    }
    for refusal in REFUSALS.iter().filter(|r| applies(r, route)) {
        let name = crate::error::code_name(refusal.code);
        meanings
            .entry(refusal.http)
            .or_default()
            .push(format!("{name}, from the gateway: {}.", refusal.meaning));
    }
    let mut responses = Map::new();
    responses.insert("200".into(), ok_response(route));
    for (status, lines) in meanings {
        let mut response = error_response(&lines.join(" "));
        let headers = answer_headers(status);
        if !headers.is_empty() {
            response["headers"] = Value::Object(headers);
        }
        responses.insert(status.to_string(), response);
    }
    responses
}

/// The headers answers of HTTP `status` can carry, from [`ANSWER_HEADERS`]. A header is
/// required only when every code behind the status always sends it.
fn answer_headers(status: u16) -> Map<String, Value> {
    let codes: Vec<Code> = MAPPING
        .iter()
        .filter(|row| row.http == status)
        .map(|row| row.code)
        .collect();
    let mut headers = Map::new();
    for answer in ANSWER_HEADERS
        .iter()
        .filter(|a| mapping(a.code).http == status)
    {
        let always = codes.iter().all(|code| {
            ANSWER_HEADERS
                .iter()
                .any(|a| a.code == *code && a.name == answer.name && a.always)
        });
        let schema = match answer.pattern {
            Some(pattern) => json!({"type": "string", "pattern": pattern}),
            None => json!({"type": "string"}),
        };
        headers.insert(
            answer.name.to_owned(),
            json!({"description": answer.meaning, "required": always, "schema": schema}),
        );
    }
    headers
}

/// Whether `route` can answer `refusal`.
fn applies(refusal: &Refusal, route: &Route) -> bool {
    match refusal.applies {
        Applies::WithBody => !matches!(route.body, BodyRule::None),
        Applies::WithExpectedRevision => route.conventions.expected_revision.is_some(),
        Applies::NoOperation => false,
        Applies::Always => true,
    }
}

/// The success answer: the response message, with `ETag` on reads and `X-Position` on
/// commands.
fn ok_response(route: &Route) -> Value {
    let conventions = &route.conventions;
    let mut headers = Map::new();
    if route.http_method == Method::GET && conventions.etag.is_some() {
        headers.insert(
            "ETag".into(),
            json!({
                "description": "The revision of the entity read; send it back as If-Match.",
                "schema": {"type": "string"},
            }),
        );
    }
    if route.http_method != Method::GET && conventions.position.is_some() {
        headers.insert(
            "X-Position".into(),
            json!({
                "description": "Global position of the command's last event; send it as \
                    X-Min-Position to read this write back.",
                "schema": {"type": "string", "pattern": "^[0-9]+$"},
            }),
        );
    }
    if route.well_known {
        headers.insert(
            "Cache-Control".into(),
            json!({
                "description": format!(
                    "`{WELL_KNOWN_CACHE_CONTROL}`: the document may be reused that long."
                ),
                "required": true,
                "schema": {"type": "string"},
            }),
        );
    }
    let mut ok = match route.streaming {
        false => json!({
            "description": "OK",
            "content": {"application/json": {"schema": reference(&route.rpc.output())}},
        }),
        true => json!({
            "description": format!(
                "Server-Sent Events, one per message, until the client goes. Each message's item                  is an event named after its field (its schema: {}), its JSON the data and its                  position the id; a comment line is sent while nothing happens; an `error` event                  with the error body ends the stream.",
                route.rpc.output().full_name()
            ),
            "content": {crate::sse::EVENT_STREAM: {
                "schema": {"type": "string"},
                "x-message-schema": reference(&route.rpc.output()),
            }},
        }),
    };
    if !headers.is_empty() {
        ok["headers"] = Value::Object(headers);
    }
    ok
}

fn error_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{ERROR_SCHEMA}")}}},
    })
}

/// An answer of `/healthz`.
pub(super) fn health_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": {
            "type": "object",
            "required": ["status"],
            "properties": {
                "status": {"type": "string"},
                "message": {"type": "string"},
                "upstreams": {
                    "type": "object",
                    "description": "Each upstream by name: `default`, and every service \
                        routed to an upstream of its own.",
                    "additionalProperties": {
                        "type": "object",
                        "required": ["target", "status"],
                        "additionalProperties": false,
                        "properties": {
                            "target": {"type": "string"},
                            "status": {"type": "string"},
                            "message": {"type": "string"},
                        },
                    },
                },
            },
            "additionalProperties": false,
        }}},
    })
}

/// The one error body.
pub(super) fn error_schema() -> Value {
    let codes: Vec<&str> = MAPPING.iter().map(|row| row.name).collect();
    json!({
        "type": "object",
        "description": "Every error: the HTTP status, the gRPC status name it maps from, a \
            message, and what is at fault when the request was invalid.",
        "required": ["error"],
        "additionalProperties": false,
        "properties": {"error": {
            "type": "object",
            "required": ["code", "status", "message", "fieldViolations"],
            "additionalProperties": false,
            "properties": {
                "code": {"type": "integer", "description": "The HTTP status."},
                "status": {
                    "type": "string",
                    "enum": codes,
                    "description": "The gRPC status name, which tells apart errors that share \
                        an HTTP status (409: FAILED_PRECONDITION, ABORTED, ALREADY_EXISTS).",
                },
                "message": {"type": "string", "description": "What went wrong, in words."},
                "fieldViolations": {
                    "type": "array",
                    "description": "Every field at fault of an invalid request, each with the \
                        reason; empty otherwise.",
                    "items": {
                        "type": "object",
                        "required": ["field", "description"],
                        "additionalProperties": false,
                        "properties": {
                            "field": {
                                "type": "string",
                                "description": "What is at fault, as the client wrote it: a \
                                    field path in proto3 JSON names (lines[0].unitPriceMinor), \
                                    a path or query parameter, or a header \
                                    (Idempotency-Key).",
                            },
                            "description": {"type": "string", "description": "Why."},
                        },
                    },
                },
            },
        }},
    })
}
