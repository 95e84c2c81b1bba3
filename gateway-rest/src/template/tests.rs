use super::*;

/// The decoded values a template binds from a path.
fn values(template: &str, path: &str) -> Option<Vec<String>> {
    PathTemplate::parse(template)
        .unwrap()
        .matches(&RequestPath::parse(path))
        .map(|raw| raw.iter().map(|v| decode(v).unwrap()).collect())
}

#[test]
fn variables_bind_one_decoded_segment() {
    assert_eq!(
        values("/v1/orders/{order_id}", "/v1/orders/a%2Fb%20c"),
        Some(vec!["a/b c".to_owned()])
    );
    assert_eq!(values("/v1/orders/{order_id}", "/v1/orders/a/b"), None);
    assert_eq!(values("/v1/orders/{order_id}", "/v1/orders"), None);
}

#[test]
fn verbs_match_the_end_of_the_last_segment_only() {
    let t = "/v1/orders/{order_id}:cancel";
    assert_eq!(values(t, "/v1/orders/o-1:cancel"), Some(vec!["o-1".into()]));
    assert_eq!(values(t, "/v1/orders/a:b:cancel"), Some(vec!["a:b".into()]));
    assert_eq!(values(t, "/v1/orders/o-1:ship"), None);
    assert_eq!(values(t, "/v1/orders/o-1"), None);
    assert_eq!(
        values("/v1/users:byEmail", "/v1/users:byEmail"),
        Some(vec![])
    );
    assert_eq!(values("/v1/users:byEmail", "/v1/users"), None);
}

#[test]
fn nested_fields_and_multi_segment_patterns_bind() {
    let t = PathTemplate::parse("/v1/{parent.name=shelves/*}/books/{book.id}").unwrap();
    assert_eq!(t.variables()[0].field_path, "parent.name");
    assert_eq!(
        t.matches(&RequestPath::parse("/v1/shelves/s1/books/b2")),
        Some(vec!["shelves/s1".to_owned(), "b2".to_owned()])
    );
    assert_eq!(t.openapi_path(), "/v1/{parent.name}/books/{book.id}");
    assert_eq!(
        values("/v1/files/{path=**}", "/v1/files/a/b/c"),
        Some(vec!["a/b/c".into()])
    );
}

#[test]
fn broken_templates_are_refused_with_a_reason() {
    for bad in [
        "v1/orders",
        "/v1/{order_id",
        "/v1/{}",
        "/v1/**/x",
        "/v1/orders:",
        "/v1/{a}/{a}",
        "/v1/a b",
    ] {
        assert!(PathTemplate::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn literal_routes_outrank_variables() {
    let literal = PathTemplate::parse("/v1/users:byEmail").unwrap();
    let variable = PathTemplate::parse("/v1/users/{user_id}").unwrap();
    assert!(literal.rank() > variable.rank());
}
