//! The OpenAPI 3.0 document of the routes, generated from the same descriptors the routes come
//! from, so it cannot drift from what the gateway accepts and sends. Schemas follow the proto3
//! JSON mapping exactly as the transcoder applies it: 64-bit integers are strings, enums are
//! their names, unknown properties are refused (`additionalProperties: false`), and comments
//! in the `.proto` files become descriptions.

use std::collections::{BTreeMap, HashMap, VecDeque};

use http::Method;
use prost_reflect::{
    DescriptorPool, EnumDescriptor, FieldDescriptor, Kind, MessageDescriptor, MethodDescriptor,
};
use serde_json::{Map, Value, json};

use crate::{
    error::code_name,
    routes::{BodyRule, Route, RouteTable},
};

/// Component name of the error body every failure uses.
const ERROR_SCHEMA: &str = "GatewayError";
/// How deep query parameters reach into nested messages (`consistency.minPosition` is 2).
const MAX_QUERY_DEPTH: usize = 4;

/// Builds the document for `routes`, whose descriptors live in `pool`.
pub fn document(routes: &RouteTable, pool: &DescriptorPool) -> Value {
    let comments = Comments::new(pool);
    let mut paths: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    let mut wanted: VecDeque<MessageDescriptor> = VecDeque::new();
    for route in routes.routes() {
        wanted.push_back(route.rpc.input());
        wanted.push_back(route.rpc.output());
        let operation = operation(route, &comments);
        paths
            .entry(route.template.openapi_path())
            .or_default()
            .insert(route.http_method.as_str().to_ascii_lowercase(), operation);
    }
    paths.entry("/healthz".to_owned()).or_default().insert(
        "get".to_owned(),
        json!({
            "operationId": "gateway.Healthz",
            "summary": "Whether the upstream gRPC server reports itself SERVING",
            "tags": ["gateway"],
            "responses": {
                "200": health_response("The upstream is SERVING."),
                "503": health_response("The upstream is down, unreachable or NOT_SERVING."),
            }
        }),
    );

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
        schemas.insert(name, message_schema(&message, &comments, &[]));
    }
    schemas.insert(ERROR_SCHEMA.to_owned(), error_schema());

    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "Causeway REST API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "REST/JSON over Causeway's gRPC services, generated from the \
                google.api.http annotations of the contracts. Bodies follow the proto3 JSON \
                mapping: 64-bit integers are strings, enums are names. Commands take \
                Idempotency-Key (options.commandId) and If-Match (options.expectedRevision) \
                and answer with X-Position; queries take X-Min-Position \
                (consistency.minPosition) and answer reads with an ETag."
        },
        "paths": paths,
        "components": { "schemas": schemas }
    })
}

fn operation(route: &Route, comments: &Comments) -> Value {
    let rpc = &route.rpc;
    let mut operation = Map::new();
    let mut id = rpc.full_name().to_owned();
    if route.binding > 0 {
        id.push_str(&format!("_{}", route.binding + 1));
    }
    operation.insert("operationId".into(), json!(id));
    operation.insert("summary".into(), json!(rpc.name()));
    if let Some(text) = comments.method(rpc) {
        operation.insert("description".into(), json!(text));
    }
    operation.insert("tags".into(), json!([rpc.parent_service().full_name()]));

    let mut parameters = Vec::new();
    for (variable, fields) in route.template.variables().iter().zip(&route.path_fields) {
        if let Some(leaf) = fields.last() {
            parameters.push(json!({
                "name": variable.field_path,
                "in": "path",
                "required": true,
                "schema": text_schema(leaf),
            }));
        }
    }
    if !matches!(route.body, BodyRule::Whole) {
        let input = rpc.input();
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
    let conventions = &route.conventions;
    if conventions.command_id.is_some() {
        parameters.push(json!({
            "name": "Idempotency-Key",
            "in": "header",
            "description": "Sets options.commandId: repeat it on retries and the command is \
                applied once, answering with the original acknowledgement.",
            "schema": {"type": "string", "minLength": 1},
        }));
    }
    if conventions.expected_revision.is_some() {
        parameters.push(json!({
            "name": "If-Match",
            "in": "header",
            "description": "An ETag from a read (\"7\"): sets options.expectedRevision; a \
                mismatch answers 412 and changes nothing.",
            "schema": {"type": "string", "pattern": "^(\\*|\"[0-9]+\"|[0-9]+)$"},
        }));
    }
    if conventions.min_position.is_some() {
        parameters.push(json!({
            "name": "X-Min-Position",
            "in": "header",
            "description": "Read your writes: sets consistency.minPosition to a command's \
                X-Position; the query waits (within the deadline) until the read model has \
                applied it, else 504.",
            "schema": {"type": "string", "pattern": "^[0-9]+$"},
        }));
    }
    if !parameters.is_empty() {
        operation.insert("parameters".into(), Value::Array(parameters));
    }

    match &route.body {
        BodyRule::None => {}
        BodyRule::Whole => {
            let input = rpc.input();
            let bound: Vec<&FieldDescriptor> = route
                .path_fields
                .iter()
                .filter(|p| p.len() == 1)
                .filter_map(|p| p.first())
                .collect();
            let schema = if bound.is_empty() {
                reference(&input)
            } else {
                let excluded: Vec<String> = bound.iter().map(|f| f.name().to_owned()).collect();
                message_schema(&input, comments, &excluded)
            };
            operation.insert("requestBody".into(), json_body(schema));
        }
        BodyRule::Field(field) => {
            operation.insert(
                "requestBody".into(),
                json_body(field_schema(field, comments)),
            );
        }
    }

    let mut ok_headers = Map::new();
    if route.http_method == Method::GET && conventions.etag.is_some() {
        ok_headers.insert(
            "ETag".into(),
            json!({
                "description": "The revision of the entity read; send it back as If-Match.",
                "schema": {"type": "string"},
            }),
        );
    }
    if route.http_method != Method::GET && conventions.position.is_some() {
        ok_headers.insert(
            "X-Position".into(),
            json!({
                "description": "Global position of the command's last event; send it as \
                    X-Min-Position to read this write back.",
                "schema": {"type": "string", "pattern": "^[0-9]+$"},
            }),
        );
    }
    let mut ok = json!({
        "description": "OK",
        "content": {"application/json": {"schema": reference(&rpc.output())}},
    });
    if !ok_headers.is_empty() {
        ok["headers"] = Value::Object(ok_headers);
    }
    let mut responses = Map::new();
    responses.insert("200".into(), ok);
    let mut errors = vec![
        (
            "400",
            "The request is invalid (INVALID_ARGUMENT, OUT_OF_RANGE).",
        ),
        ("404", "No such entity (NOT_FOUND), or no such route."),
        (
            "409",
            "A business rule forbids it now (FAILED_PRECONDITION), or a concurrency conflict \
             (ABORTED, ALREADY_EXISTS).",
        ),
        (
            "503",
            "The upstream is unavailable or the gateway is at its concurrency limit.",
        ),
        ("504", "No answer within the deadline (DEADLINE_EXCEEDED)."),
    ];
    if conventions.expected_revision.is_some() {
        errors.push((
            "412",
            "If-Match named a revision the entity is no longer at.",
        ));
    }
    if !matches!(route.body, BodyRule::None) {
        errors.push(("413", "The body is larger than the gateway accepts."));
        errors.push(("415", "The body is not JSON."));
    }
    for (code, description) in errors {
        responses.insert(code.into(), error_response(description));
    }
    responses.insert(
        "default".into(),
        error_response("Any other gRPC status, mapped as documented."),
    );
    operation.insert("responses".into(), Value::Object(responses));
    Value::Object(operation)
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
                if let Some(text) = comments.field(&field) {
                    parameter["description"] = json!(text);
                }
                out.push(parameter);
            }
        }
    }
}

fn json_body(schema: Value) -> Value {
    json!({
        "required": false,
        "content": {"application/json": {"schema": schema}},
    })
}

fn reference(message: &MessageDescriptor) -> Value {
    well_known(message)
        .unwrap_or_else(|| json!({"$ref": format!("#/components/schemas/{}", message.full_name())}))
}

fn message_schema(message: &MessageDescriptor, comments: &Comments, excluded: &[String]) -> Value {
    let mut properties = Map::new();
    for field in message.fields() {
        if excluded.iter().any(|name| name == field.name()) {
            continue;
        }
        properties.insert(field.json_name().to_owned(), field_schema(&field, comments));
    }
    let mut schema = json!({
        "type": "object",
        "properties": properties,
        "additionalProperties": false,
    });
    if let Some(text) = comments.message(message) {
        schema["description"] = json!(text);
    }
    schema
}

/// A field's schema in a JSON body.
fn field_schema(field: &FieldDescriptor, comments: &Comments) -> Value {
    let mut schema = if field.is_map() {
        let value = match field.kind() {
            Kind::Message(entry) => kind_schema(&entry.map_entry_value_field().kind()),
            other => kind_schema(&other),
        };
        json!({"type": "object", "additionalProperties": value})
    } else if field.is_list() {
        json!({"type": "array", "items": kind_schema(&field.kind())})
    } else {
        kind_schema(&field.kind())
    };
    if let Some(text) = comments.field(field) {
        if schema.get("$ref").is_some() {
            // OpenAPI 3.0 ignores siblings of $ref; allOf keeps the description.
            schema = json!({"allOf": [schema]});
        }
        schema["description"] = json!(text);
    }
    schema
}

/// The proto3 JSON schema of one value of `kind`.
fn kind_schema(kind: &Kind) -> Value {
    match kind {
        Kind::Double | Kind::Float => json!({
            "oneOf": [
                {"type": "number"},
                {"type": "string", "enum": ["NaN", "Infinity", "-Infinity"]},
            ]
        }),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => json!({
            "type": "integer", "format": "int32",
            "minimum": i32::MIN, "maximum": i32::MAX,
        }),
        Kind::Uint32 | Kind::Fixed32 => json!({
            "type": "integer", "format": "int64", "minimum": 0, "maximum": u32::MAX,
        }),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => json!({
            "type": "string", "format": "int64", "pattern": "^-?[0-9]{1,19}$",
        }),
        Kind::Uint64 | Kind::Fixed64 => json!({
            "type": "string", "format": "uint64", "pattern": "^[0-9]{1,20}$",
        }),
        Kind::Bool => json!({"type": "boolean"}),
        Kind::String => json!({"type": "string"}),
        Kind::Bytes => json!({"type": "string", "format": "byte"}),
        Kind::Enum(enumeration) => enum_schema(enumeration),
        Kind::Message(message) => reference(message),
    }
}

/// A scalar's schema where it is text (path, query, header): numbers are bare there.
fn text_schema(field: &FieldDescriptor) -> Value {
    match field.kind() {
        Kind::Double | Kind::Float => json!({"type": "number"}),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => {
            json!({"type": "string", "format": "int64", "pattern": "^-?[0-9]{1,19}$"})
        }
        Kind::Uint64 | Kind::Fixed64 => {
            json!({"type": "string", "format": "uint64", "pattern": "^[0-9]{1,20}$"})
        }
        other => kind_schema(&other),
    }
}

fn enum_schema(enumeration: &EnumDescriptor) -> Value {
    let names: Vec<String> = enumeration.values().map(|v| v.name().to_owned()).collect();
    json!({"type": "string", "enum": names})
}

/// Schemas of the well-known types, which proto3 JSON writes specially.
fn well_known(message: &MessageDescriptor) -> Option<Value> {
    let int64 = json!({"type": "string", "format": "int64", "pattern": "^-?[0-9]{1,19}$"});
    let uint64 = json!({"type": "string", "format": "uint64", "pattern": "^[0-9]{1,20}$"});
    Some(match message.full_name() {
        "google.protobuf.Timestamp" => json!({"type": "string", "format": "date-time"}),
        "google.protobuf.Duration" => {
            json!({"type": "string", "pattern": "^-?[0-9]+(\\.[0-9]{1,9})?s$"})
        }
        "google.protobuf.FieldMask" | "google.protobuf.StringValue" => json!({"type": "string"}),
        "google.protobuf.Empty" => json!({"type": "object", "additionalProperties": false}),
        "google.protobuf.Struct" => json!({"type": "object"}),
        "google.protobuf.Value" => json!({}),
        "google.protobuf.ListValue" => json!({"type": "array", "items": {}}),
        "google.protobuf.Any" => json!({
            "type": "object",
            "required": ["@type"],
            "properties": {"@type": {"type": "string"}},
        }),
        "google.protobuf.DoubleValue" | "google.protobuf.FloatValue" => json!({"type": "number"}),
        "google.protobuf.Int64Value" => int64,
        "google.protobuf.UInt64Value" => uint64,
        "google.protobuf.Int32Value" => json!({"type": "integer", "format": "int32"}),
        "google.protobuf.UInt32Value" => {
            json!({"type": "integer", "format": "int64", "minimum": 0, "maximum": u32::MAX})
        }
        "google.protobuf.BoolValue" => json!({"type": "boolean"}),
        "google.protobuf.BytesValue" => json!({"type": "string", "format": "byte"}),
        _ => return None,
    })
}

fn error_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{ERROR_SCHEMA}")}}},
    })
}

fn health_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": {
            "type": "object",
            "required": ["status"],
            "properties": {"status": {"type": "string"}, "message": {"type": "string"}},
            "additionalProperties": false,
        }}},
    })
}

fn error_schema() -> Value {
    let codes: Vec<&str> = (0..=16)
        .map(|n| code_name(tonic::Code::from_i32(n)))
        .collect();
    json!({
        "type": "object",
        "description": "Every error: the HTTP status, the gRPC status name it maps from, a \
            message, and the invalid fields (proto3 JSON paths) when the request was invalid.",
        "required": ["error"],
        "additionalProperties": false,
        "properties": {"error": {
            "type": "object",
            "required": ["code", "status", "message", "fieldViolations"],
            "additionalProperties": false,
            "properties": {
                "code": {"type": "integer"},
                "status": {"type": "string", "enum": codes},
                "message": {"type": "string"},
                "fieldViolations": {"type": "array", "items": {
                    "type": "object",
                    "required": ["field", "description"],
                    "additionalProperties": false,
                    "properties": {
                        "field": {"type": "string"},
                        "description": {"type": "string"},
                    },
                }},
            },
        }},
    })
}

/// Leading comments of the `.proto` files, by file and descriptor path.
struct Comments {
    by_path: HashMap<(String, Vec<i32>), String>,
}

impl Comments {
    fn new(pool: &DescriptorPool) -> Self {
        let mut by_path = HashMap::new();
        for file in pool.files() {
            let proto = file.file_descriptor_proto();
            let Some(info) = &proto.source_code_info else {
                continue;
            };
            for location in &info.location {
                let Some(text) = location.leading_comments.as_deref() else {
                    continue;
                };
                let text = text
                    .lines()
                    .map(str::trim)
                    .collect::<Vec<_>>()
                    .join("\n")
                    .trim()
                    .to_owned();
                if !text.is_empty() {
                    by_path.insert((file.name().to_owned(), location.path.clone()), text);
                }
            }
        }
        Self { by_path }
    }

    fn get(&self, file: &str, path: &[i32]) -> Option<&str> {
        self.by_path
            .get(&(file.to_owned(), path.to_vec()))
            .map(String::as_str)
    }

    fn method(&self, method: &MethodDescriptor) -> Option<&str> {
        self.get(method.parent_file().name(), method.path())
    }

    fn message(&self, message: &MessageDescriptor) -> Option<&str> {
        self.get(message.parent_file().name(), message.path())
    }

    fn field(&self, field: &FieldDescriptor) -> Option<&str> {
        self.get(field.parent_file().name(), field.path())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> Value {
        let pool = crate::contracts().unwrap();
        document(&RouteTable::from_pool(&pool).unwrap(), &pool)
    }

    #[test]
    fn schemas_follow_proto3_json() {
        let doc = doc();
        let schemas = &doc["components"]["schemas"];
        let order = &schemas["causeway.orders.v1.Order"]["properties"];
        assert_eq!(order["totalMinor"]["type"], "string");
        assert_eq!(order["revision"]["format"], "uint64");
        assert_eq!(order["status"]["enum"][1], "ORDER_STATUS_PLACED");
        assert_eq!(order["lines"]["type"], "array");
        assert_eq!(
            schemas["causeway.orders.v1.OrderLine"]["properties"]["quantity"]["type"],
            "integer"
        );
        assert!(
            schemas["causeway.orders.v1.OrderLine"]["properties"]["unitPriceMinor"]["description"]
                .as_str()
                .unwrap()
                .contains("minor unit")
        );
    }

    #[test]
    fn path_bound_fields_leave_the_body_and_queries_flatten() {
        let doc = doc();
        let cancel = &doc["paths"]["/v1/orders/{order_id}:cancel"]["post"];
        let body = &cancel["requestBody"]["content"]["application/json"]["schema"];
        assert!(body["properties"].get("orderId").is_none());
        assert!(body["properties"].get("reason").is_some());
        let list = &doc["paths"]["/v1/orders"]["get"]["parameters"];
        let names: Vec<&str> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert!(names.contains(&"customerId"));
        assert!(names.contains(&"consistency.minPosition"));
        assert!(names.contains(&"X-Min-Position"));
    }
}
