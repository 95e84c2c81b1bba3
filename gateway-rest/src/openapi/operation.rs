//! One route as an OpenAPI operation: the RPC's comment as its description (with who may call
//! it), its security requirement, its parameters, its request body and its responses.

use prost_reflect::FieldDescriptor;
use serde_json::{Map, Value, json};

use super::{
    comments::Comments,
    parameters::parameters,
    responses::responses,
    schema::{field_schema, message_schema, reference},
    security,
};
use crate::routes::{BodyRule, Route};

/// The operation of `route`.
pub(super) fn operation(route: &Route, comments: &Comments) -> Value {
    let rpc = &route.rpc;
    let mut operation = Map::new();
    let mut id = rpc.full_name().to_owned();
    if route.binding > 0 {
        id.push_str(&format!("_{}", route.binding + 1));
    }
    operation.insert("operationId".into(), json!(id));
    operation.insert("summary".into(), json!(rpc.name()));
    if let Some(text) = comments.of(rpc) {
        operation.insert("description".into(), json!(text));
    }
    security::document(&route.access, &mut operation);
    operation.insert("tags".into(), json!([rpc.parent_service().full_name()]));
    let parameters = parameters(route, comments);
    if !parameters.is_empty() {
        operation.insert("parameters".into(), Value::Array(parameters));
    }
    if let Some(body) = request_body(route, comments) {
        operation.insert("requestBody".into(), body);
    }
    operation.insert("responses".into(), Value::Object(responses(route)));
    Value::Object(operation)
}

/// The JSON body: the request message without the fields the path binds, or the one field the
/// rule names; `None` when the route takes no body.
fn request_body(route: &Route, comments: &Comments) -> Option<Value> {
    let schema = match &route.body {
        BodyRule::None => return None,
        BodyRule::Whole => {
            let input = route.rpc.input();
            let bound: Vec<&FieldDescriptor> = route
                .path_fields
                .iter()
                .filter(|p| p.len() == 1)
                .filter_map(|p| p.first())
                .collect();
            if bound.is_empty() {
                reference(&input)
            } else {
                let excluded: Vec<String> = bound.iter().map(|f| f.name().to_owned()).collect();
                message_schema(&input, comments, &excluded)
            }
        }
        BodyRule::Field(field) => field_schema(field, comments),
    };
    Some(json!({
        "required": false,
        "content": {"application/json": {"schema": schema}},
    }))
}
