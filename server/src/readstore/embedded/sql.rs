//! Translation of the filter AST, sort keys and cursors to SQL over `json_extract`, and of index
//! specs to expression indexes.
//!
//! Every value is a bound parameter. Field paths and collection names do appear in the SQL text,
//! because SQLite only uses an expression index when the query repeats the indexed expression
//! literally (and partial-index predicates cannot take parameters); both are validated first
//! (`[A-Za-z0-9_.]` and `[A-Za-z0-9_-]`), so they can neither close a quote nor inject SQL.
//!
//! `json_extract` maps JSON numbers to INTEGER/REAL, strings to TEXT and booleans to 1/0; each
//! condition therefore also checks `json_type`, so that a number never matches a boolean and a
//! string never matches the JSON text of an object.

use rusqlite::types::Value as Sql;
use serde_json::Value;

use crate::readstore::{
    IndexSpec, ReadStoreError,
    filter::{Cursor, Filter, Query, SortDirection, SortKey, ValueKind, validate_collection},
};

/// Most fields in one index.
const MAX_INDEX_FIELDS: usize = 8;

/// A statement and its parameters, in order of the `?` placeholders.
pub(super) struct Statement {
    pub(super) sql: String,
    pub(super) params: Vec<Sql>,
}

/// The indexed expression for `path` (already validated); queries must spell it identically.
fn extract(path: &str) -> String {
    format!("json_extract(body, '$.{path}')")
}

fn kind_check(path: &str, kind: ValueKind) -> String {
    let types = match kind {
        ValueKind::Bool => "IN ('true', 'false')",
        ValueKind::Number => "IN ('integer', 'real')",
        ValueKind::String => "= 'text'",
    };
    format!("json_type(body, '$.{path}') {types}")
}

/// The SQL value a JSON scalar is compared as (booleans are 1/0, as `json_extract` gives them).
fn bind(value: &Value) -> Result<Sql, ReadStoreError> {
    match value {
        Value::Null => Ok(Sql::Null),
        Value::Bool(b) => Ok(Sql::Integer(i64::from(*b))),
        Value::String(s) => Ok(Sql::Text(s.clone())),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => Ok(Sql::Integer(i)),
            (None, Some(f)) => Ok(Sql::Real(f)),
            (None, None) => Err(ReadStoreError::Invalid("unsupported number".to_owned())),
        },
        Value::Array(_) | Value::Object(_) => Err(ReadStoreError::Invalid(
            "page token holds a non-scalar sort value".to_owned(),
        )),
    }
}

/// The JSON form of a sort value read back from SQLite, for the next page's cursor.
pub(super) fn sort_value(value: Sql) -> Result<Value, ReadStoreError> {
    match value {
        Sql::Null => Ok(Value::Null),
        Sql::Integer(i) => Ok(Value::from(i)),
        Sql::Real(f) => serde_json::Number::from_f64(f)
            .map(Value::Number)
            .ok_or_else(|| ReadStoreError::Unavailable("non-finite sort value".to_owned())),
        Sql::Text(s) => Ok(Value::String(s)),
        Sql::Blob(_) => Err(ReadStoreError::Unavailable("binary sort value".to_owned())),
    }
}

/// The page query: `id`, `body`, then one column per sort key, `fetch` rows at most.
pub(super) fn page(
    query: &Query,
    cursor: Option<&Cursor>,
    fetch: usize,
) -> Result<Statement, ReadStoreError> {
    query.validate()?;
    let mut params = vec![Sql::Text(query.collection.clone())];
    let mut sql = String::from("SELECT id, body");
    for key in &query.sort {
        sql.push_str(&format!(", {}", extract(&key.field)));
    }
    sql.push_str(" FROM documents WHERE collection = ? AND ");
    sql.push_str(&filter(&query.filter, &mut params)?);
    if let Some(cursor) = cursor {
        sql.push_str(" AND ");
        sql.push_str(&keyset(&query.sort, cursor, &mut params)?);
    }
    sql.push_str(" ORDER BY ");
    for key in &query.sort {
        let direction = match key.direction {
            SortDirection::Ascending => "ASC",
            SortDirection::Descending => "DESC",
        };
        sql.push_str(&format!("{} {direction}, ", extract(&key.field)));
    }
    sql.push_str("id ASC LIMIT ?");
    params.push(Sql::Integer(i64::try_from(fetch).unwrap_or(i64::MAX)));
    Ok(Statement { sql, params })
}

fn filter(filter: &Filter, params: &mut Vec<Sql>) -> Result<String, ReadStoreError> {
    match filter {
        Filter::All => Ok("1".to_owned()),
        Filter::Eq(field, value) => one_of(field, std::slice::from_ref(value), params),
        Filter::In(field, values) => one_of(field, values, params),
        Filter::Range {
            field,
            lower,
            upper,
        } => {
            let mut terms = Vec::new();
            for (bound, strict, loose) in [(lower, ">", ">="), (upper, "<", "<=")] {
                if let Some((value, inclusive)) = bound {
                    if terms.is_empty() {
                        terms.push(kind_check(field, ValueKind::of(value)?));
                    }
                    let op = if *inclusive { loose } else { strict };
                    terms.push(format!("{} {op} ?", extract(field)));
                    params.push(bind(value)?);
                }
            }
            Ok(format!("({})", terms.join(" AND ")))
        }
        Filter::And(filters) if filters.is_empty() => Ok("1".to_owned()),
        Filter::And(filters) => {
            let terms = filters
                .iter()
                .map(|f| self::filter(f, params))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(format!("({})", terms.join(" AND ")))
        }
    }
}

/// `field` equals one of `values`: one `IN` list per kind of value, each with its type check.
fn one_of(field: &str, values: &[Value], params: &mut Vec<Sql>) -> Result<String, ReadStoreError> {
    let mut groups = Vec::new();
    for kind in [ValueKind::String, ValueKind::Number, ValueKind::Bool] {
        let mut placeholders = Vec::new();
        for value in values {
            if ValueKind::of(value)? == kind {
                placeholders.push("?");
                params.push(bind(value)?);
            }
        }
        if !placeholders.is_empty() {
            groups.push(format!(
                "({} IN ({}) AND {})",
                extract(field),
                placeholders.join(", "),
                kind_check(field, kind)
            ));
        }
    }
    if groups.is_empty() {
        return Ok("0".to_owned());
    }
    Ok(format!("({})", groups.join(" OR ")))
}

/// Rows strictly after `cursor` in the order `sort, id`: for some key, all earlier keys equal
/// and this one beyond. NULL (a missing field) sorts first ascending and last descending, as in
/// `ORDER BY`, so it gets its own comparisons.
fn keyset(
    sort: &[SortKey],
    cursor: &Cursor,
    params: &mut Vec<Sql>,
) -> Result<String, ReadStoreError> {
    let mut alternatives = Vec::new();
    // Implied by the alternatives below, but unlike them usable by an index to seek.
    let mut seek = String::new();
    if let (Some(key), Some(value)) = (sort.first(), cursor.values.first()) {
        match (key.direction, bind(value)?) {
            (SortDirection::Ascending, Sql::Null) | (SortDirection::Descending, _) => {}
            (SortDirection::Ascending, value) => {
                seek = format!("{} >= ? AND ", extract(&key.field));
                params.push(value);
            }
        }
    }
    for split in 0..=sort.len() {
        let mut terms = Vec::new();
        for (key, value) in sort.iter().zip(&cursor.values).take(split) {
            let column = extract(&key.field);
            match bind(value)? {
                Sql::Null => terms.push(format!("{column} IS NULL")),
                value => {
                    terms.push(format!("{column} = ?"));
                    params.push(value);
                }
            }
        }
        match (sort.get(split), cursor.values.get(split)) {
            (Some(key), Some(value)) => {
                let column = extract(&key.field);
                let term = match (key.direction, bind(value)?) {
                    (SortDirection::Ascending, Sql::Null) => format!("{column} IS NOT NULL"),
                    (SortDirection::Descending, Sql::Null) => "0".to_owned(),
                    (SortDirection::Ascending, value) => {
                        params.push(value);
                        format!("{column} > ?")
                    }
                    (SortDirection::Descending, value) => {
                        params.push(value);
                        format!("({column} < ? OR {column} IS NULL)")
                    }
                };
                terms.push(term);
            }
            _ => {
                terms.push("id > ?".to_owned());
                params.push(Sql::Text(cursor.id.clone()));
            }
        }
        alternatives.push(format!("({})", terms.join(" AND ")));
    }
    Ok(format!("({seek}({}))", alternatives.join(" OR ")))
}

/// The deterministic name of `spec`'s index: `rs_<collection>_<16 hex digits>`, the digits a
/// digest of the whole spec, so a changed spec gets a new index instead of silently keeping
/// the old one.
pub(super) fn index_name(spec: &IndexSpec) -> String {
    let mut text = format!("{}\u{0}{}", spec.collection, spec.unique);
    for field in &spec.fields {
        text.push('\u{0}');
        text.push_str(field);
    }
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    format!("rs_{}_{hash:016x}", spec.collection)
}

/// Whether `name` is an index [`index_name`] made for `collection` (and not for a collection
/// whose name merely starts the same).
pub(super) fn is_index_of(name: &str, collection: &str) -> bool {
    name.strip_prefix("rs_")
        .and_then(|rest| rest.strip_prefix(collection))
        .and_then(|rest| rest.strip_prefix('_'))
        .is_some_and(|hash| hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `CREATE INDEX` for `spec`: partial on the collection, `collection` then one expression per
/// field; non-unique indexes end with `id` so that `ORDER BY field, id` reads the index in order.
pub(super) fn create_index(spec: &IndexSpec) -> Result<String, ReadStoreError> {
    validate_collection(&spec.collection)?;
    if spec.fields.is_empty() || spec.fields.len() > MAX_INDEX_FIELDS {
        return Err(ReadStoreError::Invalid(format!(
            "an index needs 1 to {MAX_INDEX_FIELDS} fields"
        )));
    }
    // The constant `collection` column leads although the index is partial: without it SQLite
    // does not see that the index already delivers `ORDER BY field, id`.
    let mut columns = vec!["collection".to_owned()];
    for field in &spec.fields {
        crate::readstore::filter::validate_field_path(field)?;
        columns.push(extract(field));
    }
    if !spec.unique {
        columns.push("id".to_owned());
    }
    Ok(format!(
        "CREATE {}INDEX IF NOT EXISTS \"{}\" ON documents ({}) WHERE collection = '{}'",
        if spec.unique { "UNIQUE " } else { "" },
        index_name(spec),
        columns.join(", "),
        spec.collection
    ))
}
