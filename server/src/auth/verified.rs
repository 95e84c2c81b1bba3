//! Tokens already verified, remembered for a short while. A client sends the same token on
//! every call until it expires, and checking its signature again each time is most of what
//! authentication costs a call (measured by scenario 8 of `causeway-bench`). Only tokens that
//! passed the full check are remembered, by their exact text, so a forgery is never a hit; an
//! entry ends at the token's `exp` or after [`REMEMBER`], whichever is first, so a key that
//! stops verifying (its grace ended) stops its tokens within that time too. Whether the
//! subject was disabled is not remembered: the authentication layer asks on every call.

use std::{
    collections::HashMap,
    sync::RwLock,
    time::{Duration, Instant},
};

use super::principal::Principal;

/// Longest a verified token is answered from memory.
pub const REMEMBER: Duration = Duration::from_secs(60);
/// Most tokens remembered at once; past it, expired entries go, and if none have, all do.
pub const CAPACITY: usize = 10_000;

/// Verified tokens and the principal each proves.
#[derive(Debug, Default)]
pub struct VerifiedTokens {
    entries: RwLock<HashMap<String, Remembered>>,
}

#[derive(Debug, Clone)]
struct Remembered {
    principal: Principal,
    until: Instant,
}

impl VerifiedTokens {
    /// The principal `token` proved, if it was verified within [`REMEMBER`] and has not
    /// expired since.
    pub fn get(&self, token: &str) -> Option<Principal> {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        let remembered = entries.get(token)?;
        (Instant::now() < remembered.until).then(|| remembered.principal.clone())
    }

    /// Remembers that `token`, valid for `valid_for` more, proves `principal`.
    pub fn insert(&self, token: &str, principal: Principal, valid_for: Duration) {
        let now = Instant::now();
        let until = now + valid_for.min(REMEMBER);
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= CAPACITY {
            entries.retain(|_, remembered| now < remembered.until);
        }
        if entries.len() >= CAPACITY {
            entries.clear();
        }
        entries.insert(token.to_owned(), Remembered { principal, until });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(subject: &str) -> Principal {
        Principal {
            subject: subject.into(),
            roles: ["customer".to_owned()].into(),
            tenant: None,
            issuer: "causeway".into(),
        }
    }

    #[test]
    fn a_token_is_remembered_exactly_and_not_past_its_expiry() {
        let verified = VerifiedTokens::default();
        verified.insert("a.b.c", principal("ada"), Duration::from_secs(600));
        assert_eq!(verified.get("a.b.c"), Some(principal("ada")));
        assert_eq!(verified.get("a.b.d"), None, "another text is another token");
        verified.insert("x.y.z", principal("bob"), Duration::ZERO);
        assert_eq!(verified.get("x.y.z"), None, "expired: verified again");
    }

    #[test]
    fn the_memory_is_bounded() {
        let verified = VerifiedTokens::default();
        for n in 0..=CAPACITY {
            verified.insert(&n.to_string(), principal("ada"), REMEMBER);
        }
        let held = verified.entries.read().unwrap().len();
        assert!(held <= CAPACITY, "{held}");
        assert!(
            verified.get(&CAPACITY.to_string()).is_some(),
            "the newest stays"
        );
    }
}
