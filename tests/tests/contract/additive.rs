//! Additions break no caller and no stored payload: the gate lets them through and lists them.
//! Comments are not part of the contract at all.

use causeway_tests::contract::additions;

use crate::{
    Checkout, ORDER_EVENTS, ORDERS,
    breaking::{with_permission, without_permission},
    breaks_after,
};

/// A new file with a new package, like vendored error protos (named so as not to collide with
/// any file `proto/` may hold).
const NEW_FILE: &str = "syntax = \"proto3\";\npackage causeway.added.v1;\n\
    import \"google/protobuf/any.proto\";\n\
    message Problem { int32 code = 1; string message = 2; repeated google.protobuf.Any details = 3; }\n";

fn add_everything(c: &Checkout) {
    c.write("proto/causeway/added/v1/problem.proto", NEW_FILE);
    let order_fields = "uint64 revision = 7;";
    c.edit(
        ORDERS,
        "message Order {",
        order_fields,
        &format!("{order_fields}\n  string note = 10;\n  map<string, string> labels = 11;"),
    );
    c.edit(
        ORDERS,
        "enum OrderStatus {",
        "ORDER_STATUS_SHIPPED = 5;",
        "ORDER_STATUS_SHIPPED = 5;\n  ORDER_STATUS_RETURNED = 6;",
    );
    let queries = "service OrderQueries {";
    let history = "rpc GetOrderTimeline(GetOrderRequest) returns (ListOrdersResponse) {\n    \
                   option (google.api.http) = { get: \"/v1/orders/{order_id}/timeline\" };\n  }";
    c.edit(ORDERS, "", queries, &format!("{queries}\n  {history}"));
    let get = "rpc GetOrder(GetOrderRequest) returns (GetOrderResponse) {";
    let options = "option idempotency_level = NO_SIDE_EFFECTS;\n    option deprecated = true;";
    c.edit(ORDERS, "", get, &format!("{get}\n    {options}"));
    c.write(
        "proto/causeway/orders/v1/returns.proto",
        "syntax = \"proto3\";\npackage causeway.orders.v1;\n\
         import \"causeway/orders/v1/orders.proto\";\n\
         service OrderReturns { rpc GetOrder(GetOrderRequest) returns (GetOrderResponse); }\n\
         message OrderReturned { string order_id = 1; }\n",
    );
    c.edit(
        ORDER_EVENTS,
        "message OrderPlaced {",
        "bool awaits_fulfilment = 6;",
        "bool awaits_fulfilment = 6;\n  string channel = 7;",
    );
}

#[test]
fn added_files_messages_fields_values_services_rpcs_and_options_pass_and_are_listed() {
    let copy = Checkout::fresh();
    let baseline = copy.compile();
    add_everything(&copy);
    let current = copy.compile();
    let breaking = causeway_tests::contract::breaking_changes(&baseline.pool, &current.pool);
    assert!(breaking.is_empty(), "additions refused: {breaking:#?}");
    let listed: Vec<String> = additions(&baseline.pool, &current.pool)
        .iter()
        .map(|a| format!("{}: {a}", a.file))
        .collect();
    for wanted in [
        "causeway/added/v1/problem.proto: file",
        "causeway/added/v1/problem.proto: message causeway.added.v1.Problem",
        "causeway/orders/v1/orders.proto: field 10 causeway.orders.v1.Order.note",
        "causeway/orders/v1/orders.proto: field 11 causeway.orders.v1.Order.labels",
        "causeway/orders/v1/orders.proto: enum value 6 causeway.orders.v1.ORDER_STATUS_RETURNED",
        "causeway/orders/v1/orders.proto: RPC causeway.orders.v1.OrderQueries.GetOrderTimeline",
        "causeway/orders/v1/orders.proto: option idempotencyLevel on causeway.orders.v1.OrderQueries.GetOrder",
        "causeway/orders/v1/returns.proto: service causeway.orders.v1.OrderReturns",
        "causeway/orders/v1/returns.proto: message causeway.orders.v1.OrderReturned",
        "causeway/orders/v1/events.proto: field 7 causeway.orders.v1.OrderPlaced.channel",
    ] {
        assert!(
            listed.iter().any(|l| l == wanted),
            "{wanted} not listed in {listed:#?}"
        );
    }
}

#[test]
fn a_permission_on_an_rpc_that_had_none_passes() {
    let findings = breaks_after(without_permission, with_permission);
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn comments_change_nothing_not_even_the_baseline_image() {
    let copy = Checkout::fresh();
    let baseline = copy.compile();
    for file in [ORDERS, ORDER_EVENTS, "causeway/common/v1/common.proto"] {
        let text = copy.read(&format!("proto/{file}"));
        let commented = text
            .lines()
            .map(|line| match line.trim_start() {
                l if l.starts_with("message ") || l.starts_with("rpc ") => {
                    format!("// Rewritten doc comment.\n{line} // trailing note")
                }
                _ => line.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("\n");
        copy.write(&format!("proto/{file}"), &commented);
    }
    let current = copy.compile();
    assert_eq!(baseline.encoded, current.encoded);
}
