//! The OpenAPI 3.0 document of the routes, generated from the same descriptors the routes come
//! from, so it cannot drift from what the gateway accepts and sends. Schemas follow the proto3
//! JSON mapping exactly as the transcoder applies it: 64-bit integers are strings, enums are
//! their names, unknown properties are refused (`additionalProperties: false`), and comments
//! in the `.proto` files become descriptions. The responses come from the one list of answers
//! in [`crate::mapping`].
//!
//! Who may call each operation comes from the access option of its RPC, read with the routes:
//! the `bearerAuth` scheme, each operation's `security` and the roles in its description.
//!
//! Layout: `comments` (the proto comments by descriptor), `operation` (one route),
//! `parameters` (path, query and header parameters), `schema` (proto3 JSON schemas),
//! `responses` (answers, the error body), `security` (the scheme and who may call what).

mod comments;
mod operation;
mod parameters;
mod responses;
mod schema;
mod security;

use std::collections::{BTreeMap, VecDeque};

use prost_reflect::{DescriptorPool, Kind, MessageDescriptor};
use serde_json::{Map, Value, json};

pub use self::comments::{Comments, Located};
pub use self::security::BEARER_SCHEME;
use self::{
    operation::operation,
    responses::{ERROR_SCHEMA, error_schema, health_response},
    schema::{message_schema, well_known},
};
use crate::routes::RouteTable;

/// Builds the document for `routes`, whose descriptors live in `pool`.
pub fn document(routes: &RouteTable, pool: &DescriptorPool) -> Value {
    let comments = Comments::new(pool);
    let mut paths: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    let mut tags: Vec<Value> = Vec::new();
    for route in routes.routes() {
        let operation = operation(route, &comments);
        paths
            .entry(route.template.openapi_path())
            .or_default()
            .insert(route.http_method.as_str().to_ascii_lowercase(), operation);
        let service = route.rpc.parent_service();
        if !tags.iter().any(|t| t["name"] == service.full_name()) {
            let mut tag = json!({"name": service.full_name()});
            if let Some(text) = comments.of(service) {
                tag["description"] = json!(text);
            }
            tags.push(tag);
        }
    }
    paths.entry("/healthz".to_owned()).or_default().insert(
        "get".to_owned(),
        json!({
            "operationId": "gateway.Healthz",
            "summary": "Whether every upstream gRPC server reports itself SERVING",
            "tags": ["gateway"],
            "security": [],
            "responses": {
                "200": health_response("Every upstream is SERVING."),
                "503": health_response(
                    "An upstream is down, unreachable or NOT_SERVING; `message` names each.",
                ),
            }
        }),
    );
    tags.push(json!({"name": "gateway", "description": "The gateway itself."}));

    let mut schemas = schemas(routes, &comments);
    schemas.insert(ERROR_SCHEMA.to_owned(), error_schema());
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "Causeway REST API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "REST/JSON over Causeway's gRPC services, generated from the \
                google.api.http annotations of the contracts; descriptions are the contracts' \
                comments. Bodies follow the proto3 JSON mapping: 64-bit integers are strings, \
                enums are names, unknown fields are refused. Every command requires an \
                Idempotency-Key header (options.commandId), scoped to the entity it targets: \
                repeat a request with the same key and it is applied once; reuse the key for a \
                different request on that entity and it answers 409 ALREADY_EXISTS. Commands \
                take If-Match (options.expectedRevision) and answer with X-Position; queries \
                take X-Min-Position (consistency.minPosition) and answer reads with an ETag. \
                Every error has one JSON shape, naming each field at fault in fieldViolations. \
                Operations that are not public need a bearer token (bearerAuth) holding one \
                of the roles their description names."
        },
        "servers": [{"url": "/", "description": "This gateway (paths are relative to it)."}],
        "tags": tags,
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": security::schemes(),
        }
    })
}

/// The schema of every message the routes send or receive, and of the messages inside them.
fn schemas(routes: &RouteTable, comments: &Comments) -> Map<String, Value> {
    let mut wanted: VecDeque<MessageDescriptor> = routes
        .routes()
        .iter()
        .flat_map(|route| [route.rpc.input(), route.rpc.output()])
        .collect();
    let mut schemas = Map::new();
    while let Some(message) = wanted.pop_front() {
        let name = message.full_name().to_owned();
        if schemas.contains_key(&name) || well_known(&message).is_some() {
            continue;
        }
        for field in message.fields() {
            if let Kind::Message(inner) = field.kind() {
                if field.is_map() {
                    if let Kind::Message(value) = inner.map_entry_value_field().kind() {
                        wanted.push_back(value);
                    }
                } else {
                    wanted.push_back(inner);
                }
            }
        }
        schemas.insert(name, message_schema(&message, comments, &[]));
    }
    schemas
}

#[cfg(test)]
mod tests;
