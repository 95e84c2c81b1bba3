//! The response message back to HTTP: proto3 JSON with every field, and the convention headers.

use http::{HeaderMap, HeaderValue, Method, header};
use prost_reflect::{DynamicMessage, SerializeOptions, Value};
use tonic::Code;

use super::{
    POSITION,
    fields::{get, parents_set},
};
use crate::{error::ApiError, routes::Route};

/// The HTTP answer to a successful call: the response message as proto3 JSON (every field,
/// defaults included, so clients need no proto3 default rules), plus `ETag` on reads and
/// `X-Position` on commands.
pub fn response(route: &Route, message: &DynamicMessage) -> Result<(Vec<u8>, HeaderMap), ApiError> {
    let options = SerializeOptions::new().skip_default_fields(false);
    let mut out = Vec::with_capacity(256);
    let mut serializer = serde_json::Serializer::new(&mut out);
    message
        .serialize_with_options(&mut serializer, &options)
        .map_err(|e| ApiError::new(Code::Internal, format!("cannot render the response: {e}")))?;
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
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

fn integer_text(value: &Value) -> Option<String> {
    match value {
        Value::U64(n) => Some(n.to_string()),
        Value::U32(n) => Some(n.to_string()),
        Value::I64(n) => Some(n.to_string()),
        Value::I32(n) => Some(n.to_string()),
        _ => None,
    }
}
