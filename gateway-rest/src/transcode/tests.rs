use http::{HeaderValue, Method, header};

use super::{headers::parse_if_match, *};
use crate::routes::{Lookup, RouteTable};

fn with_route<T>(method: Method, path: &str, f: impl FnOnce(&Route, Vec<String>) -> T) -> T {
    let table = RouteTable::from_pool(&crate::contracts().unwrap()).unwrap();
    match table.find(&method, path) {
        Lookup::Found(route, values) => f(route, values),
        other => panic!("{other:?}"),
    }
}

fn json(message: &DynamicMessage) -> serde_json::Value {
    serde_json::to_value(message).unwrap()
}

#[test]
fn path_body_and_headers_fill_one_message() {
    with_route(Method::POST, "/v1/orders/o-1:cancel", |route, values| {
        let mut headers = HeaderMap::new();
        headers.insert(IDEMPOTENCY_KEY, HeaderValue::from_static("k-1"));
        headers.insert(header::IF_MATCH, HeaderValue::from_static("\"3\""));
        let body = Bytes::from_static(br#"{"reason":"changed my mind"}"#);
        let out = request(route, &values, None, &headers, &body).unwrap();
        assert!(out.conditional);
        assert_eq!(
            json(&out.message),
            serde_json::json!({
                "options": {"commandId": "k-1", "expectedRevision": "3"},
                "orderId": "o-1",
                "reason": "changed my mind"
            })
        );
    });
}

#[test]
fn query_parameters_take_proto_or_json_names_and_enum_names() {
    with_route(Method::GET, "/v1/orders", |route, values| {
        let query =
            "customer_id=ada&status=ORDER_STATUS_PLACED&pageSize=5&consistency.minPosition=9";
        let out = request(
            route,
            &values,
            Some(query),
            &HeaderMap::new(),
            &Bytes::new(),
        )
        .unwrap();
        assert_eq!(
            json(&out.message),
            serde_json::json!({
                "customerId": "ada",
                "status": "ORDER_STATUS_PLACED",
                "pageSize": 5,
                "consistency": {"minPosition": "9"}
            })
        );
    });
}

#[test]
fn refusals_name_the_parameter() {
    with_route(Method::GET, "/v1/orders", |route, values| {
        let fail = |query: &str| {
            request(
                route,
                &values,
                Some(query),
                &HeaderMap::new(),
                &Bytes::new(),
            )
            .unwrap_err()
            .message
        };
        assert!(fail("colour=red").contains("colour"));
        assert!(fail("status=SHIPPED_YESTERDAY").contains("ORDER_STATUS_PLACED"));
        assert!(fail("pageSize=-1").contains("pageSize"));
        assert!(fail("customerId=a&customer_id=b").contains("more than once"));
    });
    with_route(Method::POST, "/v1/orders/o-1:cancel", |route, values| {
        let fail = |body: &'static [u8]| {
            request(
                route,
                &values,
                None,
                &HeaderMap::new(),
                &Bytes::from_static(body),
            )
            .unwrap_err()
            .message
        };
        assert!(fail(br#"{"orderId":"o-2"}"#).contains("path"));
        assert!(fail(br#"{"reason":1}"#).contains("invalid JSON"));
        assert!(fail(br#"{"why":"x"}"#).contains("why"));
        assert!(fail(br#"{"reason":"x"} {}"#).contains("invalid JSON"));
    });
}

#[test]
fn if_match_takes_the_etag_form_and_refuses_weak_tags() {
    assert_eq!(parse_if_match("\"12\"").unwrap(), Some(12));
    assert_eq!(parse_if_match("12").unwrap(), Some(12));
    assert_eq!(parse_if_match("*").unwrap(), None);
    assert!(parse_if_match("W/\"12\"").is_err());
    assert!(parse_if_match("\"1\", \"2\"").is_err());
}
