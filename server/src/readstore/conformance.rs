//! The `ReadStore` conformance suite: the behaviour every adapter must show, run unchanged
//! against each of them, so that the embedded default and MongoDB cannot drift apart.
//!
//! Every case is a `pub async fn(Arc<dyn ReadStore>)` that panics on failure. Cases use fresh
//! collection and projection names (uuid-suffixed), so they can share one server and run in
//! parallel. [`readstore_conformance!`](crate::readstore_conformance) turns the list into
//! `#[tokio::test]`s:
//!
//! ```ignore
//! causeway_server::readstore_conformance!(async {
//!     let dir = tempfile::tempdir().expect("temp dir");
//!     let store = EmbeddedReadStore::open(dir.path()).expect("open");
//!     (Arc::new(store) as Arc<dyn ReadStore>, dir) // the second value lives as long as the test
//! });
//! ```
//!
//! Adapter-specific guarantees (fault injection, reopening files) are tested beside the adapter.
//! Panicking is the point here, so `expect` is used freely.

mod documents;
mod paging;
mod queries;

use std::sync::Arc;

use serde_json::Value;
use uuid::Uuid;

pub use self::{documents::*, paging::*, queries::*};
use super::{Document, Query, ReadStore, WriteOp};

/// Expands to one `#[tokio::test(flavor = "multi_thread")]` per conformance case.
///
/// `$factory` is an expression evaluated afresh in each test to a future of
/// `(Arc<dyn ReadStore>, guard)`; the guard (a temporary directory, a server handle, `()`) is
/// dropped after the store, when the test ends. The calling crate needs `tokio` with the
/// `macros` and `rt-multi-thread` features.
#[macro_export]
macro_rules! readstore_conformance {
    ($factory:expr) => {
        $crate::readstore_conformance!(@cases $factory;
            get_upsert_delete_round_trip,
            ops_apply_in_order,
            checkpoint_moves_with_apply,
            stale_batches_are_ignored,
            unique_index_rejects_whole_batch,
            drop_collection_removes_documents_and_indexes,
            reset_checkpoint_allows_rebuild,
            invalid_requests_are_refused,
            filter_eq_matches_kind_and_value,
            filter_in_matches_any_value,
            filter_range_on_numbers,
            filter_range_on_strings_and_booleans,
            filter_and_with_nested_fields,
            indexed_fields_query_the_same,
            sort_one_key_with_id_tie_break,
            sort_two_keys,
            sort_puts_missing_fields_first_ascending,
            pagination_returns_each_document_once_in_order,
            pagination_is_stable_under_writes,
            invalid_cursor_is_refused,
            limit_is_clamped_to_at_least_one,
        );
    };
    (@cases $factory:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread")]
            async fn $case() {
                let fixture = $factory.await;
                $crate::readstore::conformance::$case(::std::sync::Arc::clone(&fixture.0)).await;
            }
        )*
    };
}

/// A name no other test uses: `prefix` plus a uuid, valid as collection and projection name.
pub fn unique_name(prefix: &str) -> String {
    format!("{prefix}_{}", Uuid::new_v4().simple())
}

/// An upsert op.
pub fn upsert(collection: &str, id: &str, body: Value) -> WriteOp {
    WriteOp::Upsert {
        collection: collection.to_owned(),
        document: Document {
            id: id.to_owned(),
            body,
        },
    }
}

/// A delete op.
pub fn delete(collection: &str, id: &str) -> WriteOp {
    WriteOp::Delete {
        collection: collection.to_owned(),
        id: id.to_owned(),
    }
}

/// Applies `ops` under a throwaway projection, for cases that only need documents in place.
pub async fn write(store: &Arc<dyn ReadStore>, ops: Vec<WriteOp>) {
    store
        .apply(&unique_name("seed"), ops, 1)
        .await
        .expect("seeding documents");
}

/// Ids of the first page of `query` (limit raised to hold everything the cases seed).
pub async fn ids(store: &Arc<dyn ReadStore>, query: Query) -> Vec<String> {
    let page = store
        .query(&query.with_limit(Query::MAX_LIMIT))
        .await
        .expect("query");
    page.documents.into_iter().map(|d| d.id).collect()
}

/// Every document of `query`, following cursors; checks that only the last page lacks one and
/// that no page exceeds the limit.
pub async fn walk(store: &Arc<dyn ReadStore>, query: Query) -> Vec<Document> {
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .query(&query.clone().with_after(after))
            .await
            .expect("query page");
        assert!(page.documents.len() <= query.effective_limit());
        if page.next.is_some() {
            assert_eq!(page.documents.len(), query.effective_limit(), "short page");
        }
        all.extend(page.documents);
        match page.next {
            Some(next) => after = Some(next),
            None => return all,
        }
    }
}
