//! Cases on filtering and sorting.

use std::sync::Arc;

use serde_json::{Value, json};

use super::{ids, unique_name, upsert, write};
use crate::readstore::{Filter, IndexSpec, Query, ReadStore, SortKey};

/// Six products with fields of deliberately mixed kinds (`price` 7 and "7", `active` true, 1 and
/// "true"), so that kind confusion shows up as a wrong result.
async fn products(store: &Arc<dyn ReadStore>) -> String {
    let c = unique_name("products");
    let docs = [
        (
            "p1",
            json!({"name": "apple", "price": 5, "active": true, "code": "1",
                      "tags": {"color": "red"}}),
        ),
        (
            "p2",
            json!({"name": "banana", "price": 2.5, "active": false, "code": 1,
                      "meta": {"origin": {"country": "EC"}}}),
        ),
        (
            "p3",
            json!({"name": "cherry", "price": 10, "active": true,
                      "meta": {"origin": {"country": "TR"}}}),
        ),
        (
            "p4",
            json!({"name": "date", "price": 7, "active": 1,
                      "meta": {"origin": {"country": "TR"}}}),
        ),
        (
            "p5",
            json!({"name": "Elder", "price": "7", "active": "true"}),
        ),
        (
            "p6",
            json!({"name": "fig", "price": 2, "origin": {"country": "TR"}}),
        ),
    ];
    write(
        store,
        docs.iter()
            .map(|(id, b)| upsert(&c, id, b.clone()))
            .collect(),
    )
    .await;
    c
}

/// Runs each `(filter, expected ids in id order)` pair.
async fn check(store: &Arc<dyn ReadStore>, c: &str, cases: Vec<(Filter, Vec<&str>)>) {
    for (filter, expected) in cases {
        let got = ids(store, Query::new(c).with_filter(filter.clone())).await;
        assert_eq!(got, expected, "{filter:?}");
    }
}

/// Equality matches the value only in a field of the same kind; numbers compare numerically.
pub async fn filter_eq_matches_kind_and_value(store: Arc<dyn ReadStore>) {
    let c = products(&store).await;
    let cases = vec![
        (Filter::eq("name", "apple"), vec!["p1"]),
        (Filter::eq("price", 7), vec!["p4"]),
        (Filter::eq("price", "7"), vec!["p5"]),
        (Filter::eq("price", 2.5), vec!["p2"]),
        (Filter::eq("price", 10.0), vec!["p3"]),
        (Filter::eq("price", 2.0), vec!["p6"]),
        (Filter::eq("active", true), vec!["p1", "p3"]),
        (Filter::eq("active", false), vec!["p2"]),
        (Filter::eq("active", 1), vec!["p4"]),
        (Filter::eq("code", "1"), vec!["p1"]),
        (Filter::eq("code", 1), vec!["p2"]),
        (Filter::eq("missing", 1), vec![]),
        (Filter::eq("name", "APPLE"), vec![]),
    ];
    check(&store, &c, cases).await;
}

/// Membership matches any listed value, kinds respected; an empty list matches nothing.
pub async fn filter_in_matches_any_value(store: Arc<dyn ReadStore>) {
    let c = products(&store).await;
    let cases = vec![
        (
            Filter::is_in("name", ["apple", "cherry", "zzz"]),
            vec!["p1", "p3"],
        ),
        (
            Filter::In("price".into(), vec![json!(2), json!(7), json!("7")]),
            vec!["p4", "p5", "p6"],
        ),
        (Filter::is_in("active", [true]), vec!["p1", "p3"]),
        (Filter::is_in("price", Vec::<Value>::new()), vec![]),
    ];
    check(&store, &c, cases).await;
}

/// Numeric ranges honour inclusive and exclusive bounds and skip non-numbers.
pub async fn filter_range_on_numbers(store: Arc<dyn ReadStore>) {
    let c = products(&store).await;
    let range = |lower: Option<(f64, bool)>, upper: Option<(f64, bool)>| Filter::Range {
        field: "price".into(),
        lower: lower.map(|(v, inc)| (json!(v), inc)),
        upper: upper.map(|(v, inc)| (json!(v), inc)),
    };
    let cases = vec![
        (Filter::gt("price", 5), vec!["p3", "p4"]),
        (Filter::gte("price", 5), vec!["p1", "p3", "p4"]),
        (Filter::lt("price", 5), vec!["p2", "p6"]),
        (Filter::lte("price", 2.5), vec!["p2", "p6"]),
        (Filter::between("price", 2.5, 7), vec!["p1", "p2"]),
        (
            range(Some((2.0, false)), Some((10.0, true))),
            vec!["p1", "p2", "p3", "p4"],
        ),
        (range(Some((2.0, true)), Some((2.0, true))), vec!["p6"]),
        (range(Some((2.0, false)), Some((2.0, false))), vec![]),
        (Filter::lt("price", 100), vec!["p1", "p2", "p3", "p4", "p6"]),
    ];
    check(&store, &c, cases).await;
}

/// String ranges compare bytes (so "Elder" < "apple"); boolean ranges have `false < true`.
pub async fn filter_range_on_strings_and_booleans(store: Arc<dyn ReadStore>) {
    let c = products(&store).await;
    let cases = vec![
        (Filter::gte("name", "banana"), vec!["p2", "p3", "p4", "p6"]),
        (Filter::lt("name", "b"), vec!["p1", "p5"]),
        (Filter::lt("name", "a"), vec!["p5"]),
        (Filter::between("name", "b", "d"), vec!["p2", "p3"]),
        (
            Filter::Range {
                field: "name".into(),
                lower: Some((json!("cherry"), false)),
                upper: Some((json!("fig"), true)),
            },
            vec!["p4", "p6"],
        ),
        (Filter::gte("price", "0"), vec!["p5"]),
        (Filter::gt("active", false), vec!["p1", "p3"]),
        (Filter::lte("active", false), vec!["p2"]),
    ];
    check(&store, &c, cases).await;
}

/// Conjunctions combine conditions; dotted paths reach into nested objects and only there.
pub async fn filter_and_with_nested_fields(store: Arc<dyn ReadStore>) {
    let c = products(&store).await;
    let tr = || Filter::eq("meta.origin.country", "TR");
    let cases = vec![
        (tr(), vec!["p3", "p4"]),
        (Filter::and([tr(), Filter::gt("price", 7)]), vec!["p3"]),
        (
            Filter::and([Filter::eq("tags.color", "red"), Filter::eq("active", true)]),
            vec!["p1"],
        ),
        (Filter::and([tr(), Filter::eq("name", "apple")]), vec![]),
        (Filter::and([]), vec!["p1", "p2", "p3", "p4", "p5", "p6"]),
        (Filter::eq("origin.country", "TR"), vec!["p6"]),
        (
            Filter::and([Filter::All, Filter::and([tr(), Filter::lt("price", 8)])]),
            vec!["p4"],
        ),
    ];
    check(&store, &c, cases).await;
}

/// Declared indexes (which adapters may use to answer) change no result.
pub async fn indexed_fields_query_the_same(store: Arc<dyn ReadStore>) {
    let c = products(&store).await;
    let index = |fields: &[&str]| IndexSpec {
        collection: c.clone(),
        fields: fields.iter().map(|f| (*f).to_owned()).collect(),
        unique: false,
    };
    let specs = [
        index(&["price"]),
        index(&["meta.origin.country", "price"]),
        index(&["active"]),
    ];
    store.ensure_indexes(&specs).await.expect("indexes");
    let cases = vec![
        (Filter::eq("price", 7), vec!["p4"]),
        (Filter::gte("price", 5), vec!["p1", "p3", "p4"]),
        (
            Filter::and([
                Filter::eq("meta.origin.country", "TR"),
                Filter::gt("price", 7),
            ]),
            vec!["p3"],
        ),
        (Filter::eq("active", true), vec!["p1", "p3"]),
        (Filter::eq("active", 1), vec!["p4"]),
    ];
    check(&store, &c, cases).await;
    let sorted = Query::new(&c)
        .with_sort(SortKey::desc("price"))
        .with_filter(Filter::lt("price", 8));
    assert_eq!(ids(&store, sorted).await, ["p4", "p1", "p2", "p6"]);
}

/// Eight documents over three ranks and labels, written out of id order.
async fn ranked(store: &Arc<dyn ReadStore>) -> (String, Vec<(String, i64, String)>) {
    let c = unique_name("ranked");
    let rows: Vec<(String, i64, String)> = [
        ("e", 3, "x"),
        ("b", 1, "y"),
        ("h", 2, "x"),
        ("a", 1, "x"),
        ("g", 3, "y"),
        ("c", 2, "z"),
        ("f", 1, "z"),
        ("d", 2, "x"),
    ]
    .iter()
    .map(|(id, rank, label)| ((*id).to_owned(), *rank, (*label).to_owned()))
    .collect();
    let ops = rows
        .iter()
        .map(|(id, rank, label)| upsert(&c, id, json!({"rank": rank, "label": label})))
        .collect();
    write(store, ops).await;
    (c, rows)
}

/// One sort key, either direction; equal keys come in ascending id order.
pub async fn sort_one_key_with_id_tie_break(store: Arc<dyn ReadStore>) {
    let (c, mut rows) = ranked(&store).await;
    rows.sort_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
    let expected: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
    assert_eq!(
        ids(&store, Query::new(&c).with_sort(SortKey::asc("rank"))).await,
        expected
    );
    rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let expected: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
    assert_eq!(
        ids(&store, Query::new(&c).with_sort(SortKey::desc("rank"))).await,
        expected
    );
    assert_eq!(
        ids(&store, Query::new(&c)).await,
        ["a", "b", "c", "d", "e", "f", "g", "h"]
    );
}

/// Two sort keys in mixed directions, then the id.
pub async fn sort_two_keys(store: Arc<dyn ReadStore>) {
    let (c, mut rows) = ranked(&store).await;
    rows.sort_by(|a, b| {
        a.1.cmp(&b.1)
            .then_with(|| b.2.cmp(&a.2))
            .then_with(|| a.0.cmp(&b.0))
    });
    let expected: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
    let query = Query::new(&c)
        .with_sort(SortKey::asc("rank"))
        .with_sort(SortKey::desc("label"));
    assert_eq!(ids(&store, query).await, expected);
    rows.sort_by(|a, b| {
        b.1.cmp(&a.1)
            .then_with(|| a.2.cmp(&b.2))
            .then_with(|| a.0.cmp(&b.0))
    });
    let expected: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
    let query = Query::new(&c)
        .with_sort(SortKey::desc("rank"))
        .with_sort(SortKey::asc("label"));
    assert_eq!(ids(&store, query).await, expected);
}

/// Documents lacking the sort field come first ascending and last descending, also across
/// page boundaries.
pub async fn sort_puts_missing_fields_first_ascending(store: Arc<dyn ReadStore>) {
    let c = unique_name("missing");
    let ops = vec![
        upsert(&c, "r2", json!({"rank": 2})),
        upsert(&c, "m2", json!({})),
        upsert(&c, "r1", json!({"rank": 1})),
        upsert(&c, "m1", json!({"other": 1})),
        upsert(&c, "r1b", json!({"rank": 1})),
    ];
    write(&store, ops).await;
    let asc = Query::new(&c).with_sort(SortKey::asc("rank"));
    let desc = Query::new(&c).with_sort(SortKey::desc("rank"));
    assert_eq!(
        ids(&store, asc.clone()).await,
        ["m1", "m2", "r1", "r1b", "r2"]
    );
    assert_eq!(
        ids(&store, desc.clone()).await,
        ["r2", "r1", "r1b", "m1", "m2"]
    );
    for limit in 1..=3 {
        let walked = |q: Query| super::walk(&store, q.with_limit(limit));
        let asc_ids: Vec<String> = walked(asc.clone())
            .await
            .into_iter()
            .map(|d| d.id)
            .collect();
        assert_eq!(asc_ids, ["m1", "m2", "r1", "r1b", "r2"], "limit {limit}");
        let desc_ids: Vec<String> = walked(desc.clone())
            .await
            .into_iter()
            .map(|d| d.id)
            .collect();
        assert_eq!(desc_ids, ["r2", "r1", "r1b", "m1", "m2"], "limit {limit}");
    }
}
