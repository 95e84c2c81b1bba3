//! The read store's query language, by property: for generated documents (numbers, strings,
//! booleans, nulls and missing fields, mixed kinds in one field) and generated queries
//! (equality, membership, ranges, conjunctions; sorts; any page size), walking every page gives
//! exactly what an in-memory oracle of the documented semantics gives, on the embedded store
//! and on MongoDB (SecantusDB, or `CAUSEWAY_TEST_MONGODB_URL`).

use std::{cmp::Ordering, sync::Arc};

use causeway_server::readstore::{
    Document, Filter, Query, ReadStore, SortDirection, SortKey, WriteOp, conformance::unique_name,
    embedded::EmbeddedReadStore,
};
use causeway_tests::mongo::{MongoServer, Topology};
use proptest::{
    prelude::*,
    test_runner::{Config as Cases, TestRunner},
};
use serde_json::{Map, Value, json};

/// Scalars of every kind, with numbers that are equal across int and float (2 and 2.0) and
/// strings whose byte order differs from a case-insensitive one.
fn scalar() -> BoxedStrategy<Value> {
    prop_oneof![
        (-3i64..4).prop_map(Value::from),
        prop_oneof![Just(-1.5), Just(0.5), Just(2.0), Just(2.5)].prop_map(Value::from),
        prop_oneof![
            Just(""),
            Just("a"),
            Just("B"),
            Just("b"),
            Just("é"),
            Just("ab")
        ]
        .prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
    ]
    .boxed()
}

/// A field's value in a document: absent, null, or a scalar of `kind`.
fn field(kind: BoxedStrategy<Value>) -> impl Strategy<Value = Option<Value>> {
    prop_oneof![1 => Just(None), 1 => Just(Some(Value::Null)), 4 => kind.prop_map(Some)]
}

/// Documents with `mixed` (any kind), `rank` (numbers only: a sort key), `name` (strings only:
/// a sort key) and `group.level` (numbers, nested).
fn documents() -> impl Strategy<Value = Vec<Value>> {
    let numbers = prop_oneof![(-3i64..4).prop_map(Value::from), Just(json!(2.5))].boxed();
    let names = prop_oneof![Just("a"), Just("B"), Just("b"), Just("é")]
        .prop_map(Value::from)
        .boxed();
    let doc = (
        field(scalar()),
        field(numbers.clone()),
        field(names),
        field(numbers),
    )
        .prop_map(|(mixed, rank, name, level)| {
            let mut body = Map::new();
            let mut put = |key: &str, value: Option<Value>| {
                if let Some(value) = value {
                    body.insert(key.to_owned(), value);
                }
            };
            put("mixed", mixed);
            put("rank", rank);
            put("name", name);
            if let Some(level) = level {
                body.insert("group".into(), json!({ "level": level }));
            }
            Value::Object(body)
        });
    prop::collection::vec(doc, 0..24)
}

const FIELDS: [&str; 4] = ["mixed", "rank", "name", "group.level"];

fn condition() -> impl Strategy<Value = Filter> {
    let path = prop::sample::select(FIELDS.to_vec());
    let bound = prop::option::of((scalar(), any::<bool>()));
    prop_oneof![
        (path.clone(), scalar()).prop_map(|(f, v)| Filter::Eq(f.into(), v)),
        (path.clone(), prop::collection::vec(scalar(), 0..3))
            .prop_map(|(f, v)| Filter::In(f.into(), v)),
        (path, bound.clone(), bound)
            .prop_map(|(f, lower, upper)| Filter::Range {
                field: f.into(),
                lower,
                upper,
            })
            .prop_filter("a range the store accepts: a bound, one kind", |f| f
                .validate()
                .is_ok()),
    ]
}

fn filter() -> impl Strategy<Value = Filter> {
    prop_oneof![
        1 => Just(Filter::All),
        3 => condition(),
        2 => prop::collection::vec(condition(), 1..3).prop_map(Filter::And),
    ]
}

fn sort() -> impl Strategy<Value = Vec<SortKey>> {
    let key = (
        prop::sample::select(vec!["rank", "name", "group.level"]),
        any::<bool>(),
    )
        .prop_map(|(field, up)| SortKey {
            field: field.into(),
            direction: if up {
                SortDirection::Ascending
            } else {
                SortDirection::Descending
            },
        });
    prop::collection::vec(key, 0..3).prop_filter("one key per field", |keys| {
        let mut fields: Vec<&str> = keys.iter().map(|k| k.field.as_str()).collect();
        fields.sort_unstable();
        fields.windows(2).all(|w| w[0] != w[1])
    })
}

/// The value at a dotted path; `None` when missing or null (both sort and match alike).
fn at<'a>(body: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .try_fold(body, |value, key| value.get(key))
        .filter(|v| !v.is_null())
}

/// Same kind and comparable: numbers numerically, strings by bytes, booleans false < true.
fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64()?.partial_cmp(&y.as_f64()?),
        (Value::String(x), Value::String(y)) => Some(x.as_bytes().cmp(y.as_bytes())),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

fn matches(filter: &Filter, body: &Value) -> bool {
    let eq =
        |path: &str, v: &Value| at(body, path).and_then(|f| compare(f, v)) == Some(Ordering::Equal);
    match filter {
        Filter::All => true,
        Filter::Eq(path, v) => eq(path, v),
        Filter::In(path, values) => values.iter().any(|v| eq(path, v)),
        Filter::Range {
            field,
            lower,
            upper,
        } => {
            let Some(value) = at(body, field) else {
                return false;
            };
            let within = |bound: &Option<(Value, bool)>, wanted: Ordering| match bound {
                None => true,
                Some((b, inclusive)) => match compare(value, b) {
                    Some(Ordering::Equal) => *inclusive,
                    Some(order) => order == wanted,
                    None => false,
                },
            };
            within(lower, Ordering::Greater) && within(upper, Ordering::Less)
        }
        Filter::And(all) => all.iter().all(|f| matches(f, body)),
    }
}

/// The ids the documented semantics give, in order.
fn oracle(docs: &[Value], filter: &Filter, sort: &[SortKey]) -> Vec<String> {
    let mut hits: Vec<(String, &Value)> = docs
        .iter()
        .enumerate()
        .filter(|(_, body)| matches(filter, body))
        .map(|(i, body)| (format!("d{i:02}"), body))
        .collect();
    hits.sort_by(|(a_id, a), (b_id, b)| {
        for key in sort {
            let order = match (at(a, &key.field), at(b, &key.field)) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) => Ordering::Less,
                (Some(_), None) => Ordering::Greater,
                (Some(x), Some(y)) => compare(x, y).unwrap_or(Ordering::Equal),
            };
            let order = match key.direction {
                SortDirection::Ascending => order,
                SortDirection::Descending => order.reverse(),
            };
            if order != Ordering::Equal {
                return order;
            }
        }
        a_id.cmp(b_id)
    });
    hits.into_iter().map(|(id, _)| id).collect()
}

/// Every page of `query` in order, by the store.
async fn walk(store: &dyn ReadStore, mut query: Query) -> Vec<String> {
    let mut ids = Vec::new();
    loop {
        let page = store.query(&query).await.expect("query");
        assert!(page.documents.len() <= query.effective_limit());
        ids.extend(page.documents.into_iter().map(|d| d.id));
        match page.next {
            Some(next) => query.after = Some(next),
            None => return ids,
        }
    }
}

fn check(store: Arc<dyn ReadStore>, runtime: &tokio::runtime::Runtime, cases: u32) {
    let strategy = (documents(), filter(), sort(), 1usize..8);
    let mut runner = TestRunner::new(Cases {
        cases,
        ..Cases::default()
    });
    runner
        .run(&strategy, |(docs, filter, sort, limit)| {
            let collection = unique_name("prop");
            let ops = docs
                .iter()
                .enumerate()
                .map(|(i, body)| WriteOp::Upsert {
                    collection: collection.clone(),
                    document: Document {
                        id: format!("d{i:02}"),
                        body: body.clone(),
                    },
                })
                .collect();
            runtime
                .block_on(store.apply(&unique_name("p"), ops, 1))
                .expect("apply");
            let query = Query {
                collection,
                filter: filter.clone(),
                sort: sort.clone(),
                limit,
                after: None,
            };
            let walked = runtime.block_on(walk(&*store, query));
            prop_assert_eq!(walked, oracle(&docs, &filter, &sort));
            Ok(())
        })
        .unwrap();
}

#[test]
fn the_embedded_store_answers_as_the_oracle() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(EmbeddedReadStore::open(dir.path()).unwrap());
    check(store, &runtime, 96);
}

#[test]
fn mongodb_answers_as_the_oracle() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime.block_on(MongoServer::start(Topology::ReplicaSet));
    let store: Arc<dyn ReadStore> = runtime.block_on(server.store());
    check(store, &runtime, 32);
    drop(server);
}
