//! Which fields a refused JSON body is wrong in. The proto3 JSON reader stops at the first
//! value it cannot read and says why, but not where in the message; a caller needs the field.
//! So, only on that error path, each field of the (well-formed) document is read again on its
//! own, descending into nested messages and list elements, and every field whose value does
//! not read is named by its proto3 JSON path (`lines[0].quantity`) with what it must be.
//!
//! The reader itself decides what is wrong, so the rules are never restated here.

use prost_reflect::{DynamicMessage, FieldDescriptor, Kind, MessageDescriptor};
use serde_json::{Map, Value as Json};

use super::body::strict;

/// Every field of `document` that does not read as its field of `message`, with the reason.
/// Empty when the fault is not one field's (a duplicated key, a body that is not an object).
pub(super) fn blame(message: &MessageDescriptor, document: &Json) -> Vec<(String, String)> {
    let mut found = Vec::new();
    blame_in(message, document, "", &mut found);
    found
}

fn blame_in(
    message: &MessageDescriptor,
    value: &Json,
    prefix: &str,
    found: &mut Vec<(String, String)>,
) {
    let Json::Object(object) = value else {
        return;
    };
    for (key, item) in object {
        let Some(field) = message
            .get_field_by_json_name(key)
            .or_else(|| message.get_field_by_name(key))
        else {
            found.push((format!("{prefix}{key}"), "unknown field".to_owned()));
            continue;
        };
        let path = format!("{prefix}{}", field.json_name());
        let before = found.len();
        match (inner_message(&field), item) {
            (Some(inner), Json::Object(_)) if !field.is_list() => {
                blame_in(&inner, item, &format!("{path}."), found);
            }
            (inner, Json::Array(elements)) if field.is_list() => {
                for (index, element) in elements.iter().enumerate() {
                    let at = format!("{path}[{index}]");
                    match (&inner, element) {
                        (Some(inner), Json::Object(_)) => {
                            blame_in(inner, element, &format!("{at}."), found);
                        }
                        _ => {
                            let alone = Json::Array(vec![element.clone()]);
                            if let Some(why) = misreads(message, key, alone) {
                                found.push((at, expected(&field, why)));
                            }
                        }
                    }
                }
            }
            _ => {}
        }
        // Nothing deeper was at fault: the value as a whole may still be (a string where an
        // object belongs, a number out of range).
        if found.len() == before
            && let Some(why) = misreads(message, key, item.clone())
        {
            found.push((path, expected(&field, why)));
        }
    }
}

/// The message type to descend into: a singular or repeated message field, except the
/// well-known types, whose JSON forms are not objects of their fields.
fn inner_message(field: &FieldDescriptor) -> Option<MessageDescriptor> {
    match field.kind() {
        Kind::Message(inner)
            if !field.is_map() && !inner.full_name().starts_with("google.protobuf.") =>
        {
            Some(inner)
        }
        _ => None,
    }
}

/// Why `{key: value}` alone does not read as `message`, if it does not.
fn misreads(message: &MessageDescriptor, key: &str, value: Json) -> Option<String> {
    let alone = Json::Object(Map::from_iter([(key.to_owned(), value)]));
    DynamicMessage::deserialize_with_options(message.clone(), alone, &strict())
        .err()
        .map(|e| e.to_string())
}

/// The reader's reason, prefixed with what the field takes in proto3 JSON.
fn expected(field: &FieldDescriptor, why: String) -> String {
    let what = match field.kind() {
        Kind::Double | Kind::Float => "a number".to_owned(),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => "a 32-bit integer, e.g. -7".to_owned(),
        Kind::Uint32 | Kind::Fixed32 => "an unsigned 32-bit integer, e.g. 7".to_owned(),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => {
            "a 64-bit integer, as a string such as \"-7\"".to_owned()
        }
        Kind::Uint64 | Kind::Fixed64 => {
            "an unsigned 64-bit integer, as a string such as \"7\"".to_owned()
        }
        Kind::Bool => "true or false".to_owned(),
        Kind::String => "a string".to_owned(),
        Kind::Bytes => "base64 text".to_owned(),
        Kind::Enum(values) => {
            let names: Vec<String> = values.values().map(|v| v.name().to_owned()).collect();
            format!("one of {}", names.join(", "))
        }
        Kind::Message(inner) => format!("a {} object", inner.name()),
    };
    format!("must be {what} ({why})")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place_order() -> MessageDescriptor {
        crate::contracts()
            .unwrap()
            .get_message_by_name("causeway.orders.v1.PlaceOrderRequest")
            .unwrap()
    }

    fn fields(document: Json) -> Vec<String> {
        blame(&place_order(), &document)
            .into_iter()
            .map(|(field, _)| field)
            .collect()
    }

    #[test]
    fn names_every_field_at_fault_by_its_json_path() {
        let document = serde_json::json!({
            "customer_id": 7,
            "currency": "EUR",
            "lines": [
                {"sku": "k", "quantity": 1},
                {"sku": "k", "quantity": "ten", "unitPriceMinor": "x"},
            ],
            "options": {"commandId": ["c"]},
        });
        assert_eq!(
            fields(document),
            [
                "customerId",
                "lines[1].quantity",
                "lines[1].unitPriceMinor",
                "options.commandId",
            ]
        );
    }

    #[test]
    fn says_what_the_field_takes_and_names_unknown_fields() {
        let found = blame(
            &place_order(),
            &serde_json::json!({"lines": [{"quantity": -1}]}),
        );
        assert_eq!(found[0].0, "lines[0].quantity");
        assert!(
            found[0].1.starts_with("must be an unsigned 32-bit integer"),
            "{found:?}"
        );
        assert_eq!(fields(serde_json::json!({"colour": "red"})), ["colour"]);
        assert_eq!(fields(serde_json::json!({"lines": "none"})), ["lines"]);
        assert_eq!(fields(serde_json::json!({"lines": [7]})), ["lines[0]"]);
        assert!(fields(serde_json::json!([])).is_empty());
        assert!(fields(serde_json::json!({"currency": "EUR"})).is_empty());
    }
}
