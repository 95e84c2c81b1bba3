//! Reads: one document by id, and one page of a query. Stored documents are read raw and
//! converted element by element (see `convert::from_raw`).

use futures::TryStreamExt;
use mongodb::{
    Database,
    bson::{RawDocumentBuf, doc},
};

use super::{convert, errors::unavailable, translate};
use crate::readstore::{
    Document, Page, ReadStoreError,
    filter::{Cursor, Query},
};

/// The document `id` of `collection` (already validated).
pub(super) async fn get(
    db: &Database,
    collection: &str,
    id: &str,
) -> Result<Option<Document>, ReadStoreError> {
    let found = db
        .collection::<RawDocumentBuf>(collection)
        .find_one(doc! { "_id": id })
        .await
        .map_err(|e| unavailable("reading a document", &e))?;
    found.map(|raw| document(&raw, collection)).transpose()
}

/// One page of `query` (already validated): one document more than the page is fetched to
/// learn whether a next page exists, so the last page has no cursor.
pub(super) async fn page(db: &Database, query: &Query) -> Result<Page, ReadStoreError> {
    let cursor = query.cursor()?;
    let limit = query.effective_limit();
    let fetch = limit + 1;
    let found: Vec<RawDocumentBuf> = db
        .collection::<RawDocumentBuf>(&query.collection)
        .find(translate::page_filter(query, cursor.as_ref()))
        .sort(translate::sort(&query.sort))
        .limit(i64::try_from(fetch).unwrap_or(i64::MAX))
        .batch_size(u32::try_from(fetch).unwrap_or(u32::MAX))
        .await
        .map_err(|e| unavailable("querying documents", &e))?
        .try_collect()
        .await
        .map_err(|e| unavailable("querying documents", &e))?;
    let more = found.len() > limit;
    let documents = found
        .iter()
        .take(limit)
        .map(|raw| document(raw, &query.collection))
        .collect::<Result<Vec<_>, _>>()?;
    let next = match documents.last() {
        Some(last) if more => Some(
            Cursor {
                values: translate::sort_values(&query.sort, &last.body),
                id: last.id.clone(),
            }
            .encode(query),
        ),
        _ => None,
    };
    Ok(Page { documents, next })
}

/// The read-model document of a stored one; `Unavailable` for a document this adapter did not
/// write (another program's, in a read-model collection).
fn document(raw: &RawDocumentBuf, collection: &str) -> Result<Document, ReadStoreError> {
    let (id, body) = convert::from_raw(raw)
        .and_then(convert::read_document)
        .ok_or_else(|| {
            ReadStoreError::Unavailable(format!(
                "a document in {collection} is not in the read-store shape ({{_id: string, \
                 body: object}})"
            ))
        })?;
    Ok(Document { id, body })
}
