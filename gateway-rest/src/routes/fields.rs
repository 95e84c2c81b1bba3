//! Chains of fields through a request or response message: the dotted paths that templates
//! and query parameters name, and the convention fields found by shape.

use prost_reflect::{Cardinality, FieldDescriptor, Kind, MessageDescriptor};

use super::FieldPath;

/// Resolves a dotted path of proto field names (as templates write them) through singular
/// message fields.
/// message fields.
pub fn resolve_proto_path(message: &MessageDescriptor, path: &str) -> Result<FieldPath, String> {
    resolve(message, path, |m, name| m.get_field_by_name(name))
}

/// Resolves a dotted path whose parts may be proto names or JSON names (as query parameters
/// may be written either way).
pub fn resolve_any_path(message: &MessageDescriptor, path: &str) -> Result<FieldPath, String> {
    resolve(message, path, |m, name| {
        m.get_field_by_json_name(name)
            .or_else(|| m.get_field_by_name(name))
    })
}

fn resolve(
    message: &MessageDescriptor,
    path: &str,
    lookup: impl Fn(&MessageDescriptor, &str) -> Option<FieldDescriptor>,
) -> Result<FieldPath, String> {
    let mut current = message.clone();
    let mut fields = Vec::new();
    let parts: Vec<&str> = path.split('.').collect();
    for (i, part) in parts.iter().enumerate() {
        let field = lookup(&current, part)
            .ok_or_else(|| format!("{} has no field {part:?}", current.full_name()))?;
        let last = i + 1 == parts.len();
        if !last {
            match field.kind() {
                Kind::Message(next) if field.cardinality() != Cardinality::Repeated => {
                    current = next;
                }
                _ => return Err(format!("{part:?} is not a single message field")),
            }
        }
        fields.push(field);
    }
    Ok(fields)
}

/// `parent.child` when the message has a singular message field `parent` whose type has a
/// singular scalar `child`.
pub(super) fn nested_scalar(
    message: &MessageDescriptor,
    parent: &str,
    child: &str,
) -> Option<FieldPath> {
    let parent = message.get_field_by_name(parent)?;
    let Kind::Message(inner) = parent.kind() else {
        return None;
    };
    if parent.is_list() {
        return None;
    }
    let child = inner.get_field_by_name(child)?;
    (!child.is_list() && !matches!(child.kind(), Kind::Message(_))).then(|| vec![parent, child])
}

/// `name` at the top of `message`, or in its first singular message field that has it.
pub(super) fn response_scalar(message: &MessageDescriptor, name: &str) -> Option<FieldPath> {
    let scalar = |m: &MessageDescriptor| {
        m.get_field_by_name(name)
            .filter(|f| !f.is_list() && !matches!(f.kind(), Kind::Message(_)))
    };
    if let Some(field) = scalar(message) {
        return Some(vec![field]);
    }
    message.fields().find_map(|field| match field.kind() {
        Kind::Message(inner) if !field.is_list() && !field.is_map() => {
            scalar(&inner).map(|leaf| vec![field.clone(), leaf])
        }
        _ => None,
    })
}
