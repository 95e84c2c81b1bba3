//! Reading and writing fields of a `DynamicMessage` along a field path, and scalars from their
//! text form (paths, query parameters, headers) by the proto3 JSON rules.

use base64::Engine;
use prost_reflect::{DynamicMessage, FieldDescriptor, Kind, Value};

use crate::routes::FieldPath;

/// `options.commandId`: a field path in proto3 JSON names, as clients write them.
pub fn display_path(fields: &[FieldDescriptor]) -> String {
    fields
        .iter()
        .map(FieldDescriptor::json_name)
        .collect::<Vec<_>>()
        .join(".")
}

pub(super) fn is_set(message: &DynamicMessage, fields: &[FieldDescriptor]) -> bool {
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
pub(super) fn parents_set(message: &DynamicMessage, fields: &[FieldDescriptor]) -> bool {
    match fields.split_last() {
        Some((_, [])) => true,
        Some((_, parents)) => is_set(message, parents),
        None => false,
    }
}

pub(super) fn get(message: &DynamicMessage, fields: &[FieldDescriptor]) -> Option<Value> {
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
pub(super) fn descend<'a>(
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
pub(super) fn set_from_text(
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

/// Well-known messages whose proto3 JSON form is one string (`Timestamp`: RFC 3339,
/// `Duration`: `1.5s`, `FieldMask`: `a,b.c`), so a query parameter or header may give them whole.
pub const TEXT_MESSAGES: [&str; 3] = [
    "google.protobuf.Timestamp",
    "google.protobuf.Duration",
    "google.protobuf.FieldMask",
];

/// Whether a field of `kind` takes its value from one piece of text.
pub(super) fn from_text(kind: &Kind) -> bool {
    match kind {
        Kind::Message(message) => TEXT_MESSAGES.contains(&message.full_name()),
        _ => true,
    }
}

/// A scalar from its text form, as in proto3 JSON strings: decimal integers, `true`/`false`,
/// enum names (or numbers), base64 bytes, and the [`TEXT_MESSAGES`].
pub(super) fn scalar_from_text(kind: &Kind, text: &str) -> Result<Value, String> {
    let number = |what: &str| format!("{text:?} is not {what}");
    Ok(match kind {
        Kind::Message(message) if TEXT_MESSAGES.contains(&message.full_name()) => {
            let json = serde_json::Value::String(text.to_owned());
            DynamicMessage::deserialize(message.clone(), json)
                .map(Value::Message)
                .map_err(|e| format!("{text:?} is not a {}: {e}", message.name()))?
        }
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
