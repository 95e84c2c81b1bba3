//! The read queries, each run on a pooled read connection (`crate::sqlite::ReaderPool`). In WAL
//! mode each statement sees a committed snapshot (also of other processes' commits) and never
//! waits for the writer.

use rusqlite::{Connection, OptionalExtension, params, params_from_iter, types::Value as Sql};

use super::{schema::unavailable, sql};
use crate::readstore::{
    Document, Page, ReadStoreError,
    filter::{Cursor, Query},
};

/// Parses a stored body; the writer only stores JSON objects, so failure means corruption.
pub(super) fn parse_body(text: &str) -> Result<serde_json::Value, ReadStoreError> {
    serde_json::from_str(text)
        .map_err(|_| ReadStoreError::Unavailable("a stored document is corrupt".to_owned()))
}

/// The document `id` of `collection`.
pub(super) fn get(
    conn: &Connection,
    collection: &str,
    id: &str,
) -> Result<Option<Document>, ReadStoreError> {
    let body: Option<String> = conn
        .prepare_cached("SELECT body FROM documents WHERE collection = ?1 AND id = ?2")
        .and_then(|mut stmt| {
            stmt.query_row(params![collection, id], |row| row.get(0))
                .optional()
        })
        .map_err(|e| unavailable("reading a document", e))?;
    body.map(|body| {
        Ok(Document {
            id: id.to_owned(),
            body: parse_body(&body)?,
        })
    })
    .transpose()
}

/// One page of `query`: one row more than the page is fetched to learn whether a next page
/// exists, so the last page has no cursor.
pub(super) fn query(conn: &Connection, query: &Query) -> Result<Page, ReadStoreError> {
    let cursor = query.cursor()?;
    let limit = query.effective_limit();
    let statement = sql::page(query, cursor.as_ref(), limit + 1)?;
    let keys = query.sort.len();
    let rows: Vec<(String, String, Vec<Sql>)> = conn
        .prepare_cached(&statement.sql)
        .and_then(|mut stmt| {
            stmt.query_map(params_from_iter(statement.params), |row| {
                let values = (0..keys)
                    .map(|i| row.get::<_, Sql>(i + 2))
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                Ok((row.get(0)?, row.get(1)?, values))
            })?
            .collect()
        })
        .map_err(|e| unavailable("querying documents", e))?;
    let more = rows.len() > limit;
    let mut documents = Vec::with_capacity(limit.min(rows.len()));
    let mut last = None;
    for (id, body, values) in rows.into_iter().take(limit) {
        documents.push(Document {
            id: id.clone(),
            body: parse_body(&body)?,
        });
        last = Some((id, values));
    }
    let next = match last {
        Some((id, values)) if more => {
            let values = values
                .into_iter()
                .map(sql::sort_value)
                .collect::<Result<Vec<_>, _>>()?;
            Some(Cursor { values, id }.encode(query))
        }
        _ => None,
    };
    Ok(Page { documents, next })
}

/// The stored checkpoint of `projection`.
pub(super) fn checkpoint(
    conn: &Connection,
    projection: &str,
) -> Result<Option<u64>, ReadStoreError> {
    let position: Option<i64> = conn
        .prepare_cached("SELECT position FROM checkpoints WHERE projection = ?1")
        .and_then(|mut stmt| stmt.query_row([projection], |row| row.get(0)).optional())
        .map_err(|e| unavailable("reading a checkpoint", e))?;
    position
        .map(|p| {
            u64::try_from(p)
                .map_err(|_| ReadStoreError::Unavailable("a stored checkpoint is corrupt".into()))
        })
        .transpose()
}
