//! The one validation idiom of every handler, for commands and queries alike: each field is
//! parsed into its value type, every violation is collected under the field's proto3 JSON path
//! (`lines[0].unitPriceMinor`), and a caller learns about all of them in one round trip.

use crate::kernel::{CommandError, FieldViolation};
use crate::query::QueryError;
use crate::values::InvalidValue;

/// A request that failed validation: every violated field with its reason. Nothing was read
/// or written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid request: {}", describe(.0))]
pub struct Invalid(pub Vec<FieldViolation>);

impl Invalid {
    /// A single-field failure.
    pub fn field(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self(vec![FieldViolation::new(field, description)])
    }

    /// `self` and `other` reported together, `self`'s fields first.
    pub fn and(mut self, other: Invalid) -> Self {
        self.0.extend(other.0);
        self
    }
}

/// `field: reason; field: reason`, the status message of a validation failure.
pub fn describe(violations: &[FieldViolation]) -> String {
    violations
        .iter()
        .map(|v| format!("{}: {}", v.field, v.description))
        .collect::<Vec<_>>()
        .join("; ")
}

impl From<Invalid> for CommandError {
    fn from(invalid: Invalid) -> Self {
        CommandError::Invalid(invalid.0)
    }
}

impl From<Invalid> for QueryError {
    fn from(invalid: Invalid) -> Self {
        QueryError::Invalid(invalid.0)
    }
}

/// The violations of one request, collected while its fields are parsed.
#[derive(Debug, Default)]
pub struct Violations(Vec<FieldViolation>);

impl Violations {
    /// Records that `field` is wrong and why.
    pub fn add(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.0.push(FieldViolation::new(field, description));
    }

    /// The parsed value of `field`, or `None` with its violation recorded.
    pub fn check<T>(
        &mut self,
        field: impl Into<String>,
        parsed: Result<T, InvalidValue>,
    ) -> Option<T> {
        parsed.map_err(|e| self.add(field, e.0)).ok()
    }

    /// An optional field: `None` when `raw` is empty, else its parsed value (or `None` with its
    /// violation recorded).
    pub fn optional<T>(
        &mut self,
        field: impl Into<String>,
        raw: &str,
        parse: impl FnOnce(&str) -> Result<T, InvalidValue>,
    ) -> Option<T> {
        if raw.is_empty() {
            None
        } else {
            self.check(field, parse(raw))
        }
    }

    /// The value `build` makes from the parsed fields when nothing was wrong, else every
    /// violation. `build` returns `None` only when a field failed to parse, which recorded a
    /// violation, so a clean request always builds.
    pub fn finish<T>(self, build: impl FnOnce() -> Option<T>) -> Result<T, Invalid> {
        match (self.0.is_empty(), build()) {
            (true, Some(value)) => Ok(value),
            _ => Err(Invalid(self.0)),
        }
    }
}

/// The value of a request's only field, or its violation.
pub fn single<T>(field: &str, parsed: Result<T, InvalidValue>) -> Result<T, Invalid> {
    parsed.map_err(|e| Invalid::field(field, e.0))
}

/// Both results, or every violation of both.
pub fn both<A, B>(a: Result<A, Invalid>, b: Result<B, Invalid>) -> Result<(A, B), Invalid> {
    match (a, b) {
        (Ok(a), Ok(b)) => Ok((a, b)),
        (Err(a), Err(b)) => Err(a.and(b)),
        (Err(e), _) | (_, Err(e)) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::{Quantity, Sku};

    #[test]
    fn every_violation_is_kept_with_its_field_and_reason() {
        let mut v = Violations::default();
        let sku = v.check("sku", Sku::parse(""));
        let quantity = v.check("lines[0].quantity", Quantity::parse(0));
        let optional = v.optional("orderId", "", Sku::parse);
        assert!(optional.is_none());
        let err = v.finish(|| Some((sku?, quantity?))).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid request: sku: required; lines[0].quantity: must be greater than 0"
        );
    }

    #[test]
    fn a_clean_request_builds() {
        let mut v = Violations::default();
        let sku = v.check("sku", Sku::parse("kettle"));
        assert_eq!(v.finish(|| sku).unwrap().as_str(), "kettle");
    }

    #[test]
    fn violations_of_two_parts_are_reported_together() {
        let a: Result<(), _> = Err(Invalid::field("options", "required"));
        let b: Result<(), _> = Err(Invalid::field("sku", "required"));
        assert_eq!(both(a, b).unwrap_err().0.len(), 2);
    }
}
