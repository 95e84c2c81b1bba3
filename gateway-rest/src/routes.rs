//! The routing table, read from the `google.api.http` annotations in the descriptor set at
//! start-up. Every annotated unary RPC becomes one route per binding; nothing here knows any
//! Causeway service by name. Whatever cannot work (a template naming a missing field, a body
//! on GET, a streaming RPC) fails start-up with the RPC named, instead of failing requests.
//!
//! The HTTP conventions (idempotency key, If-Match, consistency, ETag, position) are found by
//! shape, once per route: a request field `options` with `command_id` / `expected_revision`,
//! a request field `consistency` with `min_position`, a `revision` and a `position` in the
//! response or in its first message field that has one.

use http::{Method, uri::PathAndQuery};
use prost_reflect::{
    Cardinality, DescriptorPool, DynamicMessage, FieldDescriptor, Kind, MessageDescriptor,
    MethodDescriptor, Value,
};

use crate::template::{BadPath, PathTemplate, RequestPath, TemplateError};

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
}

/// Every route, in the order of the descriptor set.
#[derive(Debug, Clone, Default)]
pub struct RouteTable {
    routes: Vec<Route>,
}

/// The result of looking a request up.
#[derive(Debug)]
pub enum Lookup<'a> {
    /// This route, with each path variable's value.
    Found(&'a Route, Vec<String>),
    /// The path exists, but not for this method; these methods would work.
    MethodNotAllowed(Vec<Method>),
    /// No route has this path.
    NotFound,
    /// The path matched but a value in it is not UTF-8.
    BadPath(BadPath),
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
                    let route = build_route(&rpc, rule, binding)?;
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
    pub fn find(&self, method: &Method, path: &str) -> Lookup<'_> {
        let request = RequestPath::parse(path);
        let mut best: Option<(&Route, Result<Vec<String>, BadPath>)> = None;
        let mut allowed = Vec::new();
        for route in &self.routes {
            let Some(values) = route.template.matches(&request) else {
                continue;
            };
            if route.http_method != *method {
                if !allowed.contains(&route.http_method) {
                    allowed.push(route.http_method.clone());
                }
                continue;
            }
            if best
                .as_ref()
                .is_none_or(|(b, _)| route.template.rank() > b.template.rank())
            {
                best = Some((route, values));
            }
        }
        match best {
            Some((route, Ok(values))) => Lookup::Found(route, values),
            Some((_, Err(bad))) => Lookup::BadPath(bad),
            None if !allowed.is_empty() => Lookup::MethodNotAllowed(allowed),
            None => Lookup::NotFound,
        }
    }
}

fn build_route(
    rpc: &MethodDescriptor,
    rule: &DynamicMessage,
    binding: usize,
) -> Result<Route, RouteError> {
    let name = rpc.full_name().to_owned();
    let fail = |reason: String| RouteError::Rule {
        rpc: name.clone(),
        reason,
    };
    if rpc.is_client_streaming() || rpc.is_server_streaming() {
        return Err(fail("streaming RPCs cannot be mapped to REST".into()));
    }
    let text = |field: &str| match rule.get_field_by_name(field).map(|v| v.into_owned()) {
        Some(Value::String(s)) => s,
        _ => String::new(),
    };
    if binding > 0 && rule.has_field_by_name("additional_bindings") {
        return Err(fail("additional bindings may not nest".into()));
    }
    if !text("response_body").is_empty() {
        return Err(fail("response_body is not supported".into()));
    }
    let mut pattern = None;
    for verb in ["get", "put", "post", "delete", "patch"] {
        if rule.has_field_by_name(verb) {
            let method = Method::from_bytes(verb.to_ascii_uppercase().as_bytes())
                .map_err(|e| fail(e.to_string()))?;
            pattern = Some((method, text(verb)));
        }
    }
    if let Some(Value::Message(custom)) = rule.get_field_by_name("custom").map(|v| v.into_owned())
        && rule.has_field_by_name("custom")
    {
        let field = |f: &str| match custom.get_field_by_name(f).map(|v| v.into_owned()) {
            Some(Value::String(s)) => s,
            _ => String::new(),
        };
        let method = Method::from_bytes(field("kind").as_bytes()).map_err(|_| {
            fail(format!(
                "custom verb {:?} is not an HTTP method",
                field("kind")
            ))
        })?;
        pattern = Some((method, field("path")));
    }
    let (http_method, path) = pattern.ok_or_else(|| fail("the rule names no HTTP verb".into()))?;
    let template = PathTemplate::parse(&path).map_err(|source| RouteError::Template {
        rpc: name.clone(),
        source,
    })?;

    let input = rpc.input();
    let mut path_fields = Vec::new();
    for variable in template.variables() {
        let fields = resolve_proto_path(&input, &variable.field_path).map_err(|reason| {
            fail(format!(
                "path variable {{{}}}: {reason}",
                variable.field_path
            ))
        })?;
        let Some(leaf) = fields.last() else {
            return Err(fail("empty path variable".into()));
        };
        if leaf.is_list() || leaf.is_map() || matches!(leaf.kind(), Kind::Message(_)) {
            return Err(fail(format!(
                "path variable {{{}}} must bind a single scalar or enum field",
                variable.field_path
            )));
        }
        path_fields.push(fields);
    }

    let body = match text("body").as_str() {
        "" => BodyRule::None,
        "*" => BodyRule::Whole,
        field => BodyRule::Field(input.get_field_by_name(field).ok_or_else(|| {
            fail(format!(
                "body names {field:?}, which the request does not have"
            ))
        })?),
    };
    if !matches!(body, BodyRule::None) && matches!(http_method, Method::GET | Method::DELETE) {
        return Err(fail(format!("{http_method} routes cannot take a body")));
    }
    if let BodyRule::Field(field) = &body
        && path_fields.iter().any(|p| p.first() == Some(field))
    {
        return Err(fail("the body field is also bound by the path".into()));
    }

    let output = rpc.output();
    let conventions = Conventions {
        command_id: nested_scalar(&input, "options", "command_id"),
        expected_revision: nested_scalar(&input, "options", "expected_revision"),
        min_position: nested_scalar(&input, "consistency", "min_position"),
        etag: response_scalar(&output, "revision"),
        position: response_scalar(&output, "position"),
    };
    let grpc_path = format!("/{}/{}", rpc.parent_service().full_name(), rpc.name())
        .parse::<PathAndQuery>()
        .map_err(|e| fail(e.to_string()))?;
    Ok(Route {
        http_method,
        template,
        path_fields,
        body,
        rpc: rpc.clone(),
        grpc_path,
        conventions,
        binding,
    })
}

/// Resolves a dotted path of proto field names (as templates write them) through singular
/// message fields.
pub fn resolve_proto_path(message: &MessageDescriptor, path: &str) -> Result<FieldPath, String> {
    resolve(message, path, |m, name| m.get_field_by_name(name))
}

/// Resolves a dotted path whose parts may be proto names or JSON names (as query parameters
/// may be written either way).
pub fn resolve_any_path(message: &MessageDescriptor, path: &str) -> Result<FieldPath, String> {
    resolve(message, path, |m, name| {
        m.get_field_by_json_name(name)
            .or_else(|| m.get_field_by_name(name))
    })
}

fn resolve(
    message: &MessageDescriptor,
    path: &str,
    lookup: impl Fn(&MessageDescriptor, &str) -> Option<FieldDescriptor>,
) -> Result<FieldPath, String> {
    let mut current = message.clone();
    let mut fields = Vec::new();
    let parts: Vec<&str> = path.split('.').collect();
    for (i, part) in parts.iter().enumerate() {
        let field = lookup(&current, part)
            .ok_or_else(|| format!("{} has no field {part:?}", current.full_name()))?;
        let last = i + 1 == parts.len();
        if !last {
            match field.kind() {
                Kind::Message(next) if field.cardinality() != Cardinality::Repeated => {
                    current = next;
                }
                _ => return Err(format!("{part:?} is not a single message field")),
            }
        }
        fields.push(field);
    }
    Ok(fields)
}

/// `parent.child` when the message has a singular message field `parent` whose type has a
/// singular scalar `child`.
fn nested_scalar(message: &MessageDescriptor, parent: &str, child: &str) -> Option<FieldPath> {
    let parent = message.get_field_by_name(parent)?;
    let Kind::Message(inner) = parent.kind() else {
        return None;
    };
    if parent.is_list() {
        return None;
    }
    let child = inner.get_field_by_name(child)?;
    (!child.is_list() && !matches!(child.kind(), Kind::Message(_))).then(|| vec![parent, child])
}

/// `name` at the top of `message`, or in its first singular message field that has it.
fn response_scalar(message: &MessageDescriptor, name: &str) -> Option<FieldPath> {
    let scalar = |m: &MessageDescriptor| {
        m.get_field_by_name(name)
            .filter(|f| !f.is_list() && !matches!(f.kind(), Kind::Message(_)))
    };
    if let Some(field) = scalar(message) {
        return Some(vec![field]);
    }
    message.fields().find_map(|field| match field.kind() {
        Kind::Message(inner) if !field.is_list() && !field.is_map() => {
            scalar(&inner).map(|leaf| vec![field.clone(), leaf])
        }
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> RouteTable {
        RouteTable::from_pool(&crate::contracts().unwrap()).unwrap()
    }

    #[test]
    fn every_command_and_query_rpc_has_a_route() {
        let pool = crate::contracts().unwrap();
        let table = RouteTable::from_pool(&pool).unwrap();
        for service in pool.services() {
            if !service.full_name().starts_with("causeway.") {
                continue;
            }
            for rpc in service.methods() {
                assert!(
                    table.routes().iter().any(|r| r.rpc == rpc),
                    "{} has no route",
                    rpc.full_name()
                );
            }
        }
    }

    #[test]
    fn lookups_find_routes_and_tell_missing_methods_apart_from_missing_paths() {
        let table = table();
        match table.find(&Method::POST, "/v1/orders/o-1:cancel") {
            Lookup::Found(route, values) => {
                assert_eq!(route.rpc.name(), "CancelOrder");
                assert_eq!(values, vec!["o-1".to_owned()]);
            }
            other => panic!("{other:?}"),
        }
        match table.find(&Method::GET, "/v1/users:byEmail") {
            Lookup::Found(route, _) => assert_eq!(route.rpc.name(), "FindUserByEmail"),
            other => panic!("{other:?}"),
        }
        match table.find(&Method::DELETE, "/v1/orders") {
            Lookup::MethodNotAllowed(allowed) => {
                assert!(allowed.contains(&Method::GET) && allowed.contains(&Method::POST));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            table.find(&Method::GET, "/v2/nothing"),
            Lookup::NotFound
        ));
    }

    #[test]
    fn conventions_are_found_by_shape() {
        let table = table();
        let route = |name: &str| {
            table
                .routes()
                .iter()
                .find(|r| r.rpc.name() == name)
                .unwrap()
                .conventions
                .clone()
        };
        let place = route("PlaceOrder");
        assert!(place.command_id.is_some() && place.expected_revision.is_some());
        assert_eq!(
            place.position.unwrap().last().unwrap().full_name(),
            "causeway.common.v1.CommandAck.position"
        );
        let get = route("GetOrder");
        assert!(get.command_id.is_none() && get.min_position.is_some());
        assert_eq!(
            get.etag.unwrap().last().unwrap().full_name(),
            "causeway.orders.v1.Order.revision"
        );
    }
}
