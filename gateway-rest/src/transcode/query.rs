//! Query parameters: each a field path of the request in proto or JSON names, on routes whose
//! body does not take the whole message.

use prost_reflect::{DynamicMessage, MessageDescriptor};

use super::fields::{display_path, from_text, set_from_text};
use crate::{
    error::ApiError,
    routes::{BodyRule, FieldPath, Route, resolve_any_path},
};

/// Sets the fields the query names. Every refusal names the parameter in its message and in
/// `fieldViolations`.
pub(super) fn bind_query(
    route: &Route,
    input: &MessageDescriptor,
    message: &mut DynamicMessage,
    query: &str,
) -> Result<(), ApiError> {
    if let BodyRule::Whole = route.body {
        return Err(ApiError::bad_request(
            "this route takes every field from the JSON body; query parameters are not accepted",
        ));
    }
    let mut seen: Vec<FieldPath> = Vec::new();
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        let unknown = || refuse(&key, "unknown query parameter".to_owned());
        let fields = resolve_any_path(input, &key).map_err(|_| unknown())?;
        let Some(leaf) = fields.last() else {
            return Err(unknown());
        };
        let name = display_path(&fields);
        if route.path_fields.contains(&fields) {
            return Err(refuse(&name, "is given by the path, not the query".into()));
        }
        if let (BodyRule::Field(body), Some(first)) = (&route.body, fields.first())
            && body == first
        {
            return Err(refuse(&name, "is given by the body, not the query".into()));
        }
        if !from_text(&leaf.kind()) || leaf.is_map() {
            let why = format!("is a message; set its fields ({name}.…) instead");
            return Err(refuse(&name, why));
        }
        let repeated = leaf.is_list();
        if !repeated && seen.contains(&fields) {
            return Err(refuse(&name, "is given more than once".into()));
        }
        set_from_text(message, &fields, &value, repeated).map_err(|why| refuse(&name, why))?;
        seen.push(fields);
    }
    Ok(())
}

/// A 400 because of query parameter `name`.
fn refuse(name: &str, why: String) -> ApiError {
    ApiError::bad_request(format!("query parameter {name}: {why}")).with_violation(name, why)
}
