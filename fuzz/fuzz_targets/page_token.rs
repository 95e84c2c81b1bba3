//! Page tokens come from callers. A forged, truncated or foreign token must be refused or must
//! continue the very query it is sent with: it can move where a page starts, never what the
//! query matches. Each input is sent as `pageToken` to a real embedded read store holding two
//! customers' orders, with a filter for one of them; every document answered must match it.
//! The token decoder alone must also never panic, and a token it accepts must round-trip.
//!
//! Input: the token, as text.
#![no_main]

use std::sync::OnceLock;

use causeway_server::readstore::{
    Document, Filter, Query, ReadStore, SortDirection, SortKey, WriteOp,
    embedded::EmbeddedReadStore, filter::Cursor,
};
use libfuzzer_sys::fuzz_target;
use serde_json::json;

struct Fixture {
    runtime: tokio::runtime::Runtime,
    store: EmbeddedReadStore,
    _dir: tempfile::TempDir,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let dir = tempfile::tempdir().expect("temp dir");
        let store = EmbeddedReadStore::open(dir.path()).expect("read store");
        let ops = (0..40)
            .map(|i| WriteOp::Upsert {
                collection: "orders".into(),
                document: Document {
                    id: format!("o-{i:02}"),
                    body: json!({
                        "customerId": if i % 2 == 0 { "ada" } else { "bob" },
                        "placedAt": i / 3,
                        "total": if i % 5 == 0 { json!(null) } else { json!(i * 7) },
                    }),
                },
            })
            .collect();
        runtime
            .block_on(store.apply("fuzz", ops, 1))
            .expect("seed documents");
        Fixture {
            runtime,
            store,
            _dir: dir,
        }
    })
}

fn query(after: Option<String>) -> Query {
    Query {
        collection: "orders".into(),
        filter: Filter::Eq("customerId".into(), json!("ada")),
        sort: vec![SortKey {
            field: "placedAt".into(),
            direction: SortDirection::Descending,
        }],
        limit: 7,
        after,
    }
}

fuzz_target!(|input: &[u8]| {
    let Ok(token) = std::str::from_utf8(input) else {
        return;
    };
    let fixture = fixture();
    let walk = query(Some(token.to_owned()));
    if let Ok(cursor) = Cursor::decode(token, &walk) {
        let again = Cursor::decode(&cursor.encode(&walk), &walk).expect("own token decodes");
        assert_eq!(again, cursor);
    }
    if let Ok(page) = fixture.runtime.block_on(fixture.store.query(&walk)) {
        for document in &page.documents {
            assert_eq!(
                document.body["customerId"], "ada",
                "the token widened the query"
            );
        }
        assert!(page.documents.len() <= 7);
    }
});
