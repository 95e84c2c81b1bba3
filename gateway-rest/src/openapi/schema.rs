//! Schemas by the proto3 JSON mapping, as the transcoder applies it: 64-bit integers are
//! strings, enums are their names, unknown properties are refused. Messages, fields and enum
//! values carry their comments as descriptions.

use prost_reflect::{EnumDescriptor, FieldDescriptor, Kind, MessageDescriptor};
use serde_json::{Map, Value, json};

use super::comments::Comments;

/// A reference to the component schema of `message` (or the inline schema of a well-known
/// type).
pub(super) fn reference(message: &MessageDescriptor) -> Value {
    well_known(message)
        .unwrap_or_else(|| json!({"$ref": format!("#/components/schemas/{}", message.full_name())}))
}

/// The schema of `message` without the fields named in `excluded`.
pub(super) fn message_schema(
    message: &MessageDescriptor,
    comments: &Comments,
    excluded: &[String],
) -> Value {
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
    if let Some(text) = comments.of(message) {
        schema["description"] = json!(text);
    }
    schema
}

/// A field's schema in a JSON body.
pub(super) fn field_schema(field: &FieldDescriptor, comments: &Comments) -> Value {
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
    if let Some(text) = field_description(field, comments) {
        if schema.get("$ref").is_some() {
            // OpenAPI 3.0 ignores siblings of $ref; allOf keeps the description.
            schema = json!({"allOf": [schema]});
        }
        schema["description"] = json!(text);
    }
    schema
}

/// The field's comment, followed for an enum by what each of its values means.
pub(super) fn field_description(field: &FieldDescriptor, comments: &Comments) -> Option<String> {
    let text = comments.of(field).map(str::to_owned);
    let Kind::Enum(enumeration) = field.kind() else {
        return text;
    };
    let values: Vec<String> = enumeration
        .values()
        .filter_map(|value| {
            let meaning = comments.of(&value)?;
            Some(format!(
                "- {}: {}",
                value.name(),
                meaning.replace('\n', " ")
            ))
        })
        .collect();
    if values.is_empty() {
        return text;
    }
    let values = values.join("\n");
    Some(match text {
        Some(text) => format!("{text}\n\n{values}"),
        None => values,
    })
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
pub(super) fn text_schema(field: &FieldDescriptor) -> Value {
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

/// The names of the enum's values.
fn enum_schema(enumeration: &EnumDescriptor) -> Value {
    let names: Vec<String> = enumeration.values().map(|v| v.name().to_owned()).collect();
    json!({"type": "string", "enum": names})
}

/// Schemas of the well-known types, which proto3 JSON writes specially.
pub(super) fn well_known(message: &MessageDescriptor) -> Option<Value> {
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
