//! JSON and HTTP in, protobuf out, and back, by the proto3 JSON mapping, for any route.
//!
//! A request message is assembled in a fixed order, each source refusing what another one
//! already bound: the body (all of it, one field, or nothing), then path variables, then
//! query parameters (only on routes whose body does not take the whole message), then the
//! convention headers. Every refusal is a 400 with a message naming the parameter, and
//! nothing is forwarded.

use base64::Engine;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, header};
use prost_reflect::{
    DeserializeOptions, DynamicMessage, FieldDescriptor, Kind, MessageDescriptor, SerializeOptions,
    Value,
};
use tonic::Code;

use crate::{
    error::ApiError,
    routes::{BodyRule, FieldPath, Route, resolve_any_path},
};

/// The header whose value becomes `options.commandId`.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
/// The header whose value becomes `consistency.minPosition`.
pub const MIN_POSITION: &str = "x-min-position";
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

/// Builds the request message of `route` from the HTTP request's parts.
pub fn request(
    route: &Route,
    path_values: &[String],
    query: Option<&str>,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Transcoded, ApiError> {
    let input = route.rpc.input();
    let mut message = read_body(route, &input, headers, body)?;

    for (fields, value) in route.path_fields.iter().zip(path_values) {
        let name = display_path(fields);
        if let BodyRule::Whole = route.body
            && is_set(&message, fields)
        {
            return Err(ApiError::bad_request(format!(
                "{name} is given by the path; leave it out of the body"
            )));
        }
        set_from_text(&mut message, fields, value, false)
            .map_err(|why| ApiError::bad_request(format!("path parameter {name}: {why}")))?;
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

fn read_body(
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
        return Err(ApiError::with_http(
            http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Code::InvalidArgument,
            "the request body must be JSON (Content-Type: application/json)",
        ));
    }
    let options = DeserializeOptions::new().deny_unknown_fields(true);
    match &route.body {
        BodyRule::Whole => {
            let mut reader = serde_json::Deserializer::from_slice(body);
            let message =
                DynamicMessage::deserialize_with_options(input.clone(), &mut reader, &options)
                    .and_then(|m| reader.end().map(|()| m))
                    .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))?;
            Ok(message)
        }
        BodyRule::Field(field) => {
            let value: serde_json::Value = serde_json::from_slice(body)
                .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))?;
            let wrapped = serde_json::Value::Object(
                [(field.json_name().to_owned(), value)]
                    .into_iter()
                    .collect(),
            );
            DynamicMessage::deserialize_with_options(input.clone(), wrapped, &options).map_err(
                |e| {
                    ApiError::bad_request(format!(
                        "invalid JSON body for {}: {e}",
                        field.json_name()
                    ))
                },
            )
        }
        BodyRule::None => Ok(DynamicMessage::new(input.clone())),
    }
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

fn bind_query(
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
        let fields = resolve_any_path(input, &key)
            .map_err(|_| ApiError::bad_request(format!("unknown query parameter {key:?}")))?;
        let name = display_path(&fields);
        if route.path_fields.contains(&fields) {
            return Err(ApiError::bad_request(format!(
                "{name} is given by the path, not the query"
            )));
        }
        if let (BodyRule::Field(body), Some(first)) = (&route.body, fields.first())
            && body == first
        {
            return Err(ApiError::bad_request(format!(
                "{name} is given by the body, not the query"
            )));
        }
        let Some(leaf) = fields.last() else {
            return Err(ApiError::bad_request(format!(
                "unknown query parameter {key:?}"
            )));
        };
        if matches!(leaf.kind(), Kind::Message(_)) || leaf.is_map() {
            return Err(ApiError::bad_request(format!(
                "query parameter {name} is a message; set its fields ({name}.…) instead"
            )));
        }
        let repeated = leaf.is_list();
        if !repeated && seen.contains(&fields) {
            return Err(ApiError::bad_request(format!(
                "query parameter {name} is given more than once"
            )));
        }
        set_from_text(message, &fields, &value, repeated)
            .map_err(|why| ApiError::bad_request(format!("query parameter {name}: {why}")))?;
        seen.push(fields);
    }
    Ok(())
}

/// Applies `Idempotency-Key`, `If-Match` and `X-Min-Position`; returns whether `If-Match` set
/// the expected revision.
fn bind_headers(
    route: &Route,
    message: &mut DynamicMessage,
    headers: &HeaderMap,
) -> Result<bool, ApiError> {
    let conventions = &route.conventions;
    if let (Some(fields), Some(value)) = (&conventions.command_id, headers.get(IDEMPOTENCY_KEY)) {
        let key = header_text(value, "Idempotency-Key")?;
        if key.is_empty() {
            return Err(ApiError::bad_request("Idempotency-Key must not be empty"));
        }
        set_unless_different(message, fields, key, "Idempotency-Key")?;
    }

    let mut conditional = false;
    if let Some(value) = headers.get(header::IF_MATCH) {
        let Some(fields) = &conventions.expected_revision else {
            return Err(ApiError::bad_request(
                "If-Match is only supported on commands that take an expected revision",
            ));
        };
        if let Some(revision) = parse_if_match(header_text(value, "If-Match")?)? {
            set_unless_different(message, fields, &revision.to_string(), "If-Match")?;
            conditional = true;
        }
    }

    if let (Some(fields), Some(value)) = (&conventions.min_position, headers.get(MIN_POSITION)) {
        let position = header_text(value, "X-Min-Position")?
            .parse::<u64>()
            .map_err(|_| {
                ApiError::bad_request(
                    "X-Min-Position must be a position as returned in X-Position (an unsigned integer)",
                )
            })?;
        set_unless_different(message, fields, &position.to_string(), "X-Min-Position")?;
    }
    Ok(conditional)
}

fn header_text<'a>(value: &'a HeaderValue, name: &str) -> Result<&'a str, ApiError> {
    value
        .to_str()
        .map(str::trim)
        .map_err(|_| ApiError::bad_request(format!("{name} must be visible ASCII")))
}

/// `"7"` (the ETag the gateway sends) or a bare `7` is revision 7; `*` matches any revision,
/// so it sets nothing.
fn parse_if_match(text: &str) -> Result<Option<u64>, ApiError> {
    if text == "*" {
        return Ok(None);
    }
    let bad = || {
        ApiError::bad_request(
            "If-Match must be one ETag as sent by a read (like \"7\"), or *; weak tags and lists \
             are not supported",
        )
    };
    let inner = match text.strip_prefix('"') {
        Some(rest) => rest.strip_suffix('"').ok_or_else(bad)?,
        None => text,
    };
    inner.parse::<u64>().map(Some).map_err(|_| bad())
}

/// Sets `fields` to `text` (read as the field's type) unless the body or query already set it
/// to something else.
fn set_unless_different(
    message: &mut DynamicMessage,
    fields: &FieldPath,
    text: &str,
    header: &str,
) -> Result<(), ApiError> {
    let (leaf, parents) = match fields.split_last() {
        Some(split) => split,
        None => return Ok(()),
    };
    let value = scalar_from_text(&leaf.kind(), text)
        .map_err(|why| ApiError::bad_request(format!("{header}: {why}")))?;
    if is_set(message, fields) {
        let current = get(message, fields);
        if current.as_ref() != Some(&value) {
            return Err(ApiError::bad_request(format!(
                "the {header} header and {} in the request disagree",
                display_path(fields)
            )));
        }
        return Ok(());
    }
    descend(message, parents)
        .and_then(|target| target.try_set_field(leaf, value).ok())
        .ok_or_else(|| ApiError::bad_request(format!("{} cannot be set", display_path(fields))))
}

/// `options.commandId`: a field path in proto3 JSON names, as clients write them.
pub fn display_path(fields: &[FieldDescriptor]) -> String {
    fields
        .iter()
        .map(FieldDescriptor::json_name)
        .collect::<Vec<_>>()
        .join(".")
}

fn is_set(message: &DynamicMessage, fields: &[FieldDescriptor]) -> bool {
    let Some((first, rest)) = fields.split_first() else {
        return false;
    };
    if !message.has_field(first) {
        return false;
    }
    if rest.is_empty() {
        return true;
    }
    match message.get_field(first).as_ref() {
        Value::Message(inner) => is_set(inner, rest),
        _ => false,
    }
}

/// Whether the messages on the way to a leaf are present (the leaf itself may be a zero: the
/// first revision and the first position are both 0).
fn parents_set(message: &DynamicMessage, fields: &[FieldDescriptor]) -> bool {
    match fields.split_last() {
        Some((_, [])) => true,
        Some((_, parents)) => is_set(message, parents),
        None => false,
    }
}

fn get(message: &DynamicMessage, fields: &[FieldDescriptor]) -> Option<Value> {
    let (first, rest) = fields.split_first()?;
    let value = message.get_field(first);
    if rest.is_empty() {
        return Some(value.into_owned());
    }
    match value.as_ref() {
        Value::Message(inner) => get(inner, rest),
        _ => None,
    }
}

/// The message holding the last field of a path, creating the parents on the way. `None` only
/// if a parent were not a message field, which resolving the path already ruled out.
fn descend<'a>(
    message: &'a mut DynamicMessage,
    parents: &[FieldDescriptor],
) -> Option<&'a mut DynamicMessage> {
    let mut current = message;
    for field in parents {
        let Kind::Message(kind) = field.kind() else {
            return None;
        };
        let slot = current.get_field_mut(field);
        if !matches!(slot, Value::Message(_)) {
            *slot = Value::Message(DynamicMessage::new(kind));
        }
        current = match slot {
            Value::Message(next) => next,
            _ => return None,
        };
    }
    Some(current)
}

/// Parses `text` as the leaf field's type and sets it (or appends, for repeated fields).
fn set_from_text(
    message: &mut DynamicMessage,
    fields: &FieldPath,
    text: &str,
    append: bool,
) -> Result<(), String> {
    let Some((leaf, parents)) = fields.split_last() else {
        return Err("empty field path".into());
    };
    let value = scalar_from_text(&leaf.kind(), text)?;
    let target = descend(message, parents).ok_or("its parent is not a message")?;
    let value = if append {
        let mut list = match target.get_field(leaf).into_owned() {
            Value::List(list) => list,
            _ => Vec::new(),
        };
        list.push(value);
        Value::List(list)
    } else {
        value
    };
    target
        .try_set_field(leaf, value)
        .map_err(|_| "the value does not fit the field".to_owned())
}

/// A scalar from its text form, as in proto3 JSON strings: decimal integers, `true`/`false`,
/// enum names (or numbers), base64 bytes.
fn scalar_from_text(kind: &Kind, text: &str) -> Result<Value, String> {
    let number = |what: &str| format!("{text:?} is not {what}");
    Ok(match kind {
        Kind::String => Value::String(text.to_owned()),
        Kind::Bool => match text {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => return Err(number("true or false")),
        },
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => {
            Value::I32(text.parse().map_err(|_| number("a 32-bit integer"))?)
        }
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => {
            Value::I64(text.parse().map_err(|_| number("a 64-bit integer"))?)
        }
        Kind::Uint32 | Kind::Fixed32 => Value::U32(
            text.parse()
                .map_err(|_| number("an unsigned 32-bit integer"))?,
        ),
        Kind::Uint64 | Kind::Fixed64 => Value::U64(
            text.parse()
                .map_err(|_| number("an unsigned 64-bit integer"))?,
        ),
        Kind::Float => Value::F32(parse_float(text).ok_or_else(|| number("a number"))? as f32),
        Kind::Double => Value::F64(parse_float(text).ok_or_else(|| number("a number"))?),
        Kind::Bytes => {
            let engine = base64::engine::general_purpose::STANDARD;
            let url = base64::engine::general_purpose::URL_SAFE;
            let decoded = engine
                .decode(text)
                .or_else(|_| url.decode(text))
                .map_err(|_| number("base64"))?;
            Value::Bytes(decoded.into())
        }
        Kind::Enum(enumeration) => {
            let value = enumeration
                .get_value_by_name(text)
                .or_else(|| {
                    text.parse::<i32>()
                        .ok()
                        .and_then(|n| enumeration.get_value(n))
                })
                .ok_or_else(|| {
                    let names: Vec<String> =
                        enumeration.values().map(|v| v.name().to_owned()).collect();
                    format!("{text:?} is not one of {}", names.join(", "))
                })?;
            Value::EnumNumber(value.number())
        }
        Kind::Message(m) => {
            return Err(format!("{} cannot be given as text", m.full_name()));
        }
    })
}

fn parse_float(text: &str) -> Option<f64> {
    match text {
        "NaN" => Some(f64::NAN),
        "Infinity" => Some(f64::INFINITY),
        "-Infinity" => Some(f64::NEG_INFINITY),
        // Rust also reads "inf" and "nan", which proto3 JSON does not.
        _ if text
            .chars()
            .any(|c| c.is_ascii_alphabetic() && c != 'e' && c != 'E') =>
        {
            None
        }
        _ => text.parse().ok(),
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routes::{Lookup, RouteTable};

    fn with_route<T>(method: Method, path: &str, f: impl FnOnce(&Route, Vec<String>) -> T) -> T {
        let table = RouteTable::from_pool(&crate::contracts().unwrap()).unwrap();
        match table.find(&method, path) {
            Lookup::Found(route, values) => f(route, values),
            other => panic!("{other:?}"),
        }
    }

    fn json(message: &DynamicMessage) -> serde_json::Value {
        serde_json::to_value(message).unwrap()
    }

    #[test]
    fn path_body_and_headers_fill_one_message() {
        with_route(Method::POST, "/v1/orders/o-1:cancel", |route, values| {
            let mut headers = HeaderMap::new();
            headers.insert(IDEMPOTENCY_KEY, HeaderValue::from_static("k-1"));
            headers.insert(header::IF_MATCH, HeaderValue::from_static("\"3\""));
            let body = Bytes::from_static(br#"{"reason":"changed my mind"}"#);
            let out = request(route, &values, None, &headers, &body).unwrap();
            assert!(out.conditional);
            assert_eq!(
                json(&out.message),
                serde_json::json!({
                    "options": {"commandId": "k-1", "expectedRevision": "3"},
                    "orderId": "o-1",
                    "reason": "changed my mind"
                })
            );
        });
    }

    #[test]
    fn query_parameters_take_proto_or_json_names_and_enum_names() {
        with_route(Method::GET, "/v1/orders", |route, values| {
            let query =
                "customer_id=ada&status=ORDER_STATUS_PLACED&pageSize=5&consistency.minPosition=9";
            let out = request(
                route,
                &values,
                Some(query),
                &HeaderMap::new(),
                &Bytes::new(),
            )
            .unwrap();
            assert_eq!(
                json(&out.message),
                serde_json::json!({
                    "customerId": "ada",
                    "status": "ORDER_STATUS_PLACED",
                    "pageSize": 5,
                    "consistency": {"minPosition": "9"}
                })
            );
        });
    }

    #[test]
    fn refusals_name_the_parameter() {
        with_route(Method::GET, "/v1/orders", |route, values| {
            let fail = |query: &str| {
                request(
                    route,
                    &values,
                    Some(query),
                    &HeaderMap::new(),
                    &Bytes::new(),
                )
                .unwrap_err()
                .message
            };
            assert!(fail("colour=red").contains("colour"));
            assert!(fail("status=SHIPPED_YESTERDAY").contains("ORDER_STATUS_PLACED"));
            assert!(fail("pageSize=-1").contains("pageSize"));
            assert!(fail("customerId=a&customer_id=b").contains("more than once"));
        });
        with_route(Method::POST, "/v1/orders/o-1:cancel", |route, values| {
            let fail = |body: &'static [u8]| {
                request(
                    route,
                    &values,
                    None,
                    &HeaderMap::new(),
                    &Bytes::from_static(body),
                )
                .unwrap_err()
                .message
            };
            assert!(fail(br#"{"orderId":"o-2"}"#).contains("path"));
            assert!(fail(br#"{"reason":1}"#).contains("invalid JSON"));
            assert!(fail(br#"{"why":"x"}"#).contains("why"));
            assert!(fail(br#"{"reason":"x"} {}"#).contains("invalid JSON"));
        });
    }

    #[test]
    fn if_match_takes_the_etag_form_and_refuses_weak_tags() {
        assert_eq!(parse_if_match("\"12\"").unwrap(), Some(12));
        assert_eq!(parse_if_match("12").unwrap(), Some(12));
        assert_eq!(parse_if_match("*").unwrap(), None);
        assert!(parse_if_match("W/\"12\"").is_err());
        assert!(parse_if_match("\"1\", \"2\"").is_err());
    }
}
