//! Value types every bounded context shares, and the text rules behind every context's own
//! values. A value is parsed once, at the edge, so no decision ever sees a malformed one.
//!
//! Two ways in, on purpose: `parse` applies today's rules to what a caller sends; `recorded`
//! accepts what the event store already holds, checking only the invariants the domain relies
//! on. Rules at the edge may tighten over time (shorter limits, more refused characters), and a
//! stream written under older rules must stay readable.

use std::fmt;

/// Longest id, sku or reservation id: it becomes part of a stream name and of URLs.
pub const MAX_ID_CHARS: usize = 128;
/// Longest reason (reject, cancel, disable): a sentence or two for a person.
pub const MAX_REASON_CHARS: usize = 500;
/// Most units one order line or one stock movement may name: far beyond any real order, far
/// below the counters' limits, so totals and stock levels never come near overflowing.
pub const MAX_QUANTITY: u64 = 1_000_000_000;

/// Why a raw value was refused; the text is for the caller and never repeats a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidValue(pub String);

/// A refusal with `reason`.
pub fn invalid<T>(reason: impl Into<String>) -> Result<T, InvalidValue> {
    Err(InvalidValue(reason.into()))
}

/// `as_str` and `Display` for a newtype over `String`.
macro_rules! text_value {
    ($type:ty) => {
        impl $type {
            /// The value as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl std::fmt::Display for $type {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}
pub(crate) use text_value;

/// An identifier as callers send it: 1 to [`MAX_ID_CHARS`] characters, no whitespace, no
/// control characters. Not trimmed: what is refused is exactly what was sent.
pub fn identifier(raw: &str) -> Result<String, InvalidValue> {
    if raw.is_empty() {
        invalid("required")
    } else if raw.chars().count() > MAX_ID_CHARS {
        invalid(format!("at most {MAX_ID_CHARS} characters"))
    } else if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
        invalid("must not contain whitespace or control characters")
    } else {
        Ok(raw.to_owned())
    }
}

/// An identifier as the store holds it: anything non-empty.
pub fn recorded_identifier(raw: &str) -> Result<String, InvalidValue> {
    if raw.is_empty() {
        invalid("is empty")
    } else {
        Ok(raw.to_owned())
    }
}

/// Free text for people: trimmed, at most `max` characters, no control characters except
/// line breaks and tabs; `required` also refuses a blank one.
pub fn text(raw: &str, max: usize, required: bool) -> Result<String, InvalidValue> {
    let text = raw.trim();
    if required && text.is_empty() {
        invalid("required")
    } else if text.chars().count() > max {
        invalid(format!("at most {max} characters"))
    } else if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        invalid("must not contain control characters other than line breaks and tabs")
    } else {
        Ok(text.to_owned())
    }
}

/// A stock keeping unit: names one product in inventory and on order lines.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Sku(String);
text_value!(Sku);

impl Sku {
    /// Parses a sku as callers send it.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        identifier(raw).map(Self)
    }

    /// A sku as the store holds it.
    pub fn recorded(raw: &str) -> Result<Self, InvalidValue> {
        recorded_identifier(raw).map(Self)
    }
}

/// A number of units moved or ordered: at least 1, at most [`MAX_QUANTITY`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quantity(u64);

impl Quantity {
    /// Parses a quantity as callers send it.
    pub fn parse(raw: u64) -> Result<Self, InvalidValue> {
        match raw {
            0 => invalid("must be greater than 0"),
            n if n > MAX_QUANTITY => invalid(format!("at most {MAX_QUANTITY}")),
            n => Ok(Self(n)),
        }
    }

    /// A quantity as the store holds it: only "more than zero" is an invariant.
    pub fn recorded(raw: u64) -> Result<Self, InvalidValue> {
        match raw {
            0 => invalid("is 0"),
            n => Ok(Self(n)),
        }
    }

    /// The number of units.
    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Why something was done (rejected, cancelled, disabled), for people and auditors: trimmed,
/// at most [`MAX_REASON_CHARS`] characters, may be empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Reason(String);
text_value!(Reason);

impl Reason {
    /// Parses a reason as callers send it.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        text(raw, MAX_REASON_CHARS, false).map(Self)
    }

    /// A reason as the store holds it: any text.
    pub fn recorded(raw: &str) -> Self {
        Self(raw.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_bounded_tokens() {
        assert_eq!(identifier("kettle-1").unwrap(), "kettle-1");
        assert!(identifier(&"é".repeat(MAX_ID_CHARS)).is_ok());
        for bad in ["", " kettle", "ket tle", "ket\u{0}tle", &"x".repeat(129)] {
            assert!(identifier(bad).is_err(), "{bad:?} accepted");
        }
        assert!(recorded_identifier("has space").is_ok());
        assert!(recorded_identifier("").is_err());
    }

    #[test]
    fn quantities_are_positive_and_capped_for_callers_only() {
        assert_eq!(Quantity::parse(1).unwrap().get(), 1);
        assert_eq!(Quantity::parse(MAX_QUANTITY).unwrap().get(), MAX_QUANTITY);
        assert!(Quantity::parse(0).is_err());
        assert!(Quantity::parse(u64::from(u32::MAX)).is_err());
        assert_eq!(Quantity::recorded(u64::MAX).unwrap().get(), u64::MAX);
        assert!(Quantity::recorded(0).is_err());
    }

    #[test]
    fn reasons_are_trimmed_bounded_text() {
        assert_eq!(Reason::parse("").unwrap(), Reason::default());
        assert_eq!(Reason::parse("  late  ").unwrap().as_str(), "late");
        assert!(Reason::parse("left\nthe company").is_ok());
        assert!(Reason::parse(&"x".repeat(MAX_REASON_CHARS + 1)).is_err());
        assert!(Reason::parse("bell\u{7}").is_err());
        assert!(text(" ", 10, true).is_err());
    }
}
