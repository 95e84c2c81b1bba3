//! The small query language of read models: equality, membership, ranges and conjunction over
//! dotted JSON field paths, with sort keys, a limit and cursor pagination. Each adapter
//! translates it to its backend (SQL over JSON for SQLite, a query document for MongoDB).
//!
//! Semantics every adapter implements (the conformance suite checks them):
//! - Field paths are dotted object keys (`customer.id` is key `id` of object `customer`), made
//!   of `[A-Za-z0-9_]` segments. Filtering or sorting on a field that holds an array is
//!   unspecified (MongoDB matches elements, SQLite does not): keep such fields out of queries.
//! - Filter values are scalars: strings, numbers or booleans. A condition only matches a field of
//!   the same kind, so `1` never matches `true` or `"1"`, and a missing field matches nothing.
//! - Numbers compare numerically (`2` equals `2.0`), strings by their bytes (UTF-8, so by code
//!   point), booleans with `false < true`.
//! - Sorting puts documents lacking the field first when ascending and last when descending; the
//!   id (ascending) breaks ties. A sort field should hold one kind of value per collection: how
//!   different kinds order against each other is the backend's own rule.
//! - Pagination is by cursor ([`Cursor`]), never by offset: a document that exists, unchanged in
//!   its sort fields, for the whole walk is returned exactly once, whatever else is written.

mod cursor;
mod validate;

use serde_json::Value;

pub use self::{
    cursor::Cursor,
    validate::{ValueKind, validate_collection, validate_field_path},
};

/// A condition on documents.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// Every document.
    All,
    /// `field == value`.
    Eq(String, Value),
    /// `field` equals one of the values.
    In(String, Vec<Value>),
    /// `field` within bounds; each bound is optional.
    Range {
        /// Dotted field path.
        field: String,
        /// Exclusive or inclusive lower bound: (value, inclusive).
        lower: Option<(Value, bool)>,
        /// Exclusive or inclusive upper bound: (value, inclusive).
        upper: Option<(Value, bool)>,
    },
    /// All conditions hold.
    And(Vec<Filter>),
}

impl Filter {
    /// `field == value`.
    pub fn eq(field: &str, value: impl Into<Value>) -> Self {
        Self::Eq(field.to_owned(), value.into())
    }

    /// `field < value`.
    pub fn lt(field: &str, value: impl Into<Value>) -> Self {
        Self::Range {
            field: field.to_owned(),
            lower: None,
            upper: Some((value.into(), false)),
        }
    }

    /// `field >= value`.
    pub fn gte(field: &str, value: impl Into<Value>) -> Self {
        Self::Range {
            field: field.to_owned(),
            lower: Some((value.into(), true)),
            upper: None,
        }
    }

    /// `field <= value`.
    pub fn lte(field: &str, value: impl Into<Value>) -> Self {
        Self::Range {
            field: field.to_owned(),
            lower: None,
            upper: Some((value.into(), true)),
        }
    }

    /// `field > value`.
    pub fn gt(field: &str, value: impl Into<Value>) -> Self {
        Self::Range {
            field: field.to_owned(),
            lower: Some((value.into(), false)),
            upper: None,
        }
    }

    /// `lower <= field < upper`, the half-open interval that tiles a range without overlap.
    pub fn between(field: &str, lower: impl Into<Value>, upper: impl Into<Value>) -> Self {
        Self::Range {
            field: field.to_owned(),
            lower: Some((lower.into(), true)),
            upper: Some((upper.into(), false)),
        }
    }

    /// `field` equals one of `values`; no values matches nothing.
    pub fn is_in<I, V>(field: &str, values: I) -> Self
    where
        I: IntoIterator<Item = V>,
        V: Into<Value>,
    {
        Self::In(
            field.to_owned(),
            values.into_iter().map(Into::into).collect(),
        )
    }

    /// Every one of `filters` holds; none is [`Filter::All`].
    pub fn and(filters: impl IntoIterator<Item = Filter>) -> Self {
        Self::And(filters.into_iter().collect())
    }
}

/// Order of a sort key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortDirection {
    /// Smallest first.
    Ascending,
    /// Largest first.
    Descending,
}

/// One sort key: a dotted field path and a direction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortKey {
    /// Dotted field path.
    pub field: String,
    /// Direction.
    pub direction: SortDirection,
}

impl SortKey {
    /// Smallest `field` first.
    pub fn asc(field: &str) -> Self {
        Self {
            field: field.to_owned(),
            direction: SortDirection::Ascending,
        }
    }

    /// Largest `field` first.
    pub fn desc(field: &str) -> Self {
        Self {
            field: field.to_owned(),
            direction: SortDirection::Descending,
        }
    }
}

/// A paginated query over one collection.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// Collection queried.
    pub collection: String,
    /// Which documents.
    pub filter: Filter,
    /// Order; the document id always breaks ties (ascending), so pages never overlap or skip.
    pub sort: Vec<SortKey>,
    /// Page size, at least 1.
    pub limit: usize,
    /// Cursor from the previous page's `next`. An empty string also means the first page,
    /// because that is how proto3 spells an unset `pageToken`.
    pub after: Option<String>,
}

impl Query {
    /// Largest page an adapter returns, whatever `limit` asks: one request must not be able to
    /// make the store read a whole collection into memory. Callers page on with the cursor.
    pub const MAX_LIMIT: usize = 1000;

    /// Page size used by [`Query::new`].
    pub const DEFAULT_LIMIT: usize = 50;

    /// Every document of `collection` in id order, first page; refine with the `with_*` methods.
    pub fn new(collection: &str) -> Self {
        Self {
            collection: collection.to_owned(),
            filter: Filter::All,
            sort: Vec::new(),
            limit: Self::DEFAULT_LIMIT,
            after: None,
        }
    }

    /// The same query with `filter`.
    pub fn with_filter(mut self, filter: Filter) -> Self {
        self.filter = filter;
        self
    }

    /// The same query with `key` appended to the sort keys.
    pub fn with_sort(mut self, key: SortKey) -> Self {
        self.sort.push(key);
        self
    }

    /// The same query with page size `limit`.
    pub fn with_limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    /// The same query continuing after `cursor` (a previous page's `next`).
    pub fn with_after(mut self, cursor: Option<String>) -> Self {
        self.after = cursor;
        self
    }

    /// The decoded cursor of `after` (`None` for the first page); `Invalid` when the token is
    /// malformed or was made by a different query.
    pub fn cursor(&self) -> Result<Option<Cursor>, crate::readstore::ReadStoreError> {
        match self.after.as_deref() {
            None | Some("") => Ok(None),
            Some(token) => Cursor::decode(token, self).map(Some),
        }
    }

    /// The page size adapters use: `limit` clamped to `1..=MAX_LIMIT`, so a zero limit still
    /// makes progress and a huge one stays bounded.
    pub fn effective_limit(&self) -> usize {
        self.limit.clamp(1, Self::MAX_LIMIT)
    }
}
