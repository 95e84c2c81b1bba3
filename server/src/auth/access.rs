//! The access rule of every RPC, read once from the contracts' descriptor set: the
//! `(causeway.auth.v1.access)` method option. One table, built at start-up, is what the
//! authorization layer enforces; an RPC that declares no rule is refused.

use std::collections::HashMap;

use prost_reflect::{DescriptorPool, Value};

/// The option's full name.
pub const ACCESS_OPTION: &str = "causeway.auth.v1.access";

/// Services outside Causeway's contracts that every process serves to anyone: probes and
/// tooling must reach them without a token.
pub const PUBLIC_SERVICES: &[&str] = &[
    "grpc.health.v1.Health",
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
];

/// Who may call one RPC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    /// Anyone, with or without a token.
    Public,
    /// A verified caller with one of these roles.
    Roles(Vec<String>),
}

/// Why the table could not be built.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// The descriptor set does not decode.
    #[error("the contracts' descriptor set does not decode: {0}")]
    Descriptors(String),
    /// The access option is not in the descriptor set.
    #[error("the contracts do not define the {ACCESS_OPTION} option")]
    NoOption,
}

/// The rule of every RPC, by gRPC path (`/package.Service/Method`).
#[derive(Debug, Clone, Default)]
pub struct AccessTable {
    rules: HashMap<String, Rule>,
}

impl AccessTable {
    /// The rules declared in `descriptors` (an encoded `FileDescriptorSet`).
    pub fn from_descriptors(descriptors: &[u8]) -> Result<Self, AccessError> {
        let pool = DescriptorPool::decode(descriptors)
            .map_err(|e| AccessError::Descriptors(e.to_string()))?;
        Self::from_pool(&pool)
    }

    /// The rules declared in `pool`.
    pub fn from_pool(pool: &DescriptorPool) -> Result<Self, AccessError> {
        let option = pool
            .get_extension_by_name(ACCESS_OPTION)
            .ok_or(AccessError::NoOption)?;
        let mut rules = HashMap::new();
        for service in pool.services() {
            for method in service.methods() {
                let options = method.options();
                if !options.has_extension(&option) {
                    continue;
                }
                let Value::Message(access) = options.get_extension(&option).into_owned() else {
                    continue;
                };
                let public = access
                    .get_field_by_name("public")
                    .and_then(|v| v.as_bool())
                    .unwrap_or(false);
                let roles: Vec<String> = access
                    .get_field_by_name("roles")
                    .and_then(|v| {
                        v.as_list().map(|items| {
                            items
                                .iter()
                                .filter_map(|r| r.as_str().map(str::to_owned))
                                .collect()
                        })
                    })
                    .unwrap_or_default();
                let rule = if public {
                    Rule::Public
                } else {
                    Rule::Roles(roles)
                };
                rules.insert(format!("/{}/{}", service.full_name(), method.name()), rule);
            }
        }
        Ok(Self { rules })
    }

    /// The same table with every method of `services` public (services mounted beside the
    /// contracts, such as the benchmark's echo baseline).
    pub fn with_public_services(mut self, services: &[&str]) -> Self {
        for service in services {
            self.rules.insert(format!("/{service}/*"), Rule::Public);
        }
        self
    }

    /// The rule for a request to `path`; `None` when the RPC declares none (refused).
    pub fn rule(&self, path: &str) -> Option<&Rule> {
        if let Some(rule) = self.rules.get(path) {
            return Some(rule);
        }
        let service = path.trim_start_matches('/').split('/').next()?;
        if PUBLIC_SERVICES.contains(&service) {
            return Some(&Rule::Public);
        }
        self.rules.get(&format!("/{service}/*"))
    }

    /// Every RPC path with its rule.
    pub fn rules(&self) -> impl Iterator<Item = (&str, &Rule)> {
        self.rules.iter().map(|(path, rule)| (path.as_str(), rule))
    }
}
