//! Value types of fulfilment: moments in time (deadlines), the reservation each order line gets,
//! and the steps fulfilment takes, each with the stable name its command ids derive from.

use std::{
    fmt,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

pub use crate::inventory::values::ReservationId;
pub use crate::orders::values::OrderId;
pub use crate::values::{InvalidValue, Quantity, Reason, Sku};
use crate::{
    kernel::ids::natural_key,
    values::{MAX_ID_CHARS, invalid},
};

/// A moment, in milliseconds since the Unix epoch (UTC): when an order must be settled by, or
/// "now" as the caller of a decision saw it. Decisions never read the clock themselves.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(u64);

impl Timestamp {
    /// The moment `millis` after the epoch.
    pub fn from_millis(millis: u64) -> Self {
        Self(millis)
    }

    /// The moment a store recorded an event (`created_micros`), moved on by `after`.
    pub fn recorded_at(created_micros: i64, after: Duration) -> Self {
        let recorded = u64::try_from(created_micros / 1000).unwrap_or(0);
        let after = u64::try_from(after.as_millis()).unwrap_or(u64::MAX);
        Self(recorded.saturating_add(after))
    }

    /// The clock's reading now (for the callers of decisions, never for decisions).
    pub fn now() -> Self {
        let since = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Self(u64::try_from(since.as_millis()).unwrap_or(u64::MAX))
    }

    /// Milliseconds since the epoch.
    pub fn millis(self) -> u64 {
        self.0
    }

    /// How long from `self` until `later` (zero when `later` is not later).
    pub fn until(self, later: Timestamp) -> Duration {
        Duration::from_millis(later.0.saturating_sub(self.0))
    }

    /// Parses RFC 3339 as stored (`2026-01-01T00:00:30.000Z`).
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let at = humantime::parse_rfc3339(raw)
            .or_else(|_| invalid(format!("{raw:?} is not an RFC 3339 time")))?;
        let since = at
            .duration_since(UNIX_EPOCH)
            .or_else(|_| invalid("before 1970"))?;
        Ok(Self(u64::try_from(since.as_millis()).unwrap_or(u64::MAX)))
    }
}

/// RFC 3339 in UTC with milliseconds, as stored and shown.
impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = UNIX_EPOCH + Duration::from_millis(self.0);
        write!(f, "{}", humantime::format_rfc3339_millis(at))
    }
}

/// The reservation fulfilment makes for line `line` of `order_id`: `order-<orderId>-<line>`,
/// readable in the product's stream; an order id too long for that is replaced by a digest of
/// it, so the id stays within the limit callers' reservation ids have.
pub fn reservation_for(order_id: &OrderId, line: u32) -> ReservationId {
    let readable = format!("order-{order_id}-{line}");
    let id = if readable.chars().count() <= MAX_ID_CHARS {
        readable
    } else {
        format!("order-{}-{line}", natural_key("order", order_id.as_str()))
    };
    ReservationId::recorded(&id).unwrap_or_else(|_| unreachable!("the id is never empty"))
}

/// One thing fulfilment does to another aggregate. Its [`Step::name`] and the fulfilment's
/// stream name give the command id, so sending a step again (after a crash, or a replayed
/// event) is answered as a repeat and never acts twice.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Step {
    /// Reserve the units of this line.
    Reserve(u32),
    /// Release whatever this line's reservation holds.
    Release(u32),
    /// Take this line's reserved units out of stock (the order shipped).
    Commit(u32),
    /// Confirm the order.
    Confirm,
    /// Reject the order with this reason.
    Reject(Reason),
}

impl Step {
    /// The step's stable name: `reserve/0`, `release/0`, `commit/0`, `confirm`, `reject`.
    pub fn name(&self) -> String {
        match self {
            Self::Reserve(line) => format!("reserve/{line}"),
            Self::Release(line) => format!("release/{line}"),
            Self::Commit(line) => format!("commit/{line}"),
            Self::Confirm => "confirm".to_owned(),
            Self::Reject(_) => "reject".to_owned(),
        }
    }
}

/// A step a command of the order refused: what `StepRefused` records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusedStep {
    /// The order would not be confirmed.
    Confirm,
    /// The order would not be rejected.
    Reject,
    /// This line's reservation held nothing to commit.
    Commit(u32),
}

impl RefusedStep {
    /// Parses a stored step name.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        match raw {
            "confirm" => Ok(Self::Confirm),
            "reject" => Ok(Self::Reject),
            other => other
                .strip_prefix("commit/")
                .and_then(|line| line.parse().ok())
                .map(Self::Commit)
                .map_or_else(|| invalid(format!("{other:?} is not a refusable step")), Ok),
        }
    }
}

impl fmt::Display for RefusedStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Confirm => f.write_str("confirm"),
            Self::Reject => f.write_str("reject"),
            Self::Commit(line) => write!(f, "commit/{line}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip_through_rfc_3339() {
        let at = Timestamp::from_millis(1_767_225_630_123);
        assert_eq!(at.to_string(), "2026-01-01T00:00:30.123Z");
        assert_eq!(Timestamp::parse(&at.to_string()), Ok(at));
        assert!(Timestamp::parse("yesterday").is_err());
        let placed = Timestamp::recorded_at(1_767_225_600_000_000, Duration::from_secs(30));
        assert_eq!(placed.to_string(), "2026-01-01T00:00:30.000Z");
        assert_eq!(placed.until(at), Duration::from_millis(123));
        assert_eq!(at.until(placed), Duration::ZERO);
    }

    #[test]
    fn reservation_ids_are_readable_and_stay_within_the_id_limit() {
        let order = OrderId::parse("o-1").unwrap();
        assert_eq!(reservation_for(&order, 2).as_str(), "order-o-1-2");
        let long = OrderId::parse(&"x".repeat(MAX_ID_CHARS)).unwrap();
        let id = reservation_for(&long, 99);
        assert!(id.as_str().chars().count() <= MAX_ID_CHARS, "{id}");
        assert!(ReservationId::parse(id.as_str()).is_ok());
        assert_ne!(id, reservation_for(&long, 98));
    }

    #[test]
    fn step_names_are_stable_and_refused_steps_parse_back() {
        assert_eq!(Step::Reserve(3).name(), "reserve/3");
        assert_eq!(Step::Reject(Reason::default()).name(), "reject");
        for step in [
            RefusedStep::Confirm,
            RefusedStep::Reject,
            RefusedStep::Commit(4),
        ] {
            assert_eq!(RefusedStep::parse(&step.to_string()), Ok(step));
        }
        assert!(RefusedStep::parse("reserve/1").is_err());
        assert!(RefusedStep::parse("commit/x").is_err());
    }
}
