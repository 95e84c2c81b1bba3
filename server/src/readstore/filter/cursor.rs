//! The page cursor every adapter uses: the last document's sort values and id, bound to the
//! query that produced it, encoded as an opaque URL-safe string (it travels as `pageToken`).
//!
//! Keyset pagination ("after these values") rather than offsets is what keeps pages stable while
//! projections insert and delete documents between page reads.

use serde::{Deserialize, Serialize};
use serde_json::{Number, Value};

use super::{Filter, Query, SortDirection};
use crate::readstore::ReadStoreError;

/// Version of the encoding; a token of another version is refused, not misread.
const VERSION: u32 = 1;
/// Longest token accepted, so a hostile token cannot make the server decode megabytes.
const MAX_TOKEN_LEN: usize = 16 * 1024;

/// Where the next page starts: strictly after the document with these sort values and this id.
#[derive(Debug, Clone, PartialEq)]
pub struct Cursor {
    /// The last document's value of each sort key, in the query's order; `Null` when it lacked
    /// the field. Floats survive encoding bit for bit, so the keyset comparison is exact.
    pub values: Vec<Value>,
    /// The last document's id (the final tie-break).
    pub id: String,
}

/// A sort value as written in a token: floats by their bits, since a decimal round trip through
/// JSON is not guaranteed to be exact.
#[derive(Serialize, Deserialize)]
enum Key {
    #[serde(rename = "n")]
    Null,
    #[serde(rename = "b")]
    Bool(bool),
    #[serde(rename = "i")]
    Int(i64),
    #[serde(rename = "u")]
    UInt(u64),
    #[serde(rename = "f")]
    Float(u64),
    #[serde(rename = "s")]
    Str(String),
    #[serde(rename = "j")]
    Json(String),
}

#[derive(Serialize, Deserialize)]
struct Wire {
    v: u32,
    /// Fingerprint of the query; see [`fingerprint`].
    q: String,
    k: Vec<Key>,
    id: String,
}

impl Cursor {
    /// The opaque token for this cursor under `query` (lowercase hex of a small JSON object).
    pub fn encode(&self, query: &Query) -> String {
        let wire = Wire {
            v: VERSION,
            q: fingerprint(query),
            k: self.values.iter().map(to_key).collect(),
            id: self.id.clone(),
        };
        // Serialising plain enums and strings to a Vec cannot fail.
        let json = serde_json::to_vec(&wire).unwrap_or_default();
        json.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Decodes `token` for `query`. A token that is malformed, of another version, or made by a
    /// different query (filter or sort; the page size may change) is `Invalid`:
    /// continuing someone else's walk would silently return the wrong documents.
    pub fn decode(token: &str, query: &Query) -> Result<Self, ReadStoreError> {
        let invalid = || ReadStoreError::Invalid("malformed page token".to_owned());
        if token.len() > MAX_TOKEN_LEN || !token.len().is_multiple_of(2) {
            return Err(invalid());
        }
        let bytes = (0..token.len())
            .step_by(2)
            .map(|i| {
                token
                    .get(i..i + 2)
                    .filter(|pair| pair.bytes().all(|b| b.is_ascii_hexdigit()))
                    .and_then(|pair| u8::from_str_radix(pair, 16).ok())
            })
            .collect::<Option<Vec<u8>>>()
            .ok_or_else(invalid)?;
        let wire: Wire = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
        if wire.v != VERSION || wire.q != fingerprint(query) || wire.k.len() != query.sort.len() {
            return Err(ReadStoreError::Invalid(
                "the page token belongs to a different query".to_owned(),
            ));
        }
        let values = wire
            .k
            .into_iter()
            .map(from_key)
            .collect::<Option<Vec<Value>>>()
            .ok_or_else(invalid)?;
        Ok(Self {
            values,
            id: wire.id,
        })
    }
}

fn to_key(value: &Value) -> Key {
    match value {
        Value::Null => Key::Null,
        Value::Bool(b) => Key::Bool(*b),
        Value::String(s) => Key::Str(s.clone()),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => Key::Int(i),
            (None, Some(u), _) => Key::UInt(u),
            (None, None, Some(f)) => Key::Float(f.to_bits()),
            (None, None, None) => Key::Json(n.to_string()),
        },
        Value::Array(_) | Value::Object(_) => Key::Json(value.to_string()),
    }
}

fn from_key(key: Key) -> Option<Value> {
    Some(match key {
        Key::Null => Value::Null,
        Key::Bool(b) => Value::Bool(b),
        Key::Int(i) => Value::from(i),
        Key::UInt(u) => Value::from(u),
        Key::Float(bits) => Value::Number(Number::from_f64(f64::from_bits(bits))?),
        Key::Str(s) => Value::String(s),
        Key::Json(text) => serde_json::from_str(&text).ok()?,
    })
}

/// A stable 64-bit FNV-1a digest (hex) of the query's filter and sort. Stable across builds and
/// adapters (unlike `std`'s hasher), so a token survives a rolling restart. The collection is
/// left out on purpose: a rebuild moves a read model to a new physical collection, and a walk
/// that began before the switch must continue after it (keyset positions mean the same there).
fn fingerprint(query: &Query) -> String {
    let mut text = String::new();
    write_filter(&query.filter, &mut text);
    for key in &query.sort {
        let direction = match key.direction {
            SortDirection::Ascending => '+',
            SortDirection::Descending => '-',
        };
        text.push('\u{0}');
        text.push(direction);
        text.push_str(&key.field);
    }
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    format!("{hash:016x}")
}

fn write_filter(filter: &Filter, out: &mut String) {
    let bound = |b: &Option<(Value, bool)>| match b {
        Some((value, inclusive)) => format!("{value}{}", if *inclusive { "=" } else { "" }),
        None => "~".to_owned(),
    };
    match filter {
        Filter::All => out.push('*'),
        Filter::Eq(field, value) => out.push_str(&format!("eq({field},{value})")),
        Filter::In(field, values) => {
            let values: Vec<String> = values.iter().map(Value::to_string).collect();
            out.push_str(&format!("in({field},[{}])", values.join(",")));
        }
        Filter::Range {
            field,
            lower,
            upper,
        } => out.push_str(&format!("range({field},{},{})", bound(lower), bound(upper))),
        Filter::And(filters) => {
            out.push_str("and(");
            filters.iter().for_each(|f| {
                write_filter(f, out);
                out.push(',');
            });
            out.push(')');
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::readstore::filter::SortKey;

    fn query() -> Query {
        Query::new("orders")
            .with_filter(Filter::eq("status", "PLACED"))
            .with_sort(SortKey::desc("total"))
            .with_sort(SortKey::asc("customer.id"))
    }

    #[test]
    fn round_trips_exactly() {
        let cursor = Cursor {
            values: vec![json!(0.1_f64 + 0.2_f64), json!(null)],
            id: "o-1/ä".to_owned(),
        };
        let token = cursor.encode(&query());
        assert!(token.bytes().all(|b| b.is_ascii_hexdigit()));
        let decoded = Cursor::decode(&token, &query().with_limit(3)).expect("decodes");
        assert_eq!(decoded, cursor);
        let int = Cursor {
            values: vec![json!(u64::MAX), json!("x")],
            id: String::new(),
        };
        assert_eq!(
            Cursor::decode(&int.encode(&query()), &query()).ok(),
            Some(int)
        );
    }

    #[test]
    fn refuses_garbage_and_foreign_tokens() {
        let token = Cursor {
            values: vec![json!(1), json!("a")],
            id: "x".to_owned(),
        }
        .encode(&query());
        let other = query().with_filter(Filter::eq("status", "SHIPPED"));
        for bad in ["", "zz", "abc", "7b7d", "ä1", &token[..token.len() - 2]] {
            assert!(
                matches!(
                    Cursor::decode(bad, &query()),
                    Err(ReadStoreError::Invalid(_))
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            Cursor::decode(&token, &other),
            Err(ReadStoreError::Invalid(_))
        ));
    }
}
