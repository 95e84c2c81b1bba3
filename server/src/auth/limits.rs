//! Calls per principal, so that one caller cannot starve the others: a token bucket per caller,
//! sized by the caller's class, answered with `RESOURCE_EXHAUSTED` and `google.rpc.RetryInfo`
//! when empty (the gateway turns that into 429 with `Retry-After`).
//!
//! Layout:
//! - here: the classes, [`Rate`] and the flags ([`RateLimits`]).
//! - `in_flight`: [`InFlightLimit`], calls one caller may have open at once, and their count.
//! - `throttle`: [`RateLimitLayer`], the tower layer, its buckets and its metric.
//!
//! Who shares a bucket: a verified caller has its own (by token subject, or by the name of a
//! client certificate the operator gave roles); anonymous calls (public RPCs such as Login)
//! share one per client certificate name when the connection has one, else per client address.
//! Behind the gateway, every anonymous REST call comes from the gateway's address, so its
//! bucket is the gateway's total. Health checks are never limited (a throttled probe would
//! restart a healthy pod), and nothing is limited with `--auth disabled`, where nobody is known.
//!
//! The buckets are governor's GCRA: a token bucket kept as one timestamp per key, updated with
//! one compare-and-swap, with no refill timer, in a concurrent map; and its answer says how long
//! to wait, which is what `RetryInfo` needs.

mod in_flight;
mod throttle;

use std::{fmt, num::NonZeroU32, str::FromStr};

use clap::Args;
use governor::Quota;

pub use in_flight::InFlightLimit;
pub use throttle::{RateLimitLayer, Throttle};

use super::{Caller, certificates::CERTIFICATE_ISSUER};

/// Who a caller is, for its bucket size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    /// No credentials: public RPCs only.
    Anonymous,
    /// A token whose only role is `customer` (or that has none).
    Customer,
    /// A token with any other role (staff, administrators).
    Staff,
    /// A client certificate the operator gave roles: a service calling on its own behalf.
    Service,
}

impl Class {
    /// Every class, in the order of [`RateLimits`]'s flags.
    pub const ALL: [Self; 4] = [Self::Anonymous, Self::Customer, Self::Staff, Self::Service];

    /// The class of `caller`, or `None` for callers nobody checks (`--auth disabled`).
    pub fn of(caller: &Caller) -> Option<Self> {
        match caller {
            Caller::Unchecked => None,
            Caller::Anonymous => Some(Self::Anonymous),
            Caller::Verified(principal) if principal.issuer == CERTIFICATE_ISSUER => {
                Some(Self::Service)
            }
            Caller::Verified(principal) if principal.roles.iter().all(|r| r == "customer") => {
                Some(Self::Customer)
            }
            Caller::Verified(_) => Some(Self::Staff),
        }
    }

    /// The name in metrics and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Anonymous => "anonymous",
            Self::Customer => "customer",
            Self::Staff => "staff",
            Self::Service => "service",
        }
    }
}

/// How often a time unit of a [`Rate`] comes round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Per {
    Second,
    Minute,
    Hour,
}

/// Calls per second, minute or hour (`20/s`, `600/m`, `1000/h`), in bursts of up to that many;
/// or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate(Option<(NonZeroU32, Per)>);

impl Rate {
    /// No limit.
    pub const OFF: Self = Self(None);

    /// `count` calls per second (`off` for 0).
    pub const fn per_second(count: u32) -> Self {
        match NonZeroU32::new(count) {
            Some(count) => Self(Some((count, Per::Second))),
            None => Self::OFF,
        }
    }

    /// The bucket for this rate, or `None` when off.
    pub fn quota(self) -> Option<Quota> {
        self.0.map(|(count, per)| match per {
            Per::Second => Quota::per_second(count),
            Per::Minute => Quota::per_minute(count),
            Per::Hour => Quota::per_hour(count),
        })
    }
}

impl FromStr for Rate {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        if text == "off" {
            return Ok(Self::OFF);
        }
        let wrong =
            || format!("{text:?} is neither calls per unit (20/s, 600/m, 1000/h) nor `off`");
        let (count, unit) = text.split_once('/').ok_or_else(wrong)?;
        let count: u32 = count.trim().parse().map_err(|_| wrong())?;
        let count = NonZeroU32::new(count).ok_or("a rate must be at least 1 per unit, or `off`")?;
        let per = match unit.trim() {
            "s" => Per::Second,
            "m" => Per::Minute,
            "h" => Per::Hour,
            _ => return Err(wrong()),
        };
        Ok(Self(Some((count, per))))
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            None => f.write_str("off"),
            Some((count, per)) => {
                let unit = match per {
                    Per::Second => "s",
                    Per::Minute => "m",
                    Per::Hour => "h",
                };
                write!(f, "{count}/{unit}")
            }
        }
    }
}

/// Calls per caller, by class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Args)]
pub struct RateLimits {
    /// Calls without credentials (public RPCs such as Login), per client address (or client
    /// certificate name).
    #[arg(long, env = "CAUSEWAY_RATE_LIMIT_ANONYMOUS", default_value = "20/s")]
    pub rate_limit_anonymous: Rate,

    /// Calls per token subject whose only role is `customer`.
    #[arg(long, env = "CAUSEWAY_RATE_LIMIT_CUSTOMER", default_value = "50/s")]
    pub rate_limit_customer: Rate,

    /// Calls per token subject with any other role (staff, administrators).
    #[arg(long, env = "CAUSEWAY_RATE_LIMIT_STAFF", default_value = "200/s")]
    pub rate_limit_staff: Rate,

    /// Calls per client certificate name given roles with `--tls-client-role` (services).
    #[arg(long, env = "CAUSEWAY_RATE_LIMIT_SERVICE", default_value = "1000/s")]
    pub rate_limit_service: Rate,

    /// Calls one caller (keyed as for the rates) may have open at once, or `off`; more are
    /// refused at once with `RESOURCE_EXHAUSTED`.
    #[arg(long, env = "CAUSEWAY_MAX_IN_FLIGHT_PER_CALLER", default_value = "32")]
    pub max_in_flight_per_caller: InFlightLimit,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            rate_limit_anonymous: Rate::per_second(20),
            rate_limit_customer: Rate::per_second(50),
            rate_limit_staff: Rate::per_second(200),
            rate_limit_service: Rate::per_second(1000),
            max_in_flight_per_caller: InFlightLimit(std::num::NonZeroUsize::new(32)),
        }
    }
}

impl RateLimits {
    /// No limits at all.
    pub const OFF: Self = Self {
        rate_limit_anonymous: Rate::OFF,
        rate_limit_customer: Rate::OFF,
        rate_limit_staff: Rate::OFF,
        rate_limit_service: Rate::OFF,
        max_in_flight_per_caller: InFlightLimit::OFF,
    };

    /// The rate of `class`.
    pub fn of(&self, class: Class) -> Rate {
        match class {
            Class::Anonymous => self.rate_limit_anonymous,
            Class::Customer => self.rate_limit_customer,
            Class::Staff => self.rate_limit_staff,
            Class::Service => self.rate_limit_service,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::auth::Principal;

    #[test]
    fn rates_parse_and_print_back() {
        for text in ["20/s", "600/m", "1000/h", "off"] {
            assert_eq!(text.parse::<Rate>().unwrap().to_string(), text);
        }
        let quota = "600/m".parse::<Rate>().unwrap().quota().unwrap();
        assert_eq!(quota.burst_size().get(), 600);
        assert_eq!(
            quota.replenish_interval(),
            std::time::Duration::from_millis(100)
        );
        for bad in ["0/s", "20", "20/d", "x/s", "-1/s", ""] {
            assert!(bad.parse::<Rate>().is_err(), "{bad}");
        }
        // The flags' defaults are the embedders' defaults.
        #[derive(clap::Parser)]
        struct Flags {
            #[command(flatten)]
            limits: RateLimits,
        }
        let parsed = <Flags as clap::Parser>::try_parse_from(["causeway-server"]).unwrap();
        assert_eq!(parsed.limits, RateLimits::default());
    }

    #[test]
    fn classes_follow_how_and_as_what_a_caller_is_known() {
        let verified = |issuer: &str, roles: &[&str]| {
            Caller::Verified(Principal {
                subject: "s".into(),
                roles: roles
                    .iter()
                    .map(|r| (*r).to_owned())
                    .collect::<BTreeSet<_>>(),
                tenant: None,
                issuer: issuer.into(),
            })
        };
        assert_eq!(Class::of(&Caller::Unchecked), None);
        assert_eq!(Class::of(&Caller::Anonymous), Some(Class::Anonymous));
        assert_eq!(
            Class::of(&verified("causeway", &["customer"])),
            Some(Class::Customer)
        );
        assert_eq!(Class::of(&verified("causeway", &[])), Some(Class::Customer));
        assert_eq!(
            Class::of(&verified("causeway", &["customer", "orders.staff"])),
            Some(Class::Staff)
        );
        assert_eq!(
            Class::of(&verified(CERTIFICATE_ISSUER, &["customer"])),
            Some(Class::Service)
        );
    }
}
