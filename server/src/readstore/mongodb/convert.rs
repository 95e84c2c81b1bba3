//! JSON <-> BSON for read-model documents, and the shape they are stored in.
//!
//! The conversion is written out rather than taken from `bson`'s `serde_json` bridge, because
//! that bridge reads extended JSON: a body holding `{"$oid": "..."}` would come back as an
//! ObjectId, and a projection's JSON must round-trip as the same JSON. Integers are stored as
//! Int64 and floats as Double, so `2` and `2.0` stay what they were (and still compare equal in
//! queries, as MongoDB compares numbers numerically). An unsigned integer beyond `i64::MAX` is
//! stored as an exact Decimal128, which MongoDB also compares numerically.
//!
//! A stored document is `{_id: <id>, body: <the JSON object>, pos: <batch position>}`. Keeping
//! the body in its own field means no body key can collide with `_id` or with the adapter's own
//! fields, and filters address `body.<path>`. `pos` records which batch last wrote the document
//! (for operators and the standalone journal; queries never see it).

use mongodb::bson::{Bson, Decimal128, Document, RawDocument, RawDocumentBuf, doc};
use serde_json::{Map, Number, Value};

use crate::readstore::ReadStoreError;

/// MongoDB's limit on one stored document (`maxBsonObjectSize`), header and all.
pub(super) const MAX_DOCUMENT_BYTES: usize = 16 * 1024 * 1024;
/// Field of a stored document holding the projection's JSON object.
pub(super) const BODY: &str = "body";
/// Field of a stored document holding the position of the batch that wrote it.
pub(super) const POSITION: &str = "pos";

/// Decimal128 exponent bias: an encoded exponent of 6176 means `coefficient * 10^0`.
const DECIMAL_BIAS: u128 = 6176;
const DECIMAL_COEFFICIENT_BITS: u32 = 113;

/// The BSON form of a JSON value.
pub(super) fn to_bson(value: &Value) -> Bson {
    match value {
        Value::Null => Bson::Null,
        Value::Bool(b) => Bson::Boolean(*b),
        Value::Number(n) => number_to_bson(n),
        Value::String(s) => Bson::String(s.clone()),
        Value::Array(items) => Bson::Array(items.iter().map(to_bson).collect()),
        Value::Object(map) => Bson::Document(to_document(map)),
    }
}

/// The BSON document of a JSON object, keys in their JSON order.
pub(super) fn to_document(map: &Map<String, Value>) -> Document {
    map.iter()
        .map(|(key, value)| (key.clone(), to_bson(value)))
        .collect()
}

fn number_to_bson(n: &Number) -> Bson {
    if let Some(i) = n.as_i64() {
        Bson::Int64(i)
    } else if let Some(u) = n.as_u64() {
        Bson::Decimal128(decimal_from_u64(u))
    } else {
        // serde_json (without arbitrary precision) holds every other number as a finite f64.
        Bson::Double(n.as_f64().unwrap_or(0.0))
    }
}

/// The exact Decimal128 of `n`: coefficient `n`, exponent 0.
fn decimal_from_u64(n: u64) -> Decimal128 {
    let bits = (DECIMAL_BIAS << DECIMAL_COEFFICIENT_BITS) | u128::from(n);
    Decimal128::from_bytes(bits.to_le_bytes())
}

/// The JSON number of a Decimal128: exact for the integers [`decimal_from_u64`] writes, the
/// nearest float for any other finite value another writer stored, `null` for NaN/infinity.
fn decimal_to_json(decimal: Decimal128) -> Value {
    let bits = u128::from_le_bytes(decimal.bytes());
    let negative = bits >> 127 == 1;
    if (bits >> 125) & 0b11 == 0b11 {
        // The "large coefficient" and special (NaN, infinity) encodings: never written here.
        return Value::Null;
    }
    let exponent = ((bits >> DECIMAL_COEFFICIENT_BITS) & 0x3fff) as i32 - DECIMAL_BIAS as i32;
    let coefficient = bits & ((1u128 << DECIMAL_COEFFICIENT_BITS) - 1);
    if !negative
        && exponent == 0
        && let Ok(u) = u64::try_from(coefficient)
    {
        return Value::from(u);
    }
    let magnitude = coefficient as f64 * 10f64.powi(exponent);
    let value = if negative { -magnitude } else { magnitude };
    Number::from_f64(value).map_or(Value::Null, Value::Number)
}

/// The JSON form of a stored BSON value. Types JSON lacks (dates, ObjectIds, ...), which only
/// another writer can have stored, come back as relaxed extended JSON.
pub(super) fn to_json(value: Bson) -> Value {
    match value {
        Bson::Null | Bson::Undefined => Value::Null,
        Bson::Boolean(b) => Value::Bool(b),
        Bson::Int32(i) => Value::from(i),
        Bson::Int64(i) => Value::from(i),
        Bson::Double(f) => Number::from_f64(f).map_or(Value::Null, Value::Number),
        Bson::Decimal128(d) => decimal_to_json(d),
        Bson::String(s) => Value::String(s),
        Bson::Array(items) => Value::Array(items.into_iter().map(to_json).collect()),
        Bson::Document(doc) => document_to_json(doc),
        other => other.into_relaxed_extjson(),
    }
}

/// The JSON object of a BSON document.
pub(super) fn document_to_json(doc: Document) -> Value {
    Value::Object(doc.into_iter().map(|(k, v)| (k, to_json(v))).collect())
}

/// The document to store for `body` under `id`, written by the batch at `position`, with its
/// encoded size. `Rejected` (naming `collection/id`) when the body is not an object, cannot be
/// encoded (a key holding a NUL character) or exceeds MongoDB's 16 MiB document limit.
pub(super) fn stored_document(
    collection: &str,
    id: &str,
    body: &Value,
    position: i64,
) -> Result<(Document, usize), ReadStoreError> {
    let rejected = |why: String| ReadStoreError::Rejected(format!("{collection}/{id}: {why}"));
    if id.is_empty() {
        return Err(rejected("empty document id".to_owned()));
    }
    let Value::Object(map) = body else {
        return Err(rejected("the body is not a JSON object".to_owned()));
    };
    let document = doc! { "_id": id, BODY: to_document(map), POSITION: position };
    let size = encoded_size(&document)
        .ok_or_else(|| rejected("the body cannot be encoded as BSON".to_owned()))?;
    if size > MAX_DOCUMENT_BYTES {
        return Err(rejected(format!(
            "the document is {size} bytes as BSON, over MongoDB's 16 MiB document limit"
        )));
    }
    Ok((document, size))
}

/// The BSON size of `document`, `None` when it cannot be encoded (e.g. a key with a NUL).
pub(super) fn encoded_size(document: &Document) -> Option<usize> {
    RawDocumentBuf::from_document(document)
        .ok()
        .map(|raw| raw.as_bytes().len())
}

/// A document as the server sent it. Stored documents are always read raw and converted here,
/// element by element: the driver's serde path would take a body's `{"$oid": ...}` for
/// extended JSON and fail (or change it). `None` when the bytes are not a valid document.
pub(super) fn from_raw(raw: &RawDocument) -> Option<Document> {
    Document::try_from(raw).ok()
}

/// The id and JSON body of a stored document; `None` when it is not in the stored shape (a
/// document some other program put into a read-model collection).
pub(super) fn read_document(mut stored: Document) -> Option<(String, Value)> {
    let id = match stored.remove("_id")? {
        Bson::String(id) => id,
        _ => return None,
    };
    match stored.remove(BODY)? {
        Bson::Document(body) => Some((id, document_to_json(body))),
        _ => None,
    }
}

/// The value at dotted `path` of a JSON body; `Null` when any step is missing (MongoDB sorts a
/// missing field as null, and so does the cursor).
pub(super) fn value_at(body: &Value, path: &str) -> Value {
    path.split('.')
        .try_fold(body, |value, segment| value.get(segment))
        .cloned()
        .unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn json_round_trips_exactly() {
        let body = json!({
            "int": 7, "neg": -3, "float": 2.0, "frac": 0.1, "big": u64::MAX, "max": i64::MAX,
            "s": "ä\u{0}x", "t": true, "n": null, "arr": [1, "a", {"$oid": "not an id"}],
            "nested": {"$gt": 1, "_id": "inner"}
        });
        let Value::Object(map) = &body else {
            unreachable!()
        };
        let back = document_to_json(to_document(map));
        assert_eq!(back, body);
        assert!(matches!(to_bson(&json!(2.0)), Bson::Double(_)));
        assert!(matches!(to_bson(&json!(2)), Bson::Int64(2)));
        assert!(matches!(to_bson(&json!(u64::MAX)), Bson::Decimal128(_)));
    }

    #[test]
    fn foreign_values_do_not_panic() {
        let decimal = Decimal128::from_bytes([0xff; 16]);
        assert_eq!(to_json(Bson::Decimal128(decimal)), Value::Null);
        let scaled = (6174u128 << 113) | 12345; // 123.45
        let value = to_json(Bson::Decimal128(Decimal128::from_bytes(
            scaled.to_le_bytes(),
        )));
        assert_eq!(value, json!(123.45));
        assert_eq!(to_json(Bson::Double(f64::NAN)), Value::Null);
        assert_eq!(to_json(Bson::Int32(5)), json!(5));
    }

    #[test]
    fn stored_documents_are_checked() {
        let ok = stored_document("c", "a", &json!({"x": 1}), 3).expect("fits");
        assert_eq!(read_document(ok.0), Some(("a".to_owned(), json!({"x": 1}))));
        for (id, body) in [
            ("", json!({})),
            ("a", json!([1])),
            ("a", json!({"k\u{0}": 1})),
            ("a", json!({"x": "a".repeat(MAX_DOCUMENT_BYTES)})),
        ] {
            match stored_document("coll", id, &body, 1) {
                Err(ReadStoreError::Rejected(why)) => assert!(why.starts_with("coll/"), "{why}"),
                other => panic!("expected Rejected, got {:?}", other.map(|d| d.1)),
            }
        }
        assert_eq!(read_document(doc! {"_id": 1, "body": {}}), None);
        assert_eq!(read_document(doc! {"_id": "x"}), None);
        let raw = RawDocumentBuf::from_document(&doc! {"_id": "a", "body": {"k": {"$oid": "no"}}})
            .expect("raw");
        let back = from_raw(&raw).and_then(read_document);
        assert_eq!(back, Some(("a".to_owned(), json!({"k": {"$oid": "no"}}))));
    }

    #[test]
    fn dotted_paths_read_nested_values() {
        let body = json!({"a": {"b": 2}, "c": null});
        assert_eq!(value_at(&body, "a.b"), json!(2));
        assert_eq!(value_at(&body, "a.x"), Value::Null);
        assert_eq!(value_at(&body, "c"), Value::Null);
        assert_eq!(value_at(&body, "c.d"), Value::Null);
    }
}
