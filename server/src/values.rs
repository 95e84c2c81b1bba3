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

/// Whether `c` is an invisible formatting character (Unicode category Cf): bidirectional
/// embeddings, overrides, isolates and marks (U+202E makes `exe.txt` read `txt.exe`),
/// zero-width spaces and joiners, the byte order mark, soft hyphens, interlinear annotation
/// and tag characters. In an id they make two different values look the same.
pub fn invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{061C}' | '\u{180E}'
        | '\u{0600}'..='\u{0605}' | '\u{06DD}' | '\u{070F}' | '\u{08E2}'
        | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{206F}'
        | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}'
        | '\u{110BD}' | '\u{110CD}' | '\u{13430}'..='\u{1343F}'
        | '\u{1BCA0}'..='\u{1BCA3}' | '\u{1D173}'..='\u{1D17A}'
        | '\u{E0001}' | '\u{E0020}'..='\u{E007F}')
}

/// Whether `c` may reorder or hide the text around it, which free text for people never needs:
/// bidirectional embeddings and overrides (U+202A to U+202E), zero-width spaces, word
/// joiners and the byte order mark. Marks, isolates and joiners that real scripts and emoji
/// use (U+200C to U+200F, U+2066 to U+2069) stay allowed.
pub fn deceptive(c: char) -> bool {
    matches!(
        c,
        '\u{202A}'..='\u{202E}' | '\u{200B}' | '\u{2060}' | '\u{FEFF}'
    )
}

/// An identifier as callers send it: 1 to [`MAX_ID_CHARS`] characters, no whitespace, no
/// control characters, no invisible formatting characters ([`invisible`]). Not trimmed: what
/// is refused is exactly what was sent.
pub fn identifier(raw: &str) -> Result<String, InvalidValue> {
    if raw.is_empty() {
        invalid("required")
    } else if raw.chars().count() > MAX_ID_CHARS {
        invalid(format!("at most {MAX_ID_CHARS} characters"))
    } else if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
        invalid("must not contain whitespace or control characters")
    } else if raw.chars().any(invisible) {
        invalid(
            "must not contain invisible formatting characters (bidi controls, zero-width characters, BOM)",
        )
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
/// line breaks and tabs, no bidi overrides, zero-width spaces or BOM; `required` also refuses
/// a blank one.
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
    } else if text.chars().any(deceptive) {
        invalid("must not contain bidi overrides, zero-width spaces or a byte order mark")
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
        for bad in [
            "kettle\u{202E}elttek",
            "ket\u{200B}tle",
            "\u{FEFF}kettle",
            "ket\u{2066}tle",
            "ket\u{00AD}tle",
            "ket\u{E0041}tle",
        ] {
            assert!(identifier(bad).is_err(), "{bad:?} accepted");
        }
        assert!(
            recorded_identifier("kettle\u{202E}").is_ok(),
            "old streams stay readable"
        );
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
        for bad in ["late\u{202E}", "zero\u{200B}width", "\u{FEFF}bom"] {
            assert!(Reason::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(Reason::parse("עברית and English \u{200F}").is_ok());
        assert!(Reason::parse("👩\u{200D}💻").is_ok());
        assert_eq!(Reason::recorded("late\u{202E}").as_str(), "late\u{202E}");
    }
}
