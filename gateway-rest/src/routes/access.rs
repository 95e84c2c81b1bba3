//! Who may call a route's RPC, as its contract declares with the `(causeway.auth.v1.access)`
//! method option. The server enforces the option; the gateway reads the same declaration only
//! to document it (the OpenAPI `security` of each operation and the roles in its
//! description), so the document cannot disagree with what the server allows.

use causeway_proto::auth::Access as Declared;
use prost_reflect::{DescriptorPool, ExtensionDescriptor, MethodDescriptor, Value};

/// Full name of the method option access rules come from.
pub const ACCESS_EXTENSION: &str = "causeway.auth.v1.access";

/// Who may call one RPC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// The descriptor set does not define the access option (contracts other than
    /// Causeway's): nothing is known, and nothing is documented.
    Unknown,
    /// Anyone, with or without a token.
    Public,
    /// A bearer token holding one of these roles. Empty when the RPC declares no rule (or no
    /// role): Causeway's servers then refuse every call to it.
    Roles(Vec<String>),
}

/// The access option of a pool, looked up once for all its RPCs.
#[derive(Debug, Clone)]
pub(super) struct AccessOption(Option<ExtensionDescriptor>);

impl AccessOption {
    /// The option as `pool` defines it, if it does.
    pub(super) fn of(pool: &DescriptorPool) -> Self {
        Self(pool.get_extension_by_name(ACCESS_EXTENSION))
    }

    /// What `rpc` declares.
    pub(super) fn access(&self, rpc: &MethodDescriptor) -> Access {
        let Some(extension) = &self.0 else {
            return Access::Unknown;
        };
        let options = rpc.options();
        if !options.has_extension(extension) {
            return Access::Roles(Vec::new());
        }
        let declared = match options.get_extension(extension).as_ref() {
            Value::Message(message) => message.transcode_to::<Declared>().unwrap_or_default(),
            _ => Declared::default(),
        };
        if declared.public {
            Access::Public
        } else {
            Access::Roles(declared.roles)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_public_and_role_rules_from_the_contracts() {
        let pool = crate::contracts().unwrap();
        let option = AccessOption::of(&pool);
        let rpc = |service: &str, method: &str| {
            pool.get_service_by_name(service)
                .and_then(|s| s.methods().find(|m| m.name() == method))
                .unwrap()
        };
        assert_eq!(
            option.access(&rpc("causeway.identity.v1.Sessions", "Login")),
            Access::Public
        );
        match option.access(&rpc("causeway.orders.v1.OrderCommands", "PlaceOrder")) {
            Access::Roles(roles) => assert!(roles.contains(&"customer".to_owned()), "{roles:?}"),
            other => panic!("PlaceOrder declares roles, read {other:?}"),
        }
        let foreign = AccessOption(None);
        assert_eq!(
            foreign.access(&rpc("causeway.identity.v1.Sessions", "Login")),
            Access::Unknown
        );
    }
}
