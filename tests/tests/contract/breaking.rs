//! Each kind of breaking change, made to a copy of `proto/`, is named with its file, the element
//! and what changed.

use causeway_tests::contract::Change;

use super::{Checkout, ORDER_EVENTS, ORDERS, assert_named, breaks, breaks_after};

const REJECT: &str = "message RejectOrderRequest {";
const REJECT_MSG: &str = "causeway.orders.v1.RejectOrderRequest";
const REASON: &str = "string reason = 3;";
const STATUS: &str = "enum OrderStatus {";
const STATUS_ENUM: &str = "causeway.orders.v1.OrderStatus";

fn in_reject(to: &str) -> Vec<causeway_tests::contract::Finding> {
    breaks(|c| {
        c.edit(ORDERS, REJECT, REASON, to);
    })
}

#[test]
fn a_removed_field_is_named_and_so_is_a_missing_reservation() {
    let change = |reserved| Change::FieldRemoved {
        number: 3,
        name: "reason".into(),
        reserved,
    };
    assert_named(&in_reject(""), ORDERS, REJECT_MSG, change(false));
    let reserved = in_reject("reserved 3; reserved \"reason\";");
    assert_named(&reserved, ORDERS, REJECT_MSG, change(true));
}

#[test]
fn a_renamed_or_renumbered_field_is_named() {
    let renamed = in_reject("string why = 3;");
    let change = Change::FieldRenamed {
        number: 3,
        from: "reason".into(),
        to: "why".into(),
    };
    assert_named(&renamed, ORDERS, REJECT_MSG, change);
    let renumbered = in_reject("string reason = 4;");
    let change = Change::FieldRenumbered {
        name: "reason".into(),
        from: 3,
        to: 4,
    };
    assert_named(&renumbered, ORDERS, REJECT_MSG, change);
    let json = in_reject("string reason = 3 [json_name = \"why\"];");
    let change = Change::FieldJsonNameChanged {
        field: "reason".into(),
        from: "reason".into(),
        to: "why".into(),
    };
    assert_named(&json, ORDERS, REJECT_MSG, change);
}

#[test]
fn a_changed_field_type_is_named_for_scalars_messages_and_maps() {
    let scalar = breaks(|c| {
        c.edit(
            ORDERS,
            "message OrderLine {",
            "uint32 quantity = 2;",
            "uint64 quantity = 2;",
        );
    });
    let change = Change::FieldTypeChanged {
        field: "quantity".into(),
        from: "uint32".into(),
        to: "uint64".into(),
    };
    assert_named(&scalar, ORDERS, "causeway.orders.v1.OrderLine", change);
    let message = breaks(|c| {
        c.edit(
            ORDERS,
            "message PlaceOrderResponse {",
            "causeway.common.v1.CommandAck ack = 2;",
            "causeway.common.v1.Consistency ack = 2;",
        );
    });
    let change = Change::FieldTypeChanged {
        field: "ack".into(),
        from: "causeway.common.v1.CommandAck".into(),
        to: "causeway.common.v1.Consistency".into(),
    };
    assert_named(
        &message,
        ORDERS,
        "causeway.orders.v1.PlaceOrderResponse",
        change,
    );
    let map = breaks_after(
        |c| {
            c.edit(
                ORDERS,
                REJECT,
                REASON,
                "string reason = 3; map<string, int64> tags = 4;",
            );
        },
        |c| {
            c.edit(ORDERS, REJECT, "map<string, int64>", "map<string, string>");
        },
    );
    let change = Change::FieldTypeChanged {
        field: "tags".into(),
        from: "map<string, int64>".into(),
        to: "map<string, string>".into(),
    };
    assert_named(&map, ORDERS, REJECT_MSG, change);
}

#[test]
fn a_changed_label_or_oneof_is_named() {
    let label = |to: &'static str| Change::FieldLabelChanged {
        field: "reason".into(),
        from: "singular",
        to,
    };
    let repeated = in_reject("repeated string reason = 3;");
    assert_named(&repeated, ORDERS, REJECT_MSG, label("repeated"));
    let optional = in_reject("optional string reason = 3;");
    assert_named(&optional, ORDERS, REJECT_MSG, label("optional"));
    let oneof = in_reject("oneof why { string reason = 3; }");
    let change = Change::FieldOneofChanged {
        field: "reason".into(),
        from: None,
        to: Some("why".into()),
    };
    assert_named(&oneof, ORDERS, REJECT_MSG, change);
}

#[test]
fn reserved_numbers_and_names_that_are_reused_or_dropped_are_named() {
    let reserve = |c: &Checkout| {
        let reservations = "string reason = 3; reserved 9, 10 to 12; reserved \"legacy\";";
        c.edit(ORDERS, REJECT, REASON, reservations);
        let reservations =
            "ORDER_STATUS_UNSPECIFIED = 0; reserved 9; reserved \"ORDER_STATUS_LOST\";";
        c.edit(
            ORDERS,
            STATUS,
            "ORDER_STATUS_UNSPECIFIED = 0;",
            reservations,
        );
    };
    let findings = breaks_after(reserve, |c| {
        c.edit(
            ORDERS,
            REJECT,
            "reserved 9, 10 to 12; reserved \"legacy\";",
            "string legacy = 9;",
        );
        c.edit(
            ORDERS,
            STATUS,
            "reserved 9; reserved \"ORDER_STATUS_LOST\";",
            "",
        );
    });
    for (element, change) in [
        (
            REJECT_MSG,
            Change::ReservedNumberReused {
                number: 9,
                by: "legacy".into(),
            },
        ),
        (
            REJECT_MSG,
            Change::ReservedNumbersDropped { from: 10, to: 12 },
        ),
        (
            REJECT_MSG,
            Change::ReservedNameReused {
                name: "legacy".into(),
            },
        ),
        (
            STATUS_ENUM,
            Change::ReservedNumbersDropped { from: 9, to: 9 },
        ),
        (
            STATUS_ENUM,
            Change::ReservedNameDropped {
                name: "ORDER_STATUS_LOST".into(),
            },
        ),
    ] {
        assert_named(&findings, ORDERS, element, change);
    }
}

#[test]
fn a_removed_renamed_or_moved_message_is_named() {
    const SHIPPED: &str = "causeway.orders.v1.OrderShipped";
    let removed = breaks(|c| {
        c.remove_block(ORDER_EVENTS, "", "message OrderShipped {");
    });
    assert_named(&removed, ORDER_EVENTS, SHIPPED, Change::MessageRemoved);
    let renamed = breaks(|c| {
        c.edit(
            ORDER_EVENTS,
            "",
            "message OrderShipped {",
            "message OrderDispatched {",
        );
    });
    let change = Change::MessageRenamed {
        to: "causeway.orders.v1.OrderDispatched".into(),
    };
    assert_named(&renamed, ORDER_EVENTS, SHIPPED, change);
    let moved = breaks(|c| {
        c.remove_block(ORDER_EVENTS, "", "message OrderShipped {");
        c.write(
            "proto/causeway/orders/v1/shipping.proto",
            "syntax = \"proto3\";\npackage causeway.orders.v1;\n\
             message OrderShipped { string order_id = 1; }\n",
        );
    });
    let change = Change::MessageMoved {
        to_file: "causeway/orders/v1/shipping.proto".into(),
    };
    assert_named(&moved, ORDER_EVENTS, SHIPPED, change);
}

#[test]
fn a_removed_or_renamed_enum_is_named() {
    let renamed = breaks(|c| {
        let text = c.read(&format!("proto/{ORDERS}"));
        c.write(
            &format!("proto/{ORDERS}"),
            &text.replace("OrderStatus", "OrderState"),
        );
    });
    let change = Change::EnumRenamed {
        to: "causeway.orders.v1.OrderState".into(),
    };
    assert_named(&renamed, ORDERS, STATUS_ENUM, change);
    let change = Change::FieldTypeChanged {
        field: "status".into(),
        from: STATUS_ENUM.into(),
        to: "causeway.orders.v1.OrderState".into(),
    };
    assert_named(&renamed, ORDERS, "causeway.orders.v1.Order", change);
    let removed = breaks_after(
        |c| {
            let priority = "enum Priority { PRIORITY_UNSPECIFIED = 0; PRIORITY_HIGH = 1; }\n\n";
            c.edit(ORDERS, "", STATUS, &format!("{priority}{STATUS}"));
        },
        |c| {
            c.remove_block(ORDERS, "", "enum Priority {");
        },
    );
    let priority = "causeway.orders.v1.Priority";
    assert_named(&removed, ORDERS, priority, Change::EnumRemoved);
}

#[test]
fn a_removed_renamed_or_renumbered_enum_value_is_named() {
    let shipped = "ORDER_STATUS_SHIPPED = 5;";
    let value = |to: &str| {
        breaks(|c| {
            c.edit(ORDERS, STATUS, shipped, to);
        })
    };
    let change = Change::EnumValueRemoved {
        number: 5,
        name: "ORDER_STATUS_SHIPPED".into(),
        reserved: false,
    };
    assert_named(&value(""), ORDERS, STATUS_ENUM, change);
    let change = Change::EnumValueRenamed {
        number: 5,
        from: "ORDER_STATUS_SHIPPED".into(),
        to: "ORDER_STATUS_DISPATCHED".into(),
    };
    assert_named(
        &value("ORDER_STATUS_DISPATCHED = 5;"),
        ORDERS,
        STATUS_ENUM,
        change,
    );
    let change = Change::EnumValueRenumbered {
        name: "ORDER_STATUS_SHIPPED".into(),
        from: 5,
        to: 6,
    };
    assert_named(
        &value("ORDER_STATUS_SHIPPED = 6;"),
        ORDERS,
        STATUS_ENUM,
        change,
    );
}

#[test]
fn a_removed_or_renamed_service_is_named() {
    const QUERIES: &str = "causeway.orders.v1.OrderQueries";
    let removed = breaks(|c| {
        c.remove_block(ORDERS, "", "service OrderQueries {");
    });
    assert_named(&removed, ORDERS, QUERIES, Change::ServiceRemoved);
    let renamed = breaks(|c| {
        c.edit(ORDERS, "", "service OrderQueries {", "service OrderReads {");
    });
    let change = Change::ServiceRenamed {
        to: "OrderReads".into(),
    };
    assert_named(&renamed, ORDERS, QUERIES, change);
}

const SHIP: &str = "rpc ShipOrder(";
const SHIP_RPC: &str = "causeway.orders.v1.OrderCommands.ShipOrder";

#[test]
fn a_removed_or_renamed_rpc_is_named() {
    let removed = breaks(|c| {
        c.remove_block(ORDERS, "", SHIP);
    });
    assert_named(&removed, ORDERS, SHIP_RPC, Change::RpcRemoved);
    let renamed = breaks(|c| {
        c.edit(ORDERS, "", SHIP, "rpc DispatchOrder(");
    });
    let change = Change::RpcRenamed {
        to: "DispatchOrder".into(),
    };
    assert_named(&renamed, ORDERS, SHIP_RPC, change);
}

#[test]
fn changed_request_response_and_streaming_are_named() {
    let rpc = "rpc ConfirmOrder(";
    let confirm = "causeway.orders.v1.OrderCommands.ConfirmOrder";
    let types = breaks(|c| {
        c.edit(ORDERS, rpc, "(ConfirmOrderRequest)", "(ShipOrderRequest)");
        c.edit(ORDERS, rpc, "(ConfirmOrderResponse)", "(ShipOrderResponse)");
    });
    let change = Change::RequestTypeChanged {
        from: "causeway.orders.v1.ConfirmOrderRequest".into(),
        to: "causeway.orders.v1.ShipOrderRequest".into(),
    };
    assert_named(&types, ORDERS, confirm, change);
    let change = Change::ResponseTypeChanged {
        from: "causeway.orders.v1.ConfirmOrderResponse".into(),
        to: "causeway.orders.v1.ShipOrderResponse".into(),
    };
    assert_named(&types, ORDERS, confirm, change);
    let streaming = breaks(|c| {
        c.edit(
            ORDERS,
            rpc,
            "(ConfirmOrderResponse)",
            "(stream ConfirmOrderResponse)",
        );
    });
    let change = Change::StreamingChanged {
        side: "response",
        now: true,
    };
    assert_named(&streaming, ORDERS, confirm, change);
}

#[test]
fn a_changed_or_removed_http_route_is_named() {
    let path = "\"/v1/orders/{order_id}:ship\"";
    let was = "POST /v1/orders/{order_id}:ship (body *)";
    let moved = breaks(|c| {
        c.edit(ORDERS, SHIP, path, "\"/v1/orders/{order_id}:dispatch\"");
    });
    let change = Change::HttpRouteChanged {
        from: was.into(),
        to: "POST /v1/orders/{order_id}:dispatch (body *)".into(),
    };
    assert_named(&moved, ORDERS, SHIP_RPC, change);
    let verb = breaks(|c| {
        c.edit(ORDERS, SHIP, "post:", "put:");
    });
    let change = Change::HttpRouteChanged {
        from: was.into(),
        to: "PUT /v1/orders/{order_id}:ship (body *)".into(),
    };
    assert_named(&verb, ORDERS, SHIP_RPC, change);
    let removed = breaks(|c| {
        c.remove_block(ORDERS, SHIP, "option (google.api.http)");
    });
    let change = Change::HttpRouteRemoved { route: was.into() };
    assert_named(&removed, ORDERS, SHIP_RPC, change);
}

/// `PlaceOrder`'s RPC line, the anchor of its options.
const PLACE_RPC: &str = "rpc PlaceOrder(PlaceOrderRequest) returns (PlaceOrderResponse) {";
/// The access rule every RPC declares, as `PlaceOrder` declares it.
const PLACE_ROLES: &str = "roles: [\"customer\", \"orders.staff\", \"admin\"]";

/// `PlaceOrder` without its access rule, the state an RPC was in before it declared one.
pub fn without_permission(c: &Checkout) {
    c.remove_block(ORDERS, PLACE_RPC, "option (causeway.auth.v1.access)");
}

/// `PlaceOrder` with its access rule back.
pub fn with_permission(c: &Checkout) {
    let option = format!("option (causeway.auth.v1.access) = {{ {PLACE_ROLES} }};");
    c.edit(ORDERS, "", PLACE_RPC, &format!("{PLACE_RPC}\n    {option}"));
}

#[test]
fn a_changed_or_removed_method_option_such_as_a_permission_is_named() {
    const PLACE: &str = "causeway.orders.v1.OrderCommands.PlaceOrder";
    let option = "(causeway.auth.v1.access)";
    let declared = r#"{"roles":["customer","orders.staff","admin"]}"#;
    let changed = breaks_after(
        |_| {},
        |c| {
            c.edit(ORDERS, PLACE_RPC, "\"customer\", ", "");
        },
    );
    let change = Change::MethodOptionChanged {
        option: option.into(),
        from: declared.into(),
        to: r#"{"roles":["orders.staff","admin"]}"#.into(),
    };
    assert_named(&changed, ORDERS, PLACE, change);
    let removed = breaks_after(|_| {}, without_permission);
    let change = Change::MethodOptionRemoved {
        option: option.into(),
        value: declared.into(),
    };
    assert_named(&removed, ORDERS, PLACE, change);
    let standard = breaks_after(
        |c| {
            let rpc = "rpc GetOrder(GetOrderRequest) returns (GetOrderResponse) {";
            let option = "option idempotency_level = NO_SIDE_EFFECTS;";
            c.edit(ORDERS, "", rpc, &format!("{rpc}\n    {option}"));
        },
        |c| {
            c.edit(
                ORDERS,
                "",
                "option idempotency_level = NO_SIDE_EFFECTS;",
                "",
            );
        },
    );
    let change = Change::MethodOptionRemoved {
        option: "idempotencyLevel".into(),
        value: "\"NO_SIDE_EFFECTS\"".into(),
    };
    assert_named(
        &standard,
        ORDERS,
        "causeway.orders.v1.OrderQueries.GetOrder",
        change,
    );
}

#[test]
fn a_removed_or_renumbered_option_definition_is_named() {
    const ACCESS: &str = "causeway/auth/v1/access.proto";
    let renumbered = breaks_after(
        |_| {},
        |c| {
            c.edit(ACCESS, "extend", "50001", "50002");
        },
    );
    let change = Change::ExtensionChanged {
        what: "number",
        from: "50001".into(),
        to: "50002".into(),
    };
    assert_named(&renumbered, ACCESS, "causeway.auth.v1.access", change);
    // Removing the definition means removing every use of it too, or nothing compiles.
    let removed = breaks_after(
        |_| {},
        |c| {
            c.remove_block(ACCESS, "", "extend google.protobuf.MethodOptions {");
            for file in c.proto_files() {
                while c
                    .read(&format!("proto/{file}"))
                    .contains("option (causeway.auth.v1.access)")
                {
                    c.remove_block(&file, "", "option (causeway.auth.v1.access)");
                }
            }
        },
    );
    let access = "causeway.auth.v1.access";
    assert_named(&removed, ACCESS, access, Change::ExtensionRemoved);
}

#[test]
fn a_removed_file_or_changed_package_is_named() {
    const ADMIN: &str = "causeway/admin/v1/admin.proto";
    let removed = breaks(|c| std::fs::remove_file(c.proto(ADMIN)).unwrap());
    assert_named(&removed, ADMIN, ADMIN, Change::FileRemoved);
    let service = "causeway.admin.v1.ProjectionAdmin";
    assert_named(&removed, ADMIN, service, Change::ServiceRemoved);
    let moved = breaks(|c| {
        c.edit(
            ADMIN,
            "",
            "package causeway.admin.v1;",
            "package causeway.admin.v2;",
        );
    });
    let change = Change::PackageChanged {
        from: "causeway.admin.v1".into(),
        to: "causeway.admin.v2".into(),
    };
    assert_named(&moved, ADMIN, ADMIN, change);
}
