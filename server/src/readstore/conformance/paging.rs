//! Cases on cursor pagination.

use std::{collections::HashSet, sync::Arc};

use serde_json::json;

use super::{delete, unique_name, upsert, walk, write};
use crate::readstore::{Filter, Query, ReadStore, ReadStoreError, SortKey};

/// A page size that divides none of the collection sizes used here, so the last page is short.
const LIMIT: usize = 7;

/// 250 documents paged 7 at a time come back each exactly once, in order, in 36 pages, for
/// id order, one key either way, and two keys.
pub async fn pagination_returns_each_document_once_in_order(store: Arc<dyn ReadStore>) {
    let c = unique_name("paged");
    // Written in a scrambled order so that insertion order cannot pass for sort order.
    let rows: Vec<(String, i64, String)> = (0..250_i64)
        .map(|i| (i * 97) % 250)
        .map(|i| {
            (
                format!("doc-{i:03}"),
                i % 10,
                format!("n{:03}", (i * 37) % 250),
            )
        })
        .collect();
    let ops = rows
        .iter()
        .map(|(id, group, name)| upsert(&c, id, json!({"group": group, "name": name})))
        .collect();
    write(&store, ops).await;

    type Order = fn(&(String, i64, String), &(String, i64, String)) -> std::cmp::Ordering;
    let cases: [(Vec<SortKey>, Order); 4] = [
        (vec![], |a, b| a.0.cmp(&b.0)),
        (vec![SortKey::asc("group")], |a, b| {
            (a.1, &a.0).cmp(&(b.1, &b.0))
        }),
        (vec![SortKey::desc("group")], |a, b| {
            b.1.cmp(&a.1).then(a.0.cmp(&b.0))
        }),
        (
            vec![SortKey::asc("group"), SortKey::desc("name")],
            |a, b| a.1.cmp(&b.1).then(b.2.cmp(&a.2)).then(a.0.cmp(&b.0)),
        ),
    ];
    for (sort, order) in cases {
        let mut expected = rows.clone();
        expected.sort_by(order);
        let expected: Vec<String> = expected.into_iter().map(|r| r.0).collect();
        let mut query = Query::new(&c).with_limit(LIMIT);
        query.sort = sort.clone();
        let got: Vec<String> = walk(&store, query.clone())
            .await
            .into_iter()
            .map(|d| d.id)
            .collect();
        assert_eq!(got, expected, "sort {sort:?}");

        let mut pages = 0;
        let mut after = None;
        loop {
            pages += 1;
            let page = store
                .query(&query.clone().with_after(after))
                .await
                .expect("page");
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        assert_eq!(
            pages,
            250_usize.div_ceil(LIMIT),
            "sort {sort:?}: no trailing empty page"
        );
    }
}

/// Inserting, updating and deleting documents between page reads never makes the walk skip or
/// repeat a document that existed, with unchanged sort values, throughout.
pub async fn pagination_is_stable_under_writes(store: Arc<dyn ReadStore>) {
    let c = unique_name("stable");
    let rank = |i: usize| i64::try_from(i % 13).unwrap_or_default();
    let ops = (0..120)
        .map(|i| upsert(&c, &format!("d{i:03}"), json!({"rank": rank(i), "v": 0})))
        .collect();
    write(&store, ops).await;
    // Documents d000, d004, ... are volatile (deleted along the way); the rest stay.
    let stable: HashSet<String> = (0..120)
        .filter(|i| i % 4 != 0)
        .map(|i| format!("d{i:03}"))
        .collect();
    let mut volatile: Vec<String> = (0..120)
        .filter(|i| i % 4 == 0)
        .map(|i| format!("d{i:03}"))
        .collect();

    let query = Query::new(&c).with_sort(SortKey::asc("rank")).with_limit(9);
    let mut seen: Vec<(i64, String)> = Vec::new();
    let mut after = None;
    for step in 0_usize.. {
        let page = store
            .query(&query.clone().with_after(after))
            .await
            .expect("page");
        for doc in &page.documents {
            let rank = doc.body["rank"].as_i64().expect("rank");
            seen.push((rank, doc.id.clone()));
        }
        let Some(next) = page.next else { break };
        after = Some(next);
        // Between pages: new documents before and after the cursor, a touched stable document,
        // and deletions of one seen and one unseen volatile document.
        let mut ops = vec![
            upsert(&c, &format!("new{step:03}a"), json!({"rank": 0})),
            upsert(&c, &format!("new{step:03}b"), json!({"rank": 12})),
            upsert(&c, &format!("e{step:03}"), json!({"rank": rank(step * 5)})),
        ];
        let touched = format!("d{:03}", (step * 7 + 1) % 120);
        if stable.contains(&touched) {
            let rank = rank((step * 7 + 1) % 120);
            ops.push(upsert(&c, &touched, json!({"rank": rank, "v": step})));
        }
        for _ in 0..2 {
            if !volatile.is_empty() {
                let victim = volatile.remove((step * 11) % volatile.len());
                ops.push(delete(&c, &victim));
            }
        }
        write(&store, ops).await;
        assert!(step < 200, "the walk does not end");
    }
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted, "pages came out of order");
    let ids: Vec<&String> = seen.iter().map(|(_, id)| id).collect();
    let unique: HashSet<&String> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "a document was returned twice");
    for id in &stable {
        assert!(unique.contains(id), "{id} was skipped");
    }
}

/// A token that is not one, is cut short, or comes from another query is `Invalid`; an empty
/// token means the first page (proto3's unset `pageToken`).
pub async fn invalid_cursor_is_refused(store: Arc<dyn ReadStore>) {
    let c = unique_name("cursor");
    let ops = (0..5)
        .map(|i| upsert(&c, &format!("d{i}"), json!({"k": i})))
        .collect();
    write(&store, ops).await;
    let query = Query::new(&c).with_sort(SortKey::asc("k")).with_limit(2);
    let token = store
        .query(&query)
        .await
        .expect("page")
        .next
        .expect("more pages");
    let other = query.clone().with_filter(Filter::gt("k", 0));
    let resorted = Query::new(&c).with_sort(SortKey::desc("k")).with_limit(2);
    let attempts = [
        (query.clone(), "not a cursor".to_owned()),
        (query.clone(), "%%%%".to_owned()),
        (query.clone(), token[..token.len() / 2].to_owned()),
        (other, token.clone()),
        (resorted, token.clone()),
        (Query::new(&unique_name("cursor")), token.clone()),
    ];
    for (query, token) in attempts {
        let result = store.query(&query.with_after(Some(token.clone()))).await;
        assert!(
            matches!(result, Err(ReadStoreError::Invalid(_))),
            "{token}: {result:?}"
        );
    }
    let first = store
        .query(&query.clone().with_after(Some(String::new())))
        .await;
    let ids: Vec<String> = first
        .expect("first page")
        .documents
        .into_iter()
        .map(|d| d.id)
        .collect();
    assert_eq!(ids, ["d0", "d1"]);
    let larger = query.with_limit(10).with_after(Some(token));
    let rest: Vec<String> = store
        .query(&larger)
        .await
        .expect("page size may change")
        .documents
        .into_iter()
        .map(|d| d.id)
        .collect();
    assert_eq!(rest, ["d2", "d3", "d4"]);
}

/// A zero limit still returns one document (and a cursor), so a walk always makes progress.
pub async fn limit_is_clamped_to_at_least_one(store: Arc<dyn ReadStore>) {
    let c = unique_name("limit");
    write(
        &store,
        vec![upsert(&c, "a", json!({})), upsert(&c, "b", json!({}))],
    )
    .await;
    let page = store
        .query(&Query::new(&c).with_limit(0))
        .await
        .expect("page");
    assert_eq!(page.documents.len(), 1);
    assert!(page.next.is_some());
    let docs = walk(&store, Query::new(&c).with_limit(0)).await;
    assert_eq!(docs.len(), 2);
    let page = store
        .query(&Query::new(&c).with_limit(usize::MAX))
        .await
        .expect("huge limit");
    assert_eq!((page.documents.len(), page.next), (2, None));
}
