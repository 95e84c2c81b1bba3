//! The response message back to HTTP: proto3 JSON with every field, and the convention headers.
//! Well-known documents (a JWKS) are the exception: formats defined elsewhere tell an absent
//! member from an empty one, so their scalars at the default value are left out, and they may
//! be cached for [`WELL_KNOWN_CACHE_CONTROL`].

use http::{HeaderMap, HeaderValue, Method, header};
use prost_reflect::{DynamicMessage, Kind, ReflectMessage, SerializeOptions, Value};
use tonic::Code;

use super::{
    POSITION,
    fields::{get, parents_set},
};
use crate::{error::ApiError, routes::Route};

/// How long a well-known document may be reused. Causeway's JWKS changes when keys rotate,
/// and its own servers see a rotation within 30 s; a verifier that caches the document is as
/// current as they are.
pub const WELL_KNOWN_CACHE_CONTROL: &str = "public, max-age=30";

/// The HTTP answer to a successful call: the response message as proto3 JSON (every field,
/// defaults included, so clients need no proto3 default rules), plus `ETag` on reads and
/// `X-Position` on commands.
pub fn response(route: &Route, message: &DynamicMessage) -> Result<(Vec<u8>, HeaderMap), ApiError> {
    let failed =
        |e: String| ApiError::new(Code::Internal, format!("cannot render the response: {e}"));
    let out = if route.well_known {
        well_known_document(message).map_err(|e| failed(e.to_string()))?
    } else {
        let options = SerializeOptions::new().skip_default_fields(false);
        let mut out = Vec::with_capacity(256);
        let mut serializer = serde_json::Serializer::new(&mut out);
        message
            .serialize_with_options(&mut serializer, &options)
            .map_err(|e| failed(e.to_string()))?;
        out
    };
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if route.well_known {
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(WELL_KNOWN_CACHE_CONTROL),
        );
    }
    let conventions = &route.conventions;
    let safe = route.http_method == Method::GET;
    if let (true, Some(fields)) = (safe, &conventions.etag)
        && parents_set(message, fields)
        && let Some(revision) = get(message, fields).and_then(|v| integer_text(&v))
        && let Ok(value) = HeaderValue::from_str(&format!("\"{revision}\""))
    {
        headers.insert(header::ETAG, value);
    }
    if let (false, Some(fields)) = (safe, &conventions.position)
        && parents_set(message, fields)
        && let Some(position) = get(message, fields).and_then(|v| integer_text(&v))
        && let Ok(value) = HeaderValue::from_str(&position)
    {
        headers.insert(POSITION, value);
    }
    Ok((out, headers))
}

/// `message` as a document in a format defined elsewhere: scalars at their default value are
/// left out (a JWK has no `"y": ""`), lists and maps are always there (a JWKS has `"keys"`,
/// even empty).
fn well_known_document(message: &DynamicMessage) -> Result<Vec<u8>, serde_json::Error> {
    let options = SerializeOptions::new().skip_default_fields(true);
    let mut json = message.serialize_with_options(serde_json::value::Serializer, &options)?;
    keep_collections(message, &mut json);
    serde_json::to_vec(&json)
}

/// Puts back the empty lists and maps of `message` that leaving defaults out removed.
fn keep_collections(message: &DynamicMessage, json: &mut serde_json::Value) {
    let serde_json::Value::Object(members) = json else {
        // A well-known type with its own JSON form (a timestamp, a struct): nothing to add.
        return;
    };
    for field in message.descriptor().fields() {
        let name = field.json_name();
        if field.is_map() {
            members.entry(name).or_insert_with(|| serde_json::json!({}));
        } else if field.is_list() {
            let items = members.entry(name).or_insert_with(|| serde_json::json!([]));
            if let (Value::List(values), serde_json::Value::Array(items)) =
                (message.get_field(&field).as_ref(), items)
            {
                for (value, item) in values.iter().zip(items.iter_mut()) {
                    if let Value::Message(inner) = value {
                        keep_collections(inner, item);
                    }
                }
            }
        } else if let Kind::Message(_) = field.kind()
            && message.has_field(&field)
            && let (Value::Message(inner), Some(item)) =
                (message.get_field(&field).as_ref(), members.get_mut(name))
        {
            keep_collections(inner, item);
        }
    }
}

fn integer_text(value: &Value) -> Option<String> {
    match value {
        Value::U64(n) => Some(n.to_string()),
        Value::U32(n) => Some(n.to_string()),
        Value::I64(n) => Some(n.to_string()),
        Value::I32(n) => Some(n.to_string()),
        _ => None,
    }
}
