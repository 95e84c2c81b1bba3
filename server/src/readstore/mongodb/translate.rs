//! The filter AST, sort keys, page cursors and index specs as MongoDB documents.
//!
//! MongoDB's own comparison rules give the semantics the conformance suite pins, so the
//! translation is direct: comparison operators only match values of the same type bracket (a
//! number never matches a string or a boolean; `2` equals `2.0`), strings compare by bytes
//! without a collation, a missing field matches no comparison, and sorting puts missing (and
//! null) first ascending and last descending. Field paths and collection names were validated
//! (`[A-Za-z0-9_]` segments), so none can smuggle in an operator.

use mongodb::{
    IndexModel,
    bson::{Bson, Document, doc},
    options::IndexOptions,
};
use serde_json::Value;

use super::convert::{BODY, to_bson};
use crate::readstore::{
    IndexSpec, ReadStoreError,
    filter::{
        Cursor, Filter, Query, SortDirection, SortKey, validate_collection, validate_field_path,
    },
};

/// Most fields in one index (as in the embedded adapter).
const MAX_INDEX_FIELDS: usize = 8;

/// The stored path of a body field.
fn path(field: &str) -> String {
    format!("{BODY}.{field}")
}

/// The query document of `filter`.
pub(super) fn filter(filter: &Filter) -> Document {
    match filter {
        Filter::All => Document::new(),
        Filter::Eq(field, value) => doc! { path(field): { "$eq": to_bson(value) } },
        Filter::In(field, values) => {
            let values: Vec<Bson> = values.iter().map(to_bson).collect();
            doc! { path(field): { "$in": values } }
        }
        Filter::Range {
            field,
            lower,
            upper,
        } => {
            let mut bounds = Document::new();
            if let Some((value, inclusive)) = lower {
                bounds.insert(if *inclusive { "$gte" } else { "$gt" }, to_bson(value));
            }
            if let Some((value, inclusive)) = upper {
                bounds.insert(if *inclusive { "$lte" } else { "$lt" }, to_bson(value));
            }
            doc! { path(field): bounds }
        }
        Filter::And(filters) => all_of(filters.iter().map(self::filter).collect()),
    }
}

/// A conjunction; MongoDB refuses an empty `$and`, and one term needs no wrapper.
fn all_of(mut terms: Vec<Document>) -> Document {
    terms.retain(|term| !term.is_empty());
    match terms.len() {
        0 => Document::new(),
        1 => terms.pop().unwrap_or_default(),
        _ => doc! { "$and": terms },
    }
}

/// The filter of one page: the query's filter and, after the first page, the keyset condition.
pub(super) fn page_filter(query: &Query, cursor: Option<&Cursor>) -> Document {
    let mut terms = vec![filter(&query.filter)];
    if let Some(cursor) = cursor {
        terms.push(keyset(&query.sort, cursor));
    }
    all_of(terms)
}

/// The sort document: each key in order, then `_id` ascending as the tie-break.
pub(super) fn sort(keys: &[SortKey]) -> Document {
    let mut sort = Document::new();
    for key in keys {
        let direction = match key.direction {
            SortDirection::Ascending => 1,
            SortDirection::Descending => -1,
        };
        sort.insert(path(&key.field), direction);
    }
    sort.insert("_id", 1);
    sort
}

/// MongoDB's sort order of the JSON kinds (BSON "type brackets"): null (and missing) < numbers
/// < strings < objects < arrays < booleans. Arrays are left out of the keyset's bracket terms:
/// a condition on an array field matches its elements, and filtering or sorting on arrays is
/// unspecified (see `filter`).
const BRACKETS: [(u8, &str); 4] = [(1, "number"), (2, "string"), (3, "object"), (5, "bool")];

fn bracket(value: &Value) -> u8 {
    match value {
        Value::Null => 0,
        Value::Number(_) => 1,
        Value::String(_) => 2,
        Value::Object(_) => 3,
        Value::Array(_) => 4,
        Value::Bool(_) => 5,
    }
}

/// Documents strictly after `cursor` in the order `sort, _id`: for some key, all earlier keys
/// equal and this one beyond. A cursor value of null stands for a missing (or null) field,
/// which sorts first ascending and last descending, so it gets its own branches; values of
/// another kind that MongoDB sorts beyond the cursor's are included by type, so even a sort
/// field holding mixed kinds pages without skipping.
pub(super) fn keyset(keys: &[SortKey], cursor: &Cursor) -> Document {
    let mut alternatives = Vec::new();
    for split in 0..=keys.len() {
        let mut terms: Vec<Document> = keys
            .iter()
            .zip(&cursor.values)
            .take(split)
            .map(|(key, value)| equal(&key.field, value))
            .collect();
        match (keys.get(split), cursor.values.get(split)) {
            (Some(key), Some(value)) => match beyond(key, value) {
                Some(term) => terms.push(term),
                None => continue, // nothing sorts after a missing field descending
            },
            _ => terms.push(doc! { "_id": { "$gt": cursor.id.as_str() } }),
        }
        alternatives.push(all_of(terms));
    }
    match alternatives.len() {
        1 => alternatives.pop().unwrap_or_default(),
        _ => doc! { "$or": alternatives },
    }
}

/// `field` sorts equal to `value` (null: missing or null).
fn equal(field: &str, value: &Value) -> Document {
    match value {
        Value::Null => doc! { path(field): Bson::Null },
        value => doc! { path(field): { "$eq": to_bson(value) } },
    }
}

/// `field` sorts strictly after `value` in the key's direction; `None` when nothing can.
fn beyond(key: &SortKey, value: &Value) -> Option<Document> {
    let field = path(&key.field);
    let rank = bracket(value);
    let later_kinds = |after: bool| -> Vec<&str> {
        BRACKETS
            .iter()
            .filter(|(r, _)| if after { *r > rank } else { *r < rank })
            .map(|(_, name)| *name)
            .collect()
    };
    let mut either = Vec::new();
    match (key.direction, value) {
        (SortDirection::Ascending, Value::Null) => {
            return Some(doc! { field: { "$ne": Bson::Null } });
        }
        (SortDirection::Descending, Value::Null) => return None,
        (SortDirection::Ascending, value) => {
            either.push(doc! { &field: { "$gt": to_bson(value) } });
            let kinds = later_kinds(true);
            if !kinds.is_empty() {
                either.push(doc! { &field: { "$type": kinds } });
            }
        }
        (SortDirection::Descending, value) => {
            either.push(doc! { &field: { "$lt": to_bson(value) } });
            let kinds = later_kinds(false);
            if !kinds.is_empty() {
                either.push(doc! { &field: { "$type": kinds } });
            }
            either.push(doc! { &field: Bson::Null });
        }
    }
    Some(match either.len() {
        1 => either.pop().unwrap_or_default(),
        _ => doc! { "$or": either },
    })
}

/// The sort values of a document for the next page's cursor.
pub(super) fn sort_values(keys: &[SortKey], body: &Value) -> Vec<Value> {
    keys.iter()
        .map(|key| super::convert::value_at(body, &key.field))
        .collect()
}

/// The deterministic name of `spec`'s index: `cw_` and a digest of the whole spec, so a
/// changed spec gets a new index instead of silently keeping the old one.
pub(super) fn index_name(spec: &IndexSpec) -> String {
    let mut text = format!("{}", spec.unique);
    for field in &spec.fields {
        text.push('\u{0}');
        text.push_str(field);
    }
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    format!("cw_{hash:016x}")
}

/// The index of `spec`: one ascending key per field. A non-unique index ends with `_id` so
/// that `sort(field, _id)` reads it in order. A unique index is partial on every field
/// existing, so documents lacking one are not constrained (as in the embedded adapter).
pub(super) fn index_model(spec: &IndexSpec) -> Result<IndexModel, ReadStoreError> {
    validate_collection(&spec.collection)?;
    if spec.fields.is_empty() || spec.fields.len() > MAX_INDEX_FIELDS {
        return Err(ReadStoreError::Invalid(format!(
            "an index needs 1 to {MAX_INDEX_FIELDS} fields"
        )));
    }
    let mut keys = Document::new();
    let mut present = Document::new();
    for field in &spec.fields {
        validate_field_path(field)?;
        keys.insert(path(field), 1);
        present.insert(path(field), doc! { "$exists": true });
    }
    let mut options = IndexOptions::builder()
        .name(index_name(spec))
        .unique(spec.unique)
        .build();
    if spec.unique {
        options.partial_filter_expression = Some(present);
    } else {
        keys.insert("_id", 1);
    }
    Ok(IndexModel::builder().keys(keys).options(options).build())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn filters_address_the_body() {
        let f = Filter::and([
            Filter::eq("a.b", 1),
            Filter::between("p", 1, 5),
            Filter::is_in("s", ["x"]),
        ]);
        assert_eq!(
            filter(&f),
            doc! { "$and": [
                { "body.a.b": { "$eq": 1_i64 } },
                { "body.p": { "$gte": 1_i64, "$lt": 5_i64 } },
                { "body.s": { "$in": ["x"] } },
            ] }
        );
        assert_eq!(filter(&Filter::and([])), doc! {});
        assert_eq!(
            filter(&Filter::and([Filter::All, Filter::eq("a", true)])),
            doc! { "body.a": { "$eq": true } }
        );
    }

    #[test]
    fn keyset_has_null_and_bracket_branches() {
        let keys = [SortKey::asc("r"), SortKey::desc("s")];
        let cursor = Cursor {
            values: vec![json!(null), json!(5)],
            id: "d".into(),
        };
        assert_eq!(
            keyset(&keys, &cursor),
            doc! { "$or": [
                { "body.r": { "$ne": null } },
                { "$and": [
                    { "body.r": null },
                    { "$or": [{ "body.s": { "$lt": 5_i64 } }, { "body.s": null }] },
                ] },
                { "$and": [{ "body.r": null }, { "body.s": { "$eq": 5_i64 } }, { "_id": { "$gt": "d" } }] },
            ] }
        );
        let desc_missing = Cursor {
            values: vec![json!(null)],
            id: "x".into(),
        };
        assert_eq!(
            keyset(&[SortKey::desc("r")], &desc_missing),
            doc! { "$and": [{ "body.r": null }, { "_id": { "$gt": "x" } }] }
        );
        let asc_string = Cursor {
            values: vec![json!("m")],
            id: "x".into(),
        };
        let term = keyset(&[SortKey::asc("r")], &asc_string);
        let text = format!("{term}");
        assert!(
            text.contains("\"object\"") && text.contains("\"bool\""),
            "{text}"
        );
        assert!(!text.contains("\"number\""), "{text}");
    }

    #[test]
    fn indexes_are_partial_when_unique() {
        let spec = |unique| IndexSpec {
            collection: "users".into(),
            fields: vec!["email".into(), "org.id".into()],
            unique,
        };
        let unique = index_model(&spec(true)).expect("model");
        assert_eq!(unique.keys, doc! { "body.email": 1, "body.org.id": 1 });
        let options = unique.options.expect("options");
        assert_eq!(
            options.partial_filter_expression,
            Some(doc! { "body.email": { "$exists": true }, "body.org.id": { "$exists": true } })
        );
        let plain = index_model(&spec(false)).expect("model");
        assert_eq!(
            plain.keys,
            doc! { "body.email": 1, "body.org.id": 1, "_id": 1 }
        );
        assert_ne!(index_name(&spec(true)), index_name(&spec(false)));
        let bad = IndexSpec {
            fields: vec!["x') --".into()],
            ..spec(false)
        };
        assert!(matches!(index_model(&bad), Err(ReadStoreError::Invalid(_))));
    }
}
