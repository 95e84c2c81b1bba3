//! Who may read which stream categories through the feed, as the contract declares it with
//! `option (causeway.events.v1.category_access)` on the `EventFeed` service: one entry per
//! category, and `*` for every category no entry names. The authorization layer has already
//! checked the RPC's own roles; this decides what a permitted caller sees.

use std::collections::HashMap;

use prost_reflect::{DescriptorPool, Value};

use super::FeedError;
use crate::{
    auth::{Caller, access::AccessError},
    store::{SubscriptionFilter, category_of},
};

/// The service option's full name.
pub const CATEGORY_ACCESS_OPTION: &str = "causeway.events.v1.category_access";
/// The service that declares it.
pub const FEED_SERVICE: &str = "causeway.events.v1.EventFeed";
/// The entry that stands for every category no other entry names.
pub const OTHER_CATEGORIES: &str = "*";

/// The category readers of the feed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Readers {
    named: HashMap<String, Vec<String>>,
    others: Vec<String>,
}

/// What one subscription may deliver: the store's filter (which categories to read at all)
/// and the rule applied to every event it brings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    /// Passed to the store.
    pub filter: SubscriptionFilter,
    readers: Readers,
    caller: Caller,
}

impl Scope {
    /// Whether an event of `stream` is delivered (its category passes the filter and the
    /// caller may read it).
    pub fn admits(&self, stream: &str) -> bool {
        self.filter.matches(stream) && self.readers.may_read(&self.caller, category_of(stream))
    }
}

impl Readers {
    /// The readers declared in `descriptors` (an encoded `FileDescriptorSet`).
    pub fn from_descriptors(descriptors: &[u8]) -> Result<Self, AccessError> {
        let pool = DescriptorPool::decode(descriptors)
            .map_err(|e| AccessError::Descriptors(e.to_string()))?;
        let (Some(option), Some(service)) = (
            pool.get_extension_by_name(CATEGORY_ACCESS_OPTION),
            pool.get_service_by_name(FEED_SERVICE),
        ) else {
            return Err(AccessError::Descriptors(format!(
                "the contracts do not declare {CATEGORY_ACCESS_OPTION} on {FEED_SERVICE}"
            )));
        };
        let mut readers = Self::default();
        let Value::List(entries) = service.options().get_extension(&option).into_owned() else {
            return Ok(readers);
        };
        for entry in entries {
            let Value::Message(entry) = entry else {
                continue;
            };
            let category = entry
                .get_field_by_name("category")
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            let roles: Vec<String> = entry
                .get_field_by_name("roles")
                .and_then(|v| {
                    v.as_list().map(|roles| {
                        roles
                            .iter()
                            .filter_map(|r| r.as_str().map(str::to_owned))
                            .collect()
                    })
                })
                .unwrap_or_default();
            if category == OTHER_CATEGORIES {
                readers.others = roles;
            } else {
                readers.named.insert(category, roles);
            }
        }
        Ok(readers)
    }

    /// Whether `caller` may read events of `category`.
    pub fn may_read(&self, caller: &Caller, category: &str) -> bool {
        caller.has_any(self.named.get(category).unwrap_or(&self.others))
    }

    /// What a subscription of `caller` to `requested` categories (none: every category it may
    /// read) delivers. Naming a category the caller may not read is refused, so that a
    /// consumer never mistakes "forbidden" for "quiet".
    pub fn scope(&self, caller: &Caller, requested: &[String]) -> Result<Scope, FeedError> {
        if let Some(denied) = requested.iter().find(|c| !self.may_read(caller, c)) {
            return Err(FeedError::Forbidden(format!(
                "your roles may not read the {denied} category"
            )));
        }
        let filter = if !requested.is_empty() || caller.has_any(&self.others) {
            SubscriptionFilter::categories(requested.iter().cloned())
        } else {
            let mut readable: Vec<String> = self
                .named
                .keys()
                .filter(|c| self.may_read(caller, c))
                .cloned()
                .collect();
            if readable.is_empty() {
                return Err(FeedError::Forbidden(
                    "your roles may not read any category".into(),
                ));
            }
            readable.sort();
            SubscriptionFilter::categories(readable)
        };
        Ok(Scope {
            filter,
            readers: self.clone(),
            caller: caller.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Principal;

    fn caller(roles: &[&str]) -> Caller {
        Caller::Verified(Principal {
            subject: "s".into(),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            tenant: None,
            issuer: "causeway".into(),
        })
    }

    fn readers() -> Readers {
        Readers::from_descriptors(causeway_proto::FILE_DESCRIPTOR_SET).unwrap()
    }

    #[test]
    fn the_contract_declares_who_reads_each_category() {
        let readers = readers();
        let orders = caller(&["orders.staff"]);
        assert!(readers.may_read(&orders, "order"));
        assert!(readers.may_read(&orders, "product"));
        assert!(!readers.may_read(&orders, "user"));
        assert!(readers.may_read(&orders, "fulfilment"));
        assert!(
            !readers.may_read(&orders, "invoice"),
            "undeclared: admin only"
        );
        let admin = caller(&["admin"]);
        for category in [
            "order",
            "product",
            "user",
            "useremail",
            "fulfilment",
            "invoice",
        ] {
            assert!(readers.may_read(&admin, category), "{category}");
        }
        assert!(!readers.may_read(&caller(&["customer"]), "order"));
        assert!(readers.may_read(&Caller::Unchecked, "user"));
        assert!(!readers.may_read(&Caller::Anonymous, "order"));
    }

    #[test]
    fn a_subscription_reads_what_was_asked_or_everything_readable() {
        let readers = readers();
        let staff = caller(&["inventory.staff"]);
        let scope = readers.scope(&staff, &[]).unwrap();
        assert_eq!(scope.filter, SubscriptionFilter::categories(["product"]));
        assert!(scope.admits("product-kettle") && !scope.admits("order-1"));

        let denied = readers.scope(&staff, &["order".to_owned()]).unwrap_err();
        assert!(matches!(denied, FeedError::Forbidden(ref m) if m.contains("order")));
        assert!(matches!(
            readers.scope(&caller(&["customer"]), &[]),
            Err(FeedError::Forbidden(_))
        ));

        let admin = readers.scope(&caller(&["admin"]), &[]).unwrap();
        assert_eq!(admin.filter, SubscriptionFilter::default());
        assert!(admin.admits("user-1") && admin.admits("invoice-9"));
        let only = readers
            .scope(&caller(&["admin"]), &["order".to_owned()])
            .unwrap();
        assert!(only.admits("order-1") && !only.admits("user-1"));
    }
}
