//! Checks every adapter runs before translating a query, so that all of them accept and refuse
//! the same requests, and so that names reaching a backend's query language are known-safe.

use serde_json::Value;

use super::{Filter, Query};
use crate::readstore::ReadStoreError;

/// Longest collection name accepted (MongoDB limits whole namespaces to 255 bytes).
const MAX_COLLECTION_LEN: usize = 120;
/// Longest dotted field path accepted.
const MAX_FIELD_PATH_LEN: usize = 200;
/// Most sort keys in one query; more is a mistake, and each one widens the cursor.
const MAX_SORT_KEYS: usize = 8;
/// Most values in one `In`; SQLite binds at most 32766 parameters per statement, and a list
/// this long is better served by another read model.
const MAX_IN_VALUES: usize = 1000;
/// Deepest nesting of `And` accepted, so a hostile filter cannot exhaust the stack.
const MAX_FILTER_DEPTH: usize = 16;

/// The kinds of scalar a filter compares; a condition only matches fields of the same kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// `true` / `false`.
    Bool,
    /// Integers and floats, compared numerically.
    Number,
    /// Strings, compared by bytes.
    String,
}

impl ValueKind {
    /// The kind of a filter value; `Invalid` for null, arrays and objects, which filters do not
    /// compare (their ordering differs between backends).
    pub fn of(value: &Value) -> Result<Self, ReadStoreError> {
        match value {
            Value::Bool(_) => Ok(Self::Bool),
            Value::Number(_) => Ok(Self::Number),
            Value::String(_) => Ok(Self::String),
            Value::Null | Value::Array(_) | Value::Object(_) => Err(ReadStoreError::Invalid(
                "filter values must be strings, numbers or booleans".to_owned(),
            )),
        }
    }
}

/// Accepts collection names of 1 to 120 characters from `[A-Za-z0-9_-]`. Adapters may then
/// embed the name in DDL (SQLite partial indexes cannot take parameters) without quoting risk,
/// and the same names are valid MongoDB collection names.
pub fn validate_collection(name: &str) -> Result<(), ReadStoreError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_COLLECTION_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(ReadStoreError::Invalid(
            "a collection name must be 1-120 characters of [A-Za-z0-9_-]".to_owned(),
        ))
    }
}

/// Accepts dotted paths of non-empty `[A-Za-z0-9_]` segments (`customer.id`). Adapters embed
/// them in their query language (a SQLite expression index only matches a literal path), so
/// nothing else may pass.
pub fn validate_field_path(path: &str) -> Result<(), ReadStoreError> {
    let ok = path.len() <= MAX_FIELD_PATH_LEN
        && path.split('.').all(|segment| {
            !segment.is_empty()
                && segment
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        });
    if ok {
        Ok(())
    } else {
        Err(ReadStoreError::Invalid(format!(
            "field path {:?} is not dotted [A-Za-z0-9_] segments",
            truncate(path)
        )))
    }
}

impl Query {
    /// Checks the collection, every field path, every value and the sort keys, so that an
    /// adapter only translates well-formed queries.
    pub fn validate(&self) -> Result<(), ReadStoreError> {
        validate_collection(&self.collection)?;
        self.filter.validate()?;
        if self.sort.len() > MAX_SORT_KEYS {
            return Err(ReadStoreError::Invalid(format!(
                "at most {MAX_SORT_KEYS} sort keys"
            )));
        }
        self.sort
            .iter()
            .try_for_each(|key| validate_field_path(&key.field))
    }
}

impl Filter {
    /// Checks field paths and values: scalars only, ranges with at least one bound and bounds
    /// of one kind, bounded nesting.
    pub fn validate(&self) -> Result<(), ReadStoreError> {
        self.validate_at(0)
    }

    fn validate_at(&self, depth: usize) -> Result<(), ReadStoreError> {
        match self {
            Self::All => Ok(()),
            Self::Eq(field, value) => {
                validate_field_path(field)?;
                ValueKind::of(value).map(|_| ())
            }
            Self::In(field, values) => {
                validate_field_path(field)?;
                if values.len() > MAX_IN_VALUES {
                    return Err(ReadStoreError::Invalid(format!(
                        "at most {MAX_IN_VALUES} values in one membership test"
                    )));
                }
                values.iter().try_for_each(|v| ValueKind::of(v).map(|_| ()))
            }
            Self::Range {
                field,
                lower,
                upper,
            } => {
                validate_field_path(field)?;
                let kinds = [lower, upper]
                    .into_iter()
                    .flatten()
                    .map(|(value, _)| ValueKind::of(value))
                    .collect::<Result<Vec<_>, _>>()?;
                match kinds.as_slice() {
                    [] => Err(ReadStoreError::Invalid(
                        "a range needs at least one bound".to_owned(),
                    )),
                    [a, b] if a != b => Err(ReadStoreError::Invalid(
                        "both bounds of a range must be of one kind".to_owned(),
                    )),
                    _ => Ok(()),
                }
            }
            Self::And(filters) => {
                if depth >= MAX_FILTER_DEPTH {
                    return Err(ReadStoreError::Invalid(
                        "filter nested too deeply".to_owned(),
                    ));
                }
                filters.iter().try_for_each(|f| f.validate_at(depth + 1))
            }
        }
    }
}

/// At most 40 characters of `text`, for error messages that echo input.
fn truncate(text: &str) -> String {
    text.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_paths() {
        for good in ["a", "customer.id", "A_1.b2.C_3", "0"] {
            assert!(validate_field_path(good).is_ok(), "{good}");
        }
        for bad in ["", ".a", "a.", "a..b", "a b", "a'", "$where", "a[0]", "é"] {
            assert!(validate_field_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn collections() {
        assert!(validate_collection("orders_v2-x").is_ok());
        for bad in ["", "a.b", "a'b", "x\"", &"a".repeat(121)] {
            assert!(validate_collection(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn filter_values() {
        assert!(Filter::eq("a", Value::Null).validate().is_err());
        assert!(Filter::eq("a", serde_json::json!([1])).validate().is_err());
        assert!(Filter::between("a", 1, "z").validate().is_err());
        let unbounded = Filter::Range {
            field: "a".into(),
            lower: None,
            upper: None,
        };
        assert!(unbounded.validate().is_err());
        assert!(
            Filter::and([Filter::eq("a.b", true), Filter::is_in("c", [1, 2])])
                .validate()
                .is_ok()
        );
        let mut deep = Filter::All;
        for _ in 0..20 {
            deep = Filter::And(vec![deep]);
        }
        assert!(deep.validate().is_err());
        assert!(Filter::is_in("a", 0..1001).validate().is_err());
        assert!(Filter::is_in("a", 0..1000).validate().is_ok());
    }
}
