//! Answers a REST caller can act on: a value of the wrong type names its field, a command
//! without `Idempotency-Key` names the header, an unknown sub-path is 404 (not 405), a malformed
//! id answers 400 naming its parameter on every resource, and field violations the server
//! already spells in JSON names pass through unchanged.

use crate::support;

use reqwest::Method;
use serde_json::{Value, json};
use support::{
    Gateway, Http, Reply, Stack, key,
    probe::{Annotations, Probe, compile},
};

/// The `field` of every violation in an error body.
fn fields(reply: &Reply) -> Vec<String> {
    reply.json["error"]["fieldViolations"]
        .as_array()
        .unwrap_or_else(|| panic!("no fieldViolations in {}", reply.text))
        .iter()
        .map(|v| v["field"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[track_caller]
fn assert_invalid(reply: &Reply, field: &str) {
    assert_eq!(reply.status.as_u16(), 400, "{}", reply.text);
    assert_eq!(reply.error_status(), "INVALID_ARGUMENT", "{}", reply.text);
    assert!(
        fields(reply).iter().any(|f| f == field),
        "{field} not named in {}",
        reply.text
    );
}

/// A probe upstream with every RPC annotated and a gateway in front of it.
async fn probe_and_gateway() -> (Probe, Gateway, Http) {
    let pool = compile(&Annotations::all());
    let probe = Probe::start(&pool).await;
    let gateway = Gateway::start_with(support::config(&probe.url()), pool).await;
    let http = Http::new(&gateway.url());
    (probe, gateway, http)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_value_of_the_wrong_type_names_its_field() {
    let stack = Stack::start().await;
    let http = &stack.http;
    let key = key();
    let headers = [("idempotency-key", key.as_str())];

    let reply = http
        .post(
            "/v1/products/kettle:receive",
            &headers,
            json!({"quantity": "ten"}),
        )
        .await;
    assert_invalid(&reply, "quantity");
    assert_eq!(fields(&reply), ["quantity"]);
    let description = reply.json["error"]["fieldViolations"][0]["description"]
        .as_str()
        .unwrap();
    assert!(
        description.contains("unsigned 64-bit integer"),
        "{description}"
    );

    // Nested and in a list, written with proto or JSON names: reported in JSON names, every
    // field at fault at once.
    let reply = http
        .post(
            "/v1/orders",
            &headers,
            json!({"customerId": "ada", "currency": "EUR", "lines": [
                {"sku": "kettle", "quantity": 1, "unitPriceMinor": "100"},
                {"sku": "kettle", "quantity": "ten", "unit_price_minor": true},
            ]}),
        )
        .await;
    assert_invalid(&reply, "lines[1].quantity");
    assert_eq!(
        fields(&reply),
        ["lines[1].quantity", "lines[1].unitPriceMinor"]
    );
    let reply = http
        .post(
            "/v1/orders",
            &headers,
            json!({"customerId": "ada", "colour": "red"}),
        )
        .await;
    assert_invalid(&reply, "colour");
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_types_are_named_without_reaching_the_upstream() {
    let (probe, _gateway, http) = probe_and_gateway().await;
    for (body, field) in [
        (json!({"big": "ten"}), "big"),
        (json!({"tags": ["a", 5]}), "tags[1]"),
        (json!({"tags": "a"}), "tags"),
        (json!({"mood": "MOOD_ANGRY"}), "mood"),
        (json!({"target": {"name": 5}}), "target.name"),
    ] {
        let reply = http.post("/v1/echo/bob:shout", &[], body.clone()).await;
        assert_invalid(&reply, field);
        assert_eq!(fields(&reply), [field], "{body}");
    }
    let reply = http
        .post("/v1/echo/bob:shout", &[], json!({"mood": "MOOD_ANGRY"}))
        .await;
    assert!(reply.text.contains("MOOD_LOUD"), "{}", reply.text);
    // A body bound to one field is reported by the request's path to it.
    let reply = http
        .send(
            Method::PUT,
            "/v1/notes/n-1",
            &[],
            Some(json!({"title": 7}).to_string()),
        )
        .await;
    assert_invalid(&reply, "note.title");
    assert_eq!(probe.calls(), 0, "a refused request reached the upstream");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_command_without_idempotency_key_names_the_header_and_writes_nothing() {
    let stack = Stack::start().await;
    let http = &stack.http;
    let kettle = json!({"sku": "kettle", "name": "Kettle"});

    let refused = http.post("/v1/products", &[], kettle.clone()).await;
    assert_invalid(&refused, "Idempotency-Key");
    assert_eq!(fields(&refused), ["Idempotency-Key"]);
    let message = refused.json["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("Idempotency-Key") && message.contains("required"),
        "{message}"
    );
    let blank = [("idempotency-key", "  ")];
    let no_id = json!({"options": {}, "sku": "kettle", "name": "Kettle"});
    for (headers, body) in [(&blank[..], kettle), (&[], no_id)] {
        let reply = http.post("/v1/products", headers, body).await;
        assert_invalid(&reply, "Idempotency-Key");
    }

    // The gRPC spelling in the body still works; once the read model has seen that write, it
    // would also have seen the refused ones, had they been written.
    let toaster = http
        .post(
            "/v1/products",
            &[],
            json!({"options": {"commandId": key()}, "sku": "toaster", "name": "Toaster"}),
        )
        .await
        .expect(200);
    let position = toaster.header("x-position").unwrap().to_owned();
    http.get("/v1/products/toaster", &[("x-min-position", &position)])
        .await
        .expect(200);
    let kettle = http
        .get("/v1/products/kettle", &[("x-min-position", &position)])
        .await;
    assert_eq!(kettle.status.as_u16(), 404, "{}", kettle.text);
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_sub_paths_are_404_and_wrong_methods_on_a_resource_405() {
    let stack = Stack::start().await;
    let http = &stack.http;
    let user = key();
    for (method, path) in [
        (Method::POST, "/v1/orders/o-1:frobnicate".to_owned()),
        (Method::POST, "/v1/products/kettle:restock".to_owned()),
        (Method::POST, format!("/v1/users/{user}:promote")),
        (Method::PUT, "/v1/orders/o-1:cancel:now".to_owned()),
        (Method::POST, "/v1/orders/".to_owned()),
        (Method::GET, "/v1/orders/o-1/lines".to_owned()),
    ] {
        let reply = http
            .send(method.clone(), &path, &[], Some("{}".into()))
            .await;
        assert_eq!(
            reply.status.as_u16(),
            404,
            "{method} {path}: {}",
            reply.text
        );
        assert_eq!(reply.error_status(), "NOT_FOUND");
        assert!(reply.header("allow").is_none(), "{method} {path}");
    }
    for (method, path, allow) in [
        (Method::DELETE, "/v1/orders/o-1", "GET"),
        (Method::GET, "/v1/orders/o-1:cancel", "POST"),
        (Method::PATCH, "/v1/products", "GET, POST"),
    ] {
        let reply = http.send(method.clone(), path, &[], None).await;
        assert_eq!(
            reply.status.as_u16(),
            405,
            "{method} {path}: {}",
            reply.text
        );
        let mut methods: Vec<&str> = reply
            .header("allow")
            .unwrap_or_default()
            .split(", ")
            .collect();
        methods.sort_unstable();
        assert_eq!(methods.join(", "), allow, "{method} {path}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_id_is_400_naming_its_parameter_on_every_resource() {
    let stack = Stack::start().await;
    let http = &stack.http;
    let too_long = "x".repeat(129);
    let malformed = ["", "%FF", too_long.as_str()];
    let resources: [(Method, &str, Option<Value>, &str); 7] = [
        (Method::GET, "/v1/orders/{}", None, "orderId"),
        (
            Method::POST,
            "/v1/orders/{}:cancel",
            Some(json!({})),
            "orderId",
        ),
        (Method::GET, "/v1/products/{}", None, "sku"),
        (
            Method::POST,
            "/v1/products/{}:receive",
            Some(json!({"quantity": "1"})),
            "sku",
        ),
        (Method::GET, "/v1/users/{}", None, "userId"),
        (
            Method::POST,
            "/v1/users/{}:grantRole",
            Some(json!({"role": "orders:admin"})),
            "userId",
        ),
        (
            Method::POST,
            "/v1/admin/projections/{}:rebuild",
            Some(json!({})),
            "name",
        ),
    ];
    for id in malformed {
        for (method, template, body, parameter) in &resources {
            let path = template.replace("{}", id);
            let key = key();
            let reply = http
                .send(
                    method.clone(),
                    &path,
                    &[("idempotency-key", &key)],
                    body.as_ref().map(Value::to_string),
                )
                .await;
            assert_eq!(
                reply.status.as_u16(),
                400,
                "{method} {path}: {}",
                reply.text
            );
            assert!(
                fields(&reply).iter().any(|f| f == parameter),
                "{method} {path}: {parameter} not named in {}",
                reply.text
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn violations_the_server_names_in_json_are_passed_through_and_proto_names_converted() {
    let (_probe, _gateway, http) = probe_and_gateway().await;
    for (named, seen) in [
        ("detail.fieldName", "detail.fieldName"),
        ("detail.field_name", "detail.fieldName"),
        // Not a field of the request: passed on as the server wrote it.
        ("lines[0].unitPriceMinor", "lines[0].unitPriceMinor"),
    ] {
        let reply = http
            .get(&format!("/v1/fail/3?detail.fieldName={named}"), &[])
            .await;
        assert_eq!(reply.status.as_u16(), 400, "{}", reply.text);
        assert_eq!(fields(&reply), [seen]);
    }
}
