use super::*;

fn doc() -> Value {
    let pool = crate::contracts().unwrap();
    document(&RouteTable::from_pool(&pool).unwrap(), &pool)
}

#[test]
fn schemas_follow_proto3_json() {
    let doc = doc();
    let schemas = &doc["components"]["schemas"];
    let order = &schemas["causeway.orders.v1.Order"]["properties"];
    assert_eq!(order["totalMinor"]["type"], "string");
    assert_eq!(order["revision"]["format"], "uint64");
    assert_eq!(order["status"]["enum"][1], "ORDER_STATUS_PLACED");
    assert_eq!(order["lines"]["type"], "array");
    assert_eq!(
        schemas["causeway.orders.v1.OrderLine"]["properties"]["quantity"]["type"],
        "integer"
    );
    assert!(
        schemas["causeway.orders.v1.OrderLine"]["properties"]["unitPriceMinor"]["description"]
            .as_str()
            .unwrap()
            .contains("minor unit")
    );
}

#[test]
fn path_bound_fields_leave_the_body_and_queries_flatten() {
    let doc = doc();
    let cancel = &doc["paths"]["/v1/orders/{order_id}:cancel"]["post"];
    let body = &cancel["requestBody"]["content"]["application/json"]["schema"];
    assert!(body["properties"].get("orderId").is_none());
    assert!(body["properties"].get("reason").is_some());
    let list = &doc["paths"]["/v1/orders"]["get"]["parameters"];
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"customerId"));
    assert!(names.contains(&"consistency.minPosition"));
    assert!(names.contains(&"X-Min-Position"));
}
