//! Who is calling, as the authentication layer established it and handlers read it from the
//! request's extensions. Event metadata's actor and tenant come from here, never from headers
//! a client sets.

use std::collections::BTreeSet;

/// A verified caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The token's `sub`: a Causeway user id, or an external identity provider's subject.
    pub subject: String,
    /// The roles the token grants.
    pub roles: BTreeSet<String>,
    /// The token's `tenant` claim, when it has one.
    pub tenant: Option<String>,
    /// The `iss` of the token that proved it.
    pub issuer: String,
}

/// The caller of one request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Caller {
    /// Authentication is switched off (`--auth disabled`): nobody is checked, everything is
    /// allowed, and no actor is recorded.
    Unchecked,
    /// No credentials, on a public RPC.
    #[default]
    Anonymous,
    /// A verified token.
    Verified(Principal),
}

impl Caller {
    /// The verified principal, if any.
    pub fn principal(&self) -> Option<&Principal> {
        match self {
            Self::Verified(principal) => Some(principal),
            _ => None,
        }
    }

    /// Whether the caller may act in one of `roles` (always, when nobody is checked).
    pub fn has_any(&self, roles: &[String]) -> bool {
        match self {
            Self::Unchecked => true,
            Self::Anonymous => false,
            Self::Verified(principal) => roles.iter().any(|r| principal.roles.contains(r)),
        }
    }

    /// The subject, when the caller acts *only* as `own`: it holds that role and none of
    /// `unrestricted` (staff roles that see everything). An ownership rule then limits it to
    /// what belongs to this subject.
    pub fn acting_only_as(&self, own: &str, unrestricted: &[&str]) -> Option<&str> {
        let principal = self.principal()?;
        let staff = unrestricted.iter().any(|r| principal.roles.contains(*r));
        (principal.roles.contains(own) && !staff).then_some(principal.subject.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verified(roles: &[&str]) -> Caller {
        Caller::Verified(Principal {
            subject: "u-1".into(),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            tenant: None,
            issuer: "causeway".into(),
        })
    }

    #[test]
    fn roles_and_ownership() {
        let customer = verified(&["customer"]);
        assert!(customer.has_any(&["customer".into(), "admin".into()]));
        assert!(!customer.has_any(&["admin".into()]));
        assert_eq!(
            customer.acting_only_as("customer", &["orders.staff"]),
            Some("u-1")
        );
        let staff = verified(&["customer", "orders.staff"]);
        assert_eq!(staff.acting_only_as("customer", &["orders.staff"]), None);
        assert!(Caller::Unchecked.has_any(&[]));
        assert!(!Caller::Anonymous.has_any(&["customer".into()]));
        assert_eq!(Caller::Unchecked.acting_only_as("customer", &[]), None);
    }
}
