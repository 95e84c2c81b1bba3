//! Services and RPCs: what a caller dials (service and RPC names), what it sends and gets back,
//! and the method options that decide how it is reached and who may call it. Options are
//! compared as data, so the `google.api.http` route and any custom option (such as a
//! permission) are held alike: one an RPC had may not disappear or change; a new one may come.

use prost_reflect::{DescriptorPool, MethodDescriptor, ServiceDescriptor};
use serde_json::{Map, Value};

use super::sole;
use crate::contract::finding::{Change, Finding};

/// The proto3 JSON key of the `google.api.http` option inside `MethodOptions`.
const HTTP_OPTION: &str = "[google.api.http]";

pub(super) fn compare(baseline: &DescriptorPool, current: &DescriptorPool, out: &mut Vec<Finding>) {
    for old in baseline.services() {
        let file = old.parent_file().name().to_owned();
        let mut push = |element: &str, change| {
            out.push(Finding {
                file: file.clone(),
                element: element.to_owned(),
                change,
            })
        };
        let Some(new) = current.get_service_by_name(old.full_name()) else {
            let change = renamed_service(&old, baseline, current)
                .map_or(Change::ServiceRemoved, |to| Change::ServiceRenamed { to });
            push(old.full_name(), change);
            continue;
        };
        if new.parent_file().name() != file {
            let to_file = new.parent_file().name().to_owned();
            push(old.full_name(), Change::ServiceMoved { to_file });
        }
        for method in old.methods() {
            let mut push = |change| push(method.full_name(), change);
            match new.methods().find(|m| m.name() == method.name()) {
                Some(now) => compare_method(&method, &now, &mut push),
                None => push(
                    renamed_rpc(&method, &old, &new)
                        .map_or(Change::RpcRemoved, |to| Change::RpcRenamed { to }),
                ),
            }
        }
    }
}

/// What an RPC exchanges, name aside.
fn signature(method: &MethodDescriptor) -> (String, String, bool, bool) {
    (
        method.input().full_name().to_owned(),
        method.output().full_name().to_owned(),
        method.is_client_streaming(),
        method.is_server_streaming(),
    )
}

fn methods(service: &ServiceDescriptor) -> Vec<(String, (String, String, bool, bool))> {
    let mut all: Vec<_> = service
        .methods()
        .map(|m| (m.name().to_owned(), signature(&m)))
        .collect();
    all.sort();
    all
}

/// The one service new in `old`'s file with exactly its RPCs, if there is one.
fn renamed_service(
    old: &ServiceDescriptor,
    baseline: &DescriptorPool,
    current: &DescriptorPool,
) -> Option<String> {
    let wanted = methods(old);
    let candidates = current.services().filter(|s| {
        s.parent_file().name() == old.parent_file().name()
            && baseline.get_service_by_name(s.full_name()).is_none()
            && methods(s) == wanted
    });
    sole(candidates).map(|only| only.name().to_owned())
}

/// The one RPC new in the service with exactly `old`'s request, response and streaming.
fn renamed_rpc(
    old: &MethodDescriptor,
    was: &ServiceDescriptor,
    now: &ServiceDescriptor,
) -> Option<String> {
    let wanted = signature(old);
    let candidates = now
        .methods()
        .filter(|m| !was.methods().any(|w| w.name() == m.name()) && signature(m) == wanted);
    sole(candidates).map(|only| only.name().to_owned())
}

fn compare_method(old: &MethodDescriptor, new: &MethodDescriptor, push: &mut impl FnMut(Change)) {
    let (from, to) = (old.input(), new.input());
    if from.full_name() != to.full_name() {
        push(Change::RequestTypeChanged {
            from: from.full_name().to_owned(),
            to: to.full_name().to_owned(),
        });
    }
    let (from, to) = (old.output(), new.output());
    if from.full_name() != to.full_name() {
        push(Change::ResponseTypeChanged {
            from: from.full_name().to_owned(),
            to: to.full_name().to_owned(),
        });
    }
    if old.is_client_streaming() != new.is_client_streaming() {
        let now = new.is_client_streaming();
        push(Change::StreamingChanged {
            side: "request",
            now,
        });
    }
    if old.is_server_streaming() != new.is_server_streaming() {
        let now = new.is_server_streaming();
        push(Change::StreamingChanged {
            side: "response",
            now,
        });
    }
    let now = options(new);
    for (key, was) in options(old) {
        match (key.as_str(), now.get(&key)) {
            (_, Some(is)) if *is == was => {}
            (HTTP_OPTION, None) => push(Change::HttpRouteRemoved { route: route(&was) }),
            (HTTP_OPTION, Some(is)) => push(Change::HttpRouteChanged {
                from: route(&was),
                to: route(is),
            }),
            (_, None) => push(Change::MethodOptionRemoved {
                option: option_name(&key),
                value: was.to_string(),
            }),
            (_, Some(is)) => push(Change::MethodOptionChanged {
                option: option_name(&key),
                from: was.to_string(),
                to: is.to_string(),
            }),
        }
    }
}

/// The RPC's options as proto3 JSON (extensions under `[full.name]`). `deprecated` is left
/// out: marking an RPC deprecated warns callers and breaks none.
pub(super) fn options(method: &MethodDescriptor) -> Map<String, Value> {
    let mut map = match serde_json::to_value(method.options()) {
        Ok(Value::Object(map)) => map,
        // Never seen in practice; keep the difference visible rather than guess.
        Ok(other) => Map::from_iter([("(options)".to_owned(), other)]),
        Err(e) => Map::from_iter([("(options)".to_owned(), Value::String(e.to_string()))]),
    };
    map.remove("deprecated");
    map
}

/// An option as written in a `.proto`: `(google.api.http)` for extensions.
pub(super) fn option_name(key: &str) -> String {
    match key.strip_prefix('[').and_then(|k| k.strip_suffix(']')) {
        Some(extension) => format!("({extension})"),
        None => key.to_owned(),
    }
}

/// An `HttpRule` in words: `POST /v1/orders (body *)`, additional bindings after `+`.
pub(super) fn route(rule: &Value) -> String {
    let text = |key: &str| rule.get(key).and_then(Value::as_str);
    let mut route = ["get", "put", "post", "delete", "patch"]
        .iter()
        .find_map(|verb| text(verb).map(|path| format!("{} {path}", verb.to_uppercase())))
        .or_else(|| {
            let custom = rule.get("custom")?;
            let field = |k: &str| custom.get(k).and_then(Value::as_str).unwrap_or_default();
            Some(format!("{} {}", field("kind"), field("path")))
        })
        .unwrap_or_else(|| "(no pattern)".to_owned());
    if let Some(body) = text("body") {
        route.push_str(&format!(" (body {body})"));
    }
    if let Some(body) = text("responseBody") {
        route.push_str(&format!(" (response body {body})"));
    }
    for binding in rule
        .get("additionalBindings")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        route.push_str(&format!(" + {}", self::route(binding)));
    }
    route
}
