//! Calls in flight per caller: a rate limit bounds how often a caller may start calls, not how
//! many it keeps open. Slow calls (a read-your-writes query waiting for its position, a login
//! hashing a password) held open side by side could take every worker a rate allows; this
//! bounds them per caller, keyed as the buckets are.
//!
//! A count per key in one map behind a mutex, taken and given back once per call (a few
//! nanoseconds against a call's microseconds); a key whose last call ended is removed, so the
//! map holds only callers with calls open.

use std::{
    collections::HashMap,
    fmt,
    num::NonZeroUsize,
    str::FromStr,
    sync::{Arc, Mutex},
};

/// Calls one caller may have open at once, or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InFlightLimit(pub Option<NonZeroUsize>);

impl InFlightLimit {
    /// No limit.
    pub const OFF: Self = Self(None);
}

impl FromStr for InFlightLimit {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim() {
            "off" => Ok(Self::OFF),
            count => count
                .parse::<NonZeroUsize>()
                .map(|n| Self(Some(n)))
                .map_err(|_| format!("{count:?} is neither a count of at least 1 nor `off`")),
        }
    }
}

impl fmt::Display for InFlightLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(count) => write!(f, "{count}"),
            None => f.write_str("off"),
        }
    }
}

/// The calls open per caller.
#[derive(Debug)]
pub(super) struct InFlight {
    limit: usize,
    open: Mutex<HashMap<String, usize>>,
}

impl InFlight {
    pub(super) fn new(limit: NonZeroUsize) -> Arc<Self> {
        Arc::new(Self {
            limit: limit.get(),
            open: Mutex::default(),
        })
    }

    /// One more call for `key`, or `None` when it has `limit` open already.
    pub(super) fn enter(self: &Arc<Self>, key: String) -> Option<Open> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let count = open.entry(key.clone()).or_default();
        if *count >= self.limit {
            return None;
        }
        *count += 1;
        Some(Open {
            table: self.clone(),
            key,
        })
    }

    /// How many keys have calls open.
    #[cfg(test)]
    fn callers(&self) -> usize {
        self.open.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

/// One open call; given back when dropped (the call answered, failed or was cancelled).
#[derive(Debug)]
pub(super) struct Open {
    table: Arc<InFlight>,
    key: String,
}

impl Drop for Open {
    fn drop(&mut self) {
        let mut open = self.table.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = open.get_mut(&self.key) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_caller_may_hold_the_limit_and_gets_it_back_when_calls_end() {
        let table = InFlight::new(NonZeroUsize::new(2).unwrap());
        let first = table.enter("ada".into()).unwrap();
        let second = table.enter("ada".into()).unwrap();
        assert!(
            table.enter("ada".into()).is_none(),
            "a third call is refused"
        );
        let bob = table.enter("bob".into()).expect("bob's calls are his own");
        drop(first);
        let third = table.enter("ada".into()).expect("a slot came back");
        drop((second, third, bob));
        assert_eq!(
            table.callers(),
            0,
            "callers with nothing open are forgotten"
        );
    }

    #[test]
    fn limits_parse_and_print_back() {
        for text in ["1", "64", "off"] {
            assert_eq!(text.parse::<InFlightLimit>().unwrap().to_string(), text);
        }
        for bad in ["0", "-1", "many", ""] {
            assert!(bad.parse::<InFlightLimit>().is_err(), "{bad}");
        }
    }
}
