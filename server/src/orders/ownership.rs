//! Who may see and change which orders, beyond the roles the contract declares per RPC: a
//! caller acting only as a `customer` places orders for itself (its customer id is its token's
//! subject, filled in when the request leaves it out), and reads, lists and cancels only its
//! own; another customer's order is reported as not found, so its existence does not leak.
//! Staff roles see and change every order.

use tonic::Status;

use super::values::CustomerId;
use crate::auth::Caller;

/// The role of a customer acting for itself.
pub const CUSTOMER: &str = "customer";
/// Roles that see and change every order.
pub const STAFF: &[&str] = &["orders.staff", "admin"];

/// On whose behalf a request about orders is made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requester {
    /// Staff, an unchecked caller (authentication disabled) or any role beyond `customer`:
    /// every order.
    Staff,
    /// A customer acting for itself: only its own orders.
    Customer(CustomerId),
}

impl Requester {
    /// The requester `caller` is.
    pub fn of(caller: &Caller) -> Result<Self, Status> {
        if *caller == Caller::Anonymous {
            // The authorization layer lets no anonymous caller reach an order RPC.
            return Err(Status::unauthenticated("sign in to work with orders"));
        }
        match caller.acting_only_as(CUSTOMER, STAFF) {
            None => Ok(Self::Staff),
            Some(subject) => CustomerId::parse(subject).map(Self::Customer).map_err(|_| {
                Status::permission_denied("this token's subject cannot be used as a customer id")
            }),
        }
    }

    /// The customer an order placed by this requester is for: the one named, which a customer
    /// may only set to itself, or (when none is named) the customer itself.
    pub fn customer_for(&self, named: Option<CustomerId>) -> Result<CustomerId, Status> {
        match (self, named) {
            (Self::Customer(own), None) => Ok(own.clone()),
            (Self::Customer(own), Some(named)) if named == *own => Ok(named),
            (Self::Customer(_), Some(_)) => Err(Status::permission_denied(
                "a customer places orders only for itself: leave customerId empty or set it \
                 to your own id",
            )),
            (Self::Staff, Some(named)) => Ok(named),
            (Self::Staff, None) => {
                Err(crate::grpc::Invalid::field("customerId", "required").into())
            }
        }
    }

    /// Whether this requester may see an order of `customer`.
    pub fn sees(&self, customer: &str) -> bool {
        match self {
            Self::Staff => true,
            Self::Customer(own) => own.as_str() == customer,
        }
    }

    /// The customer this requester is limited to, if any.
    pub fn only(&self) -> Option<&CustomerId> {
        match self {
            Self::Staff => None,
            Self::Customer(own) => Some(own),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Principal;

    fn caller(subject: &str, roles: &[&str]) -> Caller {
        Caller::Verified(Principal {
            subject: subject.into(),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            tenant: None,
            issuer: "causeway".into(),
        })
    }

    fn id(raw: &str) -> CustomerId {
        CustomerId::parse(raw).unwrap()
    }

    #[test]
    fn a_customer_orders_for_itself_and_staff_for_anyone() {
        let ada = Requester::of(&caller("ada", &["customer"])).unwrap();
        assert_eq!(ada, Requester::Customer(id("ada")));
        assert_eq!(ada.customer_for(None).unwrap(), id("ada"));
        assert_eq!(ada.customer_for(Some(id("ada"))).unwrap(), id("ada"));
        let other = ada.customer_for(Some(id("bob"))).unwrap_err();
        assert_eq!(other.code(), tonic::Code::PermissionDenied);
        assert!(ada.sees("ada") && !ada.sees("bob"));

        let staff = Requester::of(&caller("sam", &["customer", "orders.staff"])).unwrap();
        assert_eq!(staff, Requester::Staff);
        assert_eq!(staff.customer_for(Some(id("bob"))).unwrap(), id("bob"));
        assert_eq!(
            staff.customer_for(None).unwrap_err().code(),
            tonic::Code::InvalidArgument
        );
        assert_eq!(Requester::of(&Caller::Unchecked).unwrap(), Requester::Staff);
        let unusable = Requester::of(&caller("has space", &["customer"])).unwrap_err();
        assert_eq!(unusable.code(), tonic::Code::PermissionDenied);
    }
}
