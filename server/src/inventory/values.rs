//! Validated value types of the inventory domain, parsed once at the edge (`parse`, today's
//! rules for callers) or from the store (`recorded`, the invariants only); see
//! [`crate::values`].

pub use crate::values::{InvalidValue, Quantity, Sku};
use crate::values::{identifier, recorded_identifier, text, text_value};

/// Longest product name; enough for any catalogue title.
pub const MAX_NAME_CHARS: usize = 200;

/// How a product is shown to people.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProductName(String);
text_value!(ProductName);

impl ProductName {
    /// Parses a name as callers send it: trimmed, 1 to [`MAX_NAME_CHARS`] characters.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        text(raw, MAX_NAME_CHARS, true).map(Self)
    }

    /// A name as the store holds it.
    pub fn recorded(raw: &str) -> Self {
        Self(raw.to_owned())
    }
}

/// Names one reservation of a product, forever: an id is never reused.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReservationId(String);
text_value!(ReservationId);

impl ReservationId {
    /// Parses a reservation id as callers send it.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        identifier(raw).map(Self)
    }

    /// A reservation id as the store holds it.
    pub fn recorded(raw: &str) -> Result<Self, InvalidValue> {
        recorded_identifier(raw).map(Self)
    }
}
