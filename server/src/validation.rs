//! Request validation shared by every handler. Violations are collected field by field so a
//! caller learns about all of them in one round trip, each named by its proto field path.

use std::fmt::Display;

use crate::kernel::{CommandContext, CommandError, FieldViolation};

/// Longest id or sku: it becomes part of a stream name and of URLs.
pub const MAX_ID_CHARS: usize = 128;

/// The violations of one request.
#[derive(Debug, Default)]
pub struct Violations(Vec<FieldViolation>);

impl Violations {
    /// Records that `field` is wrong and why.
    pub fn add(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.0.push(FieldViolation::new(field, description));
    }

    /// A required id: 1 to [`MAX_ID_CHARS`] characters, no whitespace or control characters.
    pub fn id(&mut self, field: impl Into<String>, value: &str) {
        if value.is_empty() {
            self.add(field, "required");
        } else if value.chars().count() > MAX_ID_CHARS {
            self.add(field, format!("at most {MAX_ID_CHARS} characters"));
        } else if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            self.add(field, "must not contain whitespace or control characters");
        }
    }

    /// A free text of at most `max` characters without control characters; `required` also
    /// refuses a blank one.
    pub fn text(&mut self, field: &str, value: &str, max: usize, required: bool) {
        if required && value.trim().is_empty() {
            self.add(field, "required");
        } else if value.chars().count() > max {
            self.add(field, format!("at most {max} characters"));
        } else if value.chars().any(char::is_control) {
            self.add(field, "must not contain control characters");
        }
    }

    /// A count that must be at least 1.
    pub fn positive(&mut self, field: &str, value: u64) {
        if value == 0 {
            self.add(field, "must be greater than 0");
        }
    }

    /// The parsed value of `field`, or `None` with its violation recorded.
    pub fn check<T, E: Display>(&mut self, field: &str, parsed: Result<T, E>) -> Option<T> {
        parsed.map_err(|e| self.add(field, e.to_string())).ok()
    }

    /// Whether nothing was wrong.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `value` when nothing was wrong, else every violation.
    pub fn into_result<T>(self, value: T) -> Result<T, CommandError> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(CommandError::Invalid(self.0))
        }
    }

    /// The collected violations as an error.
    pub fn into_error(self) -> CommandError {
        CommandError::Invalid(self.0)
    }

    /// The collected violations.
    pub fn into_vec(self) -> Vec<FieldViolation> {
        self.0
    }
}

/// The command context and the command, with the violations of both reported together.
pub fn validated<C>(
    ctx: Result<CommandContext, CommandError>,
    command: Result<C, CommandError>,
) -> Result<(CommandContext, C), CommandError> {
    match (ctx, command) {
        (Ok(ctx), Ok(command)) => Ok((ctx, command)),
        (Err(CommandError::Invalid(mut first)), Err(CommandError::Invalid(more))) => {
            first.extend(more);
            Err(CommandError::Invalid(first))
        }
        (Err(e), _) | (_, Err(e)) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_violation_is_kept_with_its_field() {
        let mut v = Violations::default();
        v.id("order_id", "");
        v.id("sku", &"x".repeat(MAX_ID_CHARS + 1));
        v.id("customer_id", "has space");
        v.text("reason", "tab\there", 500, false);
        v.positive("quantity", 0);
        let fields: Vec<String> = v.into_vec().into_iter().map(|f| f.field).collect();
        assert_eq!(
            fields,
            ["order_id", "sku", "customer_id", "reason", "quantity"]
        );
    }

    #[test]
    fn context_and_command_violations_are_reported_together() {
        let ctx = Err(CommandError::invalid("options", "required"));
        let cmd: Result<(), _> = Err(CommandError::invalid("sku", "required"));
        match validated(ctx, cmd) {
            Err(CommandError::Invalid(v)) => assert_eq!(v.len(), 2),
            other => panic!("{other:?}"),
        }
    }
}
