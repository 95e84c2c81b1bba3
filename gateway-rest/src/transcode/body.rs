//! The request body: JSON only, read by the proto3 JSON rules into the whole request message or
//! into the one field the rule names. A body that does not read is refused with the reader's
//! message and, when the JSON itself is well-formed, every field at fault ([`super::blame`]).
//! A key given twice in one object is refused before anything else reads the body.

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, header};
use prost_reflect::{DeserializeOptions, DynamicMessage, MessageDescriptor};

use super::{blame::blame, duplicates::first_duplicate};
use crate::{
    error::ApiError,
    mapping::NOT_JSON,
    routes::{BodyRule, Route},
};

/// The request message as the body fills it (an empty message when there is no body).
pub(super) fn read_body(
    route: &Route,
    input: &MessageDescriptor,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<DynamicMessage, ApiError> {
    let empty = body.iter().all(u8::is_ascii_whitespace);
    if matches!(route.body, BodyRule::None) || empty {
        if !empty {
            return Err(ApiError::bad_request(format!(
                "{} {} takes no request body",
                route.http_method,
                route.template.openapi_path()
            )));
        }
        return Ok(DynamicMessage::new(input.clone()));
    }
    if let Some(content_type) = headers.get(header::CONTENT_TYPE)
        && !is_json(content_type)
    {
        return Err(ApiError::refused(
            &NOT_JSON,
            "the request body must be JSON (Content-Type: application/json)",
        ));
    }
    if let Some(path) = first_duplicate(body) {
        return Err(
            ApiError::bad_request(format!("invalid JSON body: {path} is given twice"))
                .with_violation(&path, "given twice: each key may appear once"),
        );
    }
    match &route.body {
        BodyRule::Field(field) => {
            let value: serde_json::Value = serde_json::from_slice(body)
                .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))?;
            let wrapped = serde_json::Value::Object(
                [(field.json_name().to_owned(), value)]
                    .into_iter()
                    .collect(),
            );
            DynamicMessage::deserialize_with_options(input.clone(), &wrapped, &strict()).map_err(
                |e| {
                    let message = format!("invalid JSON body for {}: {e}", field.json_name());
                    refused(message, input, &wrapped)
                },
            )
        }
        // Straight from the bytes: the common case pays for no intermediate document.
        BodyRule::Whole | BodyRule::None => {
            let mut reader = serde_json::Deserializer::from_slice(body);
            DynamicMessage::deserialize_with_options(input.clone(), &mut reader, &strict())
                .and_then(|m| reader.end().map(|()| m))
                .map_err(|e| {
                    let message = format!("invalid JSON body: {e}");
                    match serde_json::from_slice::<serde_json::Value>(body) {
                        Ok(document) => refused(message, input, &document),
                        Err(_) => ApiError::bad_request(message),
                    }
                })
        }
    }
}

/// How bodies are read: by the proto3 JSON rules, refusing fields the message does not have.
pub(super) fn strict() -> DeserializeOptions {
    DeserializeOptions::new().deny_unknown_fields(true)
}

/// The 400 for a well-formed JSON `document` that does not read as `input`: each field at
/// fault paired with its reason, or the reader's own `message` when no one field is.
fn refused(message: String, input: &MessageDescriptor, document: &serde_json::Value) -> ApiError {
    let blamed = blame(input, document);
    if blamed.is_empty() {
        return ApiError::bad_request(message);
    }
    let pairs: Vec<String> = blamed
        .iter()
        .map(|(field, why)| format!("{field}: {why}"))
        .collect();
    let error = ApiError::bad_request(format!("invalid JSON body: {}", pairs.join("; ")));
    blamed.into_iter().fold(error, |error, (field, why)| {
        error.with_violation(field, why)
    })
}

fn is_json(content_type: &HeaderValue) -> bool {
    let Ok(text) = content_type.to_str() else {
        return false;
    };
    let essence = text
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}
