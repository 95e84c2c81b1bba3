//! How many subscriptions each caller holds at once. A subscription is a long-lived stream with
//! its own read-ahead and store reader, so one misbehaving consumer (a restart loop that never
//! closes its old streams) must not take the feed from everyone else. Callers are told apart
//! by issuer and subject; with authentication off there is one caller.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use super::FeedError;
use crate::auth::Caller;

/// The subscriptions held per caller, up to a limit each.
#[derive(Debug, Clone)]
pub struct Quota {
    limit: usize,
    held: Arc<Mutex<HashMap<String, usize>>>,
}

/// One subscription's place in its caller's quota, given back when dropped.
#[derive(Debug)]
pub struct Slot {
    held: Arc<Mutex<HashMap<String, usize>>>,
    key: String,
}

impl Quota {
    /// At most `limit` subscriptions per caller.
    pub fn new(limit: usize) -> Self {
        Self {
            limit,
            held: Arc::default(),
        }
    }

    /// A slot for one more subscription of `caller`, or `Exhausted` at the limit.
    pub fn take(&self, caller: &Caller) -> Result<Slot, FeedError> {
        let key = match caller.principal() {
            Some(principal) => format!("{}\n{}", principal.issuer, principal.subject),
            None => String::new(),
        };
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        let count = held.entry(key.clone()).or_default();
        if *count >= self.limit {
            return Err(FeedError::Exhausted(format!(
                "you hold {} subscriptions, the most one caller may; end one first",
                self.limit
            )));
        }
        *count += 1;
        Ok(Slot {
            held: self.held.clone(),
            key,
        })
    }

    /// Subscriptions `caller` holds now.
    #[cfg(test)]
    fn held_by(&self, key: &str) -> usize {
        let held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        held.get(key).copied().unwrap_or(0)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = held.get_mut(&self.key) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                held.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Principal;

    fn caller(subject: &str) -> Caller {
        Caller::Verified(Principal {
            subject: subject.into(),
            roles: ["admin".to_owned()].into(),
            tenant: None,
            issuer: "causeway".into(),
        })
    }

    #[test]
    fn each_caller_holds_up_to_the_limit_and_gets_slots_back() {
        let quota = Quota::new(2);
        let first = quota.take(&caller("a")).unwrap();
        let _second = quota.take(&caller("a")).unwrap();
        assert!(matches!(
            quota.take(&caller("a")),
            Err(FeedError::Exhausted(_))
        ));
        let _other = quota
            .take(&caller("b"))
            .expect("another caller has its own quota");
        drop(first);
        let _again = quota.take(&caller("a")).expect("a slot came back");
        assert_eq!(quota.held_by("causeway\na"), 2);
        let unchecked = quota.take(&Caller::Unchecked).unwrap();
        drop(unchecked);
        assert_eq!(quota.held_by(""), 0);
    }
}
