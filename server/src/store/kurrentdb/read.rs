//! Reads: one stream, pages of `$all`, and the head of `$all`.

use kurrentdb::{Position, ReadAllOptions, ReadStream, ReadStreamOptions, StreamPosition};

use super::{
    connection::{self, Connection},
    convert,
};
use crate::store::{RecordedEvent, StoreError};

/// Events asked for per backwards page while looking for the newest event of an aggregate stream.
const HEAD_PAGE: usize = 32;

/// Every event of `stream` from `from_revision` on; a stream KurrentDB does not know (never
/// written, or soft-deleted) is empty.
pub(super) async fn stream(
    connection: &Connection,
    stream: &str,
    from_revision: u64,
) -> Result<Vec<RecordedEvent>, StoreError> {
    let options = ReadStreamOptions::default()
        .position(StreamPosition::Position(from_revision))
        .forwards();
    let (generation, client) = connection.client()?;
    let read = connection::bounded("stream read", async {
        let mut read = client.read_stream(stream.to_owned(), &options).await?;
        drain(&mut read).await
    })
    .await?;
    match read {
        Ok(events) => Ok(events.iter().map(convert::recorded).collect()),
        Err(kurrentdb::Error::ResourceNotFound) => Ok(Vec::new()),
        Err(error) => Err(connection.failed(generation, "stream read", &error)),
    }
}

/// Up to `limit` events of aggregate streams (neither system nor snapshot streams) after
/// `after`, in `$all` order.
///
/// KurrentDB reads `$all` forwards from a position inclusively and counts system events against
/// the page size, so each page asks for one more than still needed, drops the start event and
/// system events, and the next page starts at the last event seen until `limit` is reached or
/// the log ends.
pub(super) async fn all(
    connection: &Connection,
    after: Option<u64>,
    limit: usize,
) -> Result<Vec<RecordedEvent>, StoreError> {
    let mut found = Vec::new();
    let mut from = convert::start_after(after);
    let mut seen = after;
    while found.len() < limit {
        let page_size = (limit - found.len()).saturating_add(1);
        let options = ReadAllOptions::default()
            .position(from)
            .forwards()
            .max_count(page_size);
        let page = read_all_page(connection, &options).await?;
        let complete = page.len() < page_size;
        for event in &page {
            let position = event.position.commit;
            if seen.is_some_and(|seen| position <= seen) {
                continue;
            }
            seen = Some(position);
            from = StreamPosition::Position(event.position);
            if !convert::is_internal_stream(event.stream_id()) && found.len() < limit {
                found.push(convert::recorded(event));
            }
        }
        if complete {
            break;
        }
    }
    Ok(found)
}

/// The position of the newest event of an aggregate stream, `None` when there is none.
/// Reading `$all` backwards from a position excludes it, so pages simply continue from the
/// oldest event of the previous one.
pub(super) async fn head(connection: &Connection) -> Result<Option<u64>, StoreError> {
    let mut from: StreamPosition<Position> = StreamPosition::End;
    loop {
        let options = ReadAllOptions::default()
            .position(from)
            .backwards()
            .max_count(HEAD_PAGE);
        let page = read_all_page(connection, &options).await?;
        if let Some(newest) = page
            .iter()
            .find(|e| !convert::is_internal_stream(e.stream_id()))
        {
            return Ok(Some(newest.position.commit));
        }
        match page.last() {
            Some(oldest) if page.len() == HEAD_PAGE => {
                from = StreamPosition::Position(oldest.position);
            }
            _ => return Ok(None),
        }
    }
}

/// One `$all` read, every event of it in memory.
pub(super) async fn read_all_page(
    connection: &Connection,
    options: &ReadAllOptions,
) -> Result<Vec<kurrentdb::RecordedEvent>, StoreError> {
    let (generation, client) = connection.client()?;
    let read = connection::bounded("$all read", async {
        let mut read = client.read_all(options).await?;
        drain(&mut read).await
    })
    .await?;
    read.map_err(|error| connection.failed(generation, "$all read", &error))
}

/// Collects a read's events (links are never resolved, so each is the event itself).
async fn drain(read: &mut ReadStream) -> kurrentdb::Result<Vec<kurrentdb::RecordedEvent>> {
    let mut events = Vec::new();
    while let Some(resolved) = read.next().await? {
        if let Some(event) = resolved.event {
            events.push(event);
        }
    }
    Ok(events)
}
