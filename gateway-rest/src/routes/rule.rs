//! One `google.api.http` rule read into a [`Route`]: the verb and template, the fields the path
//! binds, what the body fills and which HTTP conventions the request and response support.
//! Whatever cannot be served fails here, at start-up, with the RPC named.

use http::{Method, uri::PathAndQuery};
use prost_reflect::{DynamicMessage, Kind, MethodDescriptor, Value};

use super::{
    Access, BodyRule, Conventions, Route, RouteError,
    fields::{nested_scalar, resolve_proto_path, response_scalar},
};
use crate::template::PathTemplate;

/// Where well-known URIs live (RFC 8615).
const WELL_KNOWN_PREFIX: &str = "/.well-known/";

pub(super) fn build_route(
    rpc: &MethodDescriptor,
    rule: &DynamicMessage,
    binding: usize,
    access: Access,
) -> Result<Route, RouteError> {
    let name = rpc.full_name().to_owned();
    let fail = |reason: String| RouteError::Rule {
        rpc: name.clone(),
        reason,
    };
    if rpc.is_client_streaming() {
        return Err(fail(
            "client-streaming RPCs cannot be mapped to REST".into(),
        ));
    }
    let streaming = rpc.is_server_streaming();
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
    if streaming && (http_method != Method::GET || !matches!(body, BodyRule::None)) {
        return Err(fail(
            "a server-streaming RPC is served as Server-Sent Events: GET, without a body".into(),
        ));
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
        resume_after: streaming
            .then(|| input.get_field_by_name("after"))
            .flatten()
            .filter(|f| f.kind() == Kind::Uint64 && !f.is_list())
            .map(|f| vec![f]),
    };
    let grpc_path = format!("/{}/{}", rpc.parent_service().full_name(), rpc.name())
        .parse::<PathAndQuery>()
        .map_err(|e| fail(e.to_string()))?;
    let well_known = template.openapi_path().starts_with(WELL_KNOWN_PREFIX);
    Ok(Route {
        http_method,
        well_known,
        access,
        template,
        path_fields,
        body,
        rpc: rpc.clone(),
        grpc_path,
        conventions,
        binding,
        streaming,
    })
}
