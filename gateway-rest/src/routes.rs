//! The routing table, read from the `google.api.http` annotations in the descriptor set at
//! start-up. Every annotated unary RPC becomes one route per binding; nothing here knows any
//! Causeway service by name. Whatever cannot work (a template naming a missing field, a body
//! on GET, a streaming RPC) fails start-up with the RPC named, instead of failing requests.
//!
//! The HTTP conventions (idempotency key, If-Match, consistency, ETag, position) are found by
//! shape, once per route: a request field `options` with `command_id` / `expected_revision`,
//! a request field `consistency` with `min_position`, a `revision` and a `position` in the
//! response or in its first message field that has one.

mod access;
mod fields;
mod rule;

use http::{Method, uri::PathAndQuery};
use prost_reflect::{DescriptorPool, FieldDescriptor, MethodDescriptor, Value};

pub use self::access::{ACCESS_EXTENSION, Access};
pub use self::fields::{resolve_any_path, resolve_proto_path};
use self::{access::AccessOption, rule::build_route};
use crate::template::{PathTemplate, RequestPath, TemplateError};

/// Full name of the method option the routes come from.
pub const HTTP_EXTENSION: &str = "google.api.http";

/// A chain of fields from a message down to a leaf (`consistency` -> `min_position`).
pub type FieldPath = Vec<FieldDescriptor>;

/// What the HTTP body fills.
#[derive(Debug, Clone)]
pub enum BodyRule {
    /// Nothing: the route takes no body (GET, or `body` left empty).
    None,
    /// The whole request message (`body: "*"`).
    Whole,
    /// One top-level field (`body: "note"`).
    Field(FieldDescriptor),
}

/// Request fields the HTTP conventions fill, when the request has them.
#[derive(Debug, Clone, Default)]
pub struct Conventions {
    /// `options.command_id`, filled from `Idempotency-Key`.
    pub command_id: Option<FieldPath>,
    /// `options.expected_revision`, filled from `If-Match`.
    pub expected_revision: Option<FieldPath>,
    /// `consistency.min_position`, filled from `X-Min-Position`.
    pub min_position: Option<FieldPath>,
    /// The response's `revision`, sent as `ETag` on reads.
    pub etag: Option<FieldPath>,
    /// The response's `position`, sent as `X-Position` on commands.
    pub position: Option<FieldPath>,
    /// On a streaming route, the request's top-level `after` position, filled from
    /// `Last-Event-ID` when a Server-Sent Events client reconnects.
    pub resume_after: Option<FieldPath>,
}

/// One REST route: an HTTP method and path template, bound to one RPC.
#[derive(Debug, Clone)]
pub struct Route {
    /// The HTTP method.
    pub http_method: Method,
    /// The path template.
    pub template: PathTemplate,
    /// Each template variable's field, in template order.
    pub path_fields: Vec<FieldPath>,
    /// What the body fills.
    pub body: BodyRule,
    /// The RPC.
    pub rpc: MethodDescriptor,
    /// `/<package.Service>/<Method>`, the gRPC path it is forwarded to.
    pub grpc_path: PathAndQuery,
    /// Which convention fields exist.
    pub conventions: Conventions,
    /// Position among the RPC's bindings (0 for the main one), for unique operation ids.
    pub binding: usize,
    /// A server-streaming RPC, answered as Server-Sent Events.
    pub streaming: bool,
    /// Who may call the RPC, as its contract declares.
    pub access: Access,
    /// Whether the path is a well-known URI (RFC 8615, `/.well-known/…`): a document in a
    /// format defined elsewhere (a JWKS), answered as that format expects.
    pub well_known: bool,
}

/// Every route, in the order of the descriptor set.
#[derive(Debug, Clone, Default)]
pub struct RouteTable {
    routes: Vec<Route>,
}

/// The result of looking a request up.
#[derive(Debug)]
pub enum Lookup<'a> {
    /// This route, with each path variable's value, still percent-encoded (the transcoder
    /// decodes them and names the field of a value that is empty or not UTF-8).
    Found(&'a Route, Vec<String>),
    /// The path names a resource that exists for other methods; these would work.
    MethodNotAllowed(Vec<Method>),
    /// No route has this path.
    NotFound,
}

/// Why the annotations cannot be served; start-up fails with it.
#[derive(Debug, thiserror::Error)]
pub enum RouteError {
    /// A path template does not parse.
    #[error("{rpc}: {source}")]
    Template {
        /// The RPC whose rule it is.
        rpc: String,
        /// What is wrong.
        source: TemplateError,
    },
    /// A rule names something the request does not have, or cannot be served.
    #[error("{rpc}: {reason}")]
    Rule {
        /// The RPC whose rule it is.
        rpc: String,
        /// What is wrong.
        reason: String,
    },
    /// Two rules claim the same method and path.
    #[error("{method} {template} is bound to both {first} and {second}")]
    Duplicate {
        /// The HTTP method.
        method: Method,
        /// The template.
        template: String,
        /// One RPC.
        first: String,
        /// The other.
        second: String,
    },
}

impl RouteTable {
    /// Reads every `google.api.http` rule in `pool`. A pool without the extension has no
    /// routes (the gateway then only serves `/healthz` and `/openapi.json`).
    pub fn from_pool(pool: &DescriptorPool) -> Result<Self, RouteError> {
        let Some(extension) = pool.get_extension_by_name(HTTP_EXTENSION) else {
            return Ok(Self::default());
        };
        let access = AccessOption::of(pool);
        let mut routes: Vec<Route> = Vec::new();
        for service in pool.services() {
            for rpc in service.methods() {
                let options = rpc.options();
                if !options.has_extension(&extension) {
                    continue;
                }
                let Value::Message(rule) = options.get_extension(&extension).into_owned() else {
                    continue;
                };
                let mut rules = vec![rule.clone()];
                if let Some(Value::List(more)) = rule
                    .get_field_by_name("additional_bindings")
                    .map(|v| v.into_owned())
                {
                    rules.extend(more.into_iter().filter_map(|v| match v {
                        Value::Message(m) => Some(m),
                        _ => None,
                    }));
                }
                for (binding, rule) in rules.iter().enumerate() {
                    let route = build_route(&rpc, rule, binding, access.access(&rpc))?;
                    if let Some(other) = routes.iter().find(|r| {
                        r.http_method == route.http_method
                            && r.template.openapi_path() == route.template.openapi_path()
                    }) {
                        return Err(RouteError::Duplicate {
                            method: route.http_method.clone(),
                            template: route.template.to_string(),
                            first: other.rpc.full_name().to_owned(),
                            second: rpc.full_name().to_owned(),
                        });
                    }
                    routes.push(route);
                }
            }
        }
        Ok(Self { routes })
    }

    /// Every route.
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// Finds the route for `method` and `path`; the most specific template wins when several
    /// match.
    ///
    /// A route of another method makes the answer 405 only when it names the same resource:
    /// not when its variable merely swallowed an unknown `:verb` (`POST /v1/orders/o-1:frob`
    /// is no method of order `o-1`) or matched an empty segment (`/v1/orders/`). Such paths
    /// are unknown (404). A route of the request's own method that swallowed the verb still
    /// serves (an id may contain `:`), unless another method has that very verb
    /// (`GET /v1/orders/o-1:cancel` is 405; `o-1%3Acancel` reads an order of that id).
    pub fn find(&self, method: &Method, path: &str) -> Lookup<'_> {
        let request = RequestPath::parse(path);
        let mut best: Option<(&Route, Vec<String>, bool)> = None;
        let mut allowed = Vec::new();
        for route in &self.routes {
            let Some(values) = route.template.matches(&request) else {
                continue;
            };
            let swallowed_verb = request.has_verb() && !route.template.has_verb();
            if route.http_method != *method {
                let same_resource = !swallowed_verb && values.iter().all(|v| !v.is_empty());
                if same_resource && !allowed.contains(&route.http_method) {
                    allowed.push(route.http_method.clone());
                }
                continue;
            }
            if best
                .as_ref()
                .is_none_or(|(b, _, _)| route.template.rank() > b.template.rank())
            {
                best = Some((route, values, swallowed_verb));
            }
        }
        match best {
            Some((route, values, swallowed_verb)) if !swallowed_verb || allowed.is_empty() => {
                Lookup::Found(route, values)
            }
            _ if !allowed.is_empty() => Lookup::MethodNotAllowed(allowed),
            _ => Lookup::NotFound,
        }
    }
}

#[cfg(test)]
mod tests;
