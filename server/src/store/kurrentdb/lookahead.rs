//! `clear_through`: whether any event of a subscriber's categories lies between its checkpoint
//! and a position it is asked about, found with one bounded, filtered read of `$all`.
//!
//! KurrentDB checkpoints a filtered subscription only every `32 x checkpointInterval` events
//! considered while live, and catches up to the last event it sent. A projection whose
//! categories have been quiet therefore stays at its last event while other categories are
//! written, and a query waiting for a position written elsewhere would wait for its deadline.
//! Asked about such a position, this reads the newest position of `$all` first, then the first
//! event after the checkpoint that passes the same server-side filter the subscription uses
//! (two events at most, since a read from a position includes it). If that event lies past the
//! position (or there is none), the stretch is clear. Reading the newest position first means
//! the answer never runs past an event that was committed but not yet seen by the filtered read.

use kurrentdb::ReadAllOptions;

use super::{
    connection::Connection,
    convert,
    read::{head, read_all_page},
};
use crate::store::{StoreError, SubscriptionFilter};

/// Events asked for: the one at the start position (a `$all` read includes it) and the next.
const LOOK: usize = 2;

/// See [`EventStore::clear_through`](crate::store::EventStore::clear_through).
pub(super) async fn clear_through(
    connection: &Connection,
    after: Option<u64>,
    until: u64,
    filter: &SubscriptionFilter,
) -> Result<Option<u64>, StoreError> {
    let Some(newest) = head(connection).await? else {
        return Ok(None);
    };
    let until = until.min(newest);
    if after.is_some_and(|after| after >= until) {
        return Ok(None);
    }
    let options = ReadAllOptions::default()
        .position(convert::start_after(after))
        .forwards()
        .max_count(LOOK)
        .filter(convert::server_filter(filter));
    let page = read_all_page(connection, &options).await?;
    let next = page
        .iter()
        .map(|e| e.position.commit)
        .find(|&position| after.is_none_or(|after| position > after));
    Ok(match next {
        Some(position) if position <= until => None,
        _ => Some(until),
    })
}
