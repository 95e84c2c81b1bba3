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
fn unknown_verbs_and_empty_ids_are_unknown_paths_not_other_methods() {
    let table = table();
    let outcome = |method: Method, path: &str| match table.find(&method, path) {
        Lookup::Found(route, values) => format!("{} {values:?}", route.rpc.name()),
        Lookup::MethodNotAllowed(allowed) => format!("405 {allowed:?}"),
        Lookup::NotFound => "404".to_owned(),
    };
    // Not a method of any resource: the GET template's variable only swallowed the verb.
    assert_eq!(outcome(Method::POST, "/v1/orders/o-1:frobnicate"), "404");
    assert_eq!(outcome(Method::POST, "/v1/products/kettle:restock"), "404");
    assert_eq!(outcome(Method::POST, "/v1/orders/"), "404");
    // The resource exists, for other methods.
    assert_eq!(outcome(Method::DELETE, "/v1/orders/o-1"), "405 [GET]");
    assert_eq!(outcome(Method::GET, "/v1/orders/o-1:cancel"), "405 [POST]");
    // The request's own method still serves ids with a colon or an empty id (refused by name
    // when transcoding).
    assert_eq!(
        outcome(Method::GET, "/v1/orders/o-1:frobnicate"),
        r#"GetOrder ["o-1:frobnicate"]"#
    );
    assert_eq!(
        outcome(Method::GET, "/v1/orders/o-1%3Acancel"),
        r#"GetOrder ["o-1%3Acancel"]"#
    );
    assert_eq!(outcome(Method::GET, "/v1/orders/"), r#"GetOrder [""]"#);
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
