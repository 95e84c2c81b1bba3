//! The contracts document themselves and the OpenAPI document shows it: every service, RPC,
//! message, field, enum and enum value of `proto/causeway/` has a comment; every operation and
//! property of the served document has a description; the document names its server; and its
//! error responses are exactly the gateway's one list of answers (`mapping`), ALREADY_EXISTS
//! as 409 among them.

mod support;

use causeway_gateway::{
    mapping::{Applies, MAPPING, REFUSALS},
    openapi::{Comments, Located},
};
use prost_reflect::{DescriptorPool, EnumDescriptor, MessageDescriptor};
use serde_json::Value;
use support::Stack;

/// Records `name` as missing unless `element` has a comment.
fn check(comments: &Comments, element: &impl Located, name: &str, missing: &mut Vec<String>) {
    if comments.of(element).is_none() {
        missing.push(name.to_owned());
    }
}

/// What lacks a comment in `message` and the messages and enums nested in it.
fn undocumented_in(message: &MessageDescriptor, comments: &Comments, missing: &mut Vec<String>) {
    check(comments, message, message.full_name(), missing);
    for field in message.fields() {
        check(comments, &field, field.full_name(), missing);
    }
    for nested in message.child_messages().filter(|m| !m.is_map_entry()) {
        undocumented_in(&nested, comments, missing);
    }
    for enumeration in message.child_enums() {
        undocumented_enum(&enumeration, comments, missing);
    }
}

/// What lacks a comment in `enumeration` and its values.
fn undocumented_enum(enumeration: &EnumDescriptor, comments: &Comments, missing: &mut Vec<String>) {
    check(comments, enumeration, enumeration.full_name(), missing);
    for value in enumeration.values() {
        check(comments, &value, value.full_name(), missing);
    }
}

/// Every element of the `causeway.` packages without a comment.
fn undocumented(pool: &DescriptorPool) -> Vec<String> {
    let comments = Comments::new(pool);
    let mut missing = Vec::new();
    for file in pool
        .files()
        .filter(|f| f.package_name().starts_with("causeway."))
    {
        for service in file.services() {
            check(&comments, &service, service.full_name(), &mut missing);
            for method in service.methods() {
                check(&comments, &method, method.full_name(), &mut missing);
            }
        }
        for message in file.messages() {
            undocumented_in(&message, &comments, &mut missing);
        }
        for enumeration in file.enums() {
            undocumented_enum(&enumeration, &comments, &mut missing);
        }
    }
    missing
}

#[test]
fn every_element_of_the_contracts_has_a_comment() {
    let pool = causeway_gateway::contracts().unwrap();
    assert!(
        pool.files()
            .any(|f| f.package_name() == "causeway.orders.v1"),
        "the contracts are in the pool"
    );
    let missing = undocumented(&pool);
    assert!(missing.is_empty(), "no comment on: {missing:#?}");
    // The check itself finds what is missing.
    let mut bare = DescriptorPool::new();
    bare.add_file_descriptor_protos(pool.file_descriptor_protos().cloned().map(|mut file| {
        file.source_code_info = None;
        file
    }))
    .unwrap();
    let missing = undocumented(&bare);
    assert!(
        missing
            .iter()
            .any(|m| m == "causeway.orders.v1.ORDER_STATUS_SHIPPED"),
        "{missing:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_document_describes_every_operation_and_property_and_names_its_server() {
    let stack = Stack::start().await;
    let doc = stack.http.get("/openapi.json", &[]).await.expect(200).json;
    assert_eq!(doc["servers"][0]["url"], "/", "{}", doc["servers"]);

    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            operations += 1;
            let description = operation["description"].as_str().unwrap_or_default();
            assert!(
                !description.is_empty() || path == "/healthz",
                "{method} {path} has no description"
            );
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                assert!(
                    parameter["description"].is_string(),
                    "{method} {path}: parameter {} has no description",
                    parameter["name"]
                );
            }
        }
    }
    assert!(operations >= 22, "{operations} operations");
    let place = &doc["paths"]["/v1/orders"]["post"]["description"];
    assert!(
        place.as_str().unwrap().contains("FAILED_PRECONDITION"),
        "{place}"
    );

    for (name, schema) in doc["components"]["schemas"].as_object().unwrap() {
        if !name.starts_with("causeway.") {
            continue;
        }
        assert!(
            schema["description"].is_string(),
            "{name} has no description"
        );
        for (property, value) in schema["properties"].as_object().unwrap() {
            assert!(
                value["description"].is_string(),
                "{name}.{property} has no description"
            );
        }
    }
    let status = &doc["components"]["schemas"]["causeway.orders.v1.Order"]["properties"]["status"]
        ["description"];
    assert!(
        status.as_str().unwrap().contains("ORDER_STATUS_SHIPPED: "),
        "enum values are described: {status}"
    );
    let tags = doc["tags"].as_array().unwrap();
    assert!(
        tags.iter().any(
            |t| t["name"] == "causeway.orders.v1.OrderCommands" && t["description"].is_string()
        ),
        "{tags:?}"
    );
}

/// The error responses of one operation, by HTTP status.
fn errors(operation: &Value) -> Vec<(u16, String)> {
    operation["responses"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(status, _)| status.as_str() != "200")
        .map(|(status, response)| {
            let status = status.parse().unwrap_or_else(|_| panic!("status {status}"));
            let description = response["description"].as_str().unwrap().to_owned();
            (status, description)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_documented_errors_are_the_gateways_one_mapping() {
    let stack = Stack::start().await;
    let doc = stack.http.get("/openapi.json", &[]).await.expect(200).json;
    for (path, method, body, if_match) in [
        ("/v1/orders", "post", true, true),
        ("/v1/orders/{order_id}", "get", false, false),
        ("/v1/admin/projections/{name}:rebuild", "post", true, false),
    ] {
        let operation = &doc["paths"][path][method];
        let documented = errors(operation);
        let mut expected: Vec<u16> = MAPPING
            .iter()
            .filter(|row| row.http != 200)
            .map(|row| row.http)
            .chain(REFUSALS.iter().filter_map(|r| match r.applies {
                Applies::WithBody if body => Some(r.http),
                Applies::WithExpectedRevision if if_match => Some(r.http),
                Applies::Always => Some(r.http),
                _ => None,
            }))
            .collect();
        expected.sort_unstable();
        expected.dedup();
        let statuses: Vec<u16> = documented.iter().map(|(s, _)| *s).collect();
        assert_eq!(statuses, expected, "{method} {path}");
        for row in MAPPING.iter().filter(|row| row.http != 200) {
            let (_, description) = documented.iter().find(|(s, _)| *s == row.http).unwrap();
            assert!(
                description.contains(row.name) && description.contains(row.meaning),
                "{method} {path}: {} not in {description}",
                row.name
            );
        }
    }
    let (_, conflict) = errors(&doc["paths"]["/v1/orders"]["post"])
        .into_iter()
        .find(|(status, _)| *status == 409)
        .unwrap();
    assert!(conflict.contains("ALREADY_EXISTS"), "{conflict}");
    assert_eq!(
        causeway_gateway::error::http_status(tonic::Code::AlreadyExists).as_u16(),
        409
    );
}
