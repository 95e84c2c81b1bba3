//! Validated value types of the orders domain, parsed once at the edge (`parse`, today's rules
//! for callers) or from the store (`recorded`, the invariants only); see [`crate::values`].

use crate::kernel::ids::derived_id;
pub use crate::values::{InvalidValue, Quantity, Reason, Sku};
use crate::values::{identifier, invalid, recorded_identifier, text_value};

/// Most lines one order may have; larger orders are a bulk import, not a checkout.
pub const MAX_LINES: usize = 100;

/// An order's id: the part of its stream name after `order-`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OrderId(String);
text_value!(OrderId);

impl OrderId {
    /// Parses an order id as callers send it.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        identifier(raw).map(Self)
    }

    /// An order id as the store holds it.
    pub fn recorded(raw: &str) -> Result<Self, InvalidValue> {
        recorded_identifier(raw).map(Self)
    }

    /// The id of the order a placement without an id creates: derived from the command id, so
    /// a retry of the same command names the same order.
    pub fn for_command(command_id: &str) -> Self {
        Self(derived_id(command_id, "order"))
    }
}

/// Who placed an order.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CustomerId(String);
text_value!(CustomerId);

impl CustomerId {
    /// Parses a customer id as callers send it.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        identifier(raw).map(Self)
    }

    /// A customer id as the store holds it.
    pub fn recorded(raw: &str) -> Self {
        Self(raw.to_owned())
    }
}

/// The ISO 4217 code every price of an order is in.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Currency(String);
text_value!(Currency);

impl Currency {
    /// Parses a currency code: three uppercase letters.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        if raw.len() == 3 && raw.bytes().all(|b| b.is_ascii_uppercase()) {
            Ok(Self(raw.to_owned()))
        } else {
            invalid("must be an ISO 4217 code: three uppercase letters, e.g. EUR")
        }
    }

    /// A currency as the store holds it.
    pub fn recorded(raw: &str) -> Self {
        Self(raw.to_owned())
    }
}

/// An amount in the currency's minor unit (cents), never negative, so totals never round.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money(i64);

impl Money {
    /// Parses an amount: zero (a free item) or more.
    pub fn parse(minor: i64) -> Result<Self, InvalidValue> {
        if minor < 0 {
            invalid("must not be negative")
        } else {
            Ok(Self(minor))
        }
    }

    /// The amount in minor units.
    pub fn minor(self) -> i64 {
        self.0
    }

    /// `self` times `quantity`, or `None` past 64-bit minor units.
    pub fn times(self, quantity: Quantity) -> Option<Self> {
        let quantity = i64::try_from(quantity.get()).ok()?;
        self.0.checked_mul(quantity).map(Self)
    }

    /// `self + other`, or `None` past 64-bit minor units.
    pub fn plus(self, other: Self) -> Option<Self> {
        self.0.checked_add(other.0).map(Self)
    }
}

/// One product on an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderLine {
    /// The product ordered.
    pub sku: Sku,
    /// Units ordered.
    pub quantity: Quantity,
    /// Price of one unit.
    pub unit_price: Money,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn currencies_are_three_uppercase_letters() {
        assert_eq!(Currency::parse("EUR").unwrap().as_str(), "EUR");
        for bad in ["", "eur", "EURO", "E1R", "€€€"] {
            assert!(Currency::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn money_is_never_negative_and_never_overflows_silently() {
        assert!(Money::parse(-1).is_err());
        let price = Money::parse(i64::MAX / 2 + 1).unwrap();
        assert_eq!(price.times(Quantity::parse(2).unwrap()), None);
        assert_eq!(price.plus(price), None);
        let cents = Money::parse(250).unwrap();
        assert_eq!(
            cents.times(Quantity::parse(3).unwrap()).unwrap().minor(),
            750
        );
    }

    #[test]
    fn derived_order_ids_follow_the_command_id() {
        assert_eq!(OrderId::for_command("c-1"), OrderId::for_command("c-1"));
        assert_ne!(OrderId::for_command("c-1"), OrderId::for_command("c-2"));
        assert!(OrderId::parse(OrderId::for_command("c-1").as_str()).is_ok());
    }
}
