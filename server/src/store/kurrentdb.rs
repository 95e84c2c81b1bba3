//! The KurrentDB event store: Causeway's production backend, on the official `kurrentdb` crate
//! (gRPC). Selected by `KURRENTDB_URL` (`kurrentdb://host:2113?tls=false`, credentials allowed).
//!
//! - `connection`: the client, rebuilt after it dies, and the mapping of its errors.
//! - `convert`: events, revisions and positions between the port and the crate.
//! - `read`: `read_stream`, `read_all`, `head_position`.
//! - `subscription`: `subscribe_all`, re-established after a dropped connection.
//! - `lookahead`: `clear_through`, for a subscriber whose filter excludes the newest events.
//! - `snapshot`: aggregate snapshots, a stream beside each aggregate stream.
//!
//! # What is stored
//! One KurrentDB stream per aggregate, named as Causeway names it (`order-<id>`). Each event's
//! KurrentDB event id is [`NewEvent::id`] (deterministic, so the server's idempotent-write check
//! recognises a re-append), its type is the full protobuf name, its data the proto3 JSON with
//! content type `application/json`, and its custom metadata our metadata JSON, byte for byte.
//! Payload bytes that are not JSON, or JSON that would not come back as the same bytes (e.g.
//! with surrounding whitespace), are stored as `application/octet-stream` rather than refused
//! or altered; Causeway writes neither. Beside an aggregate's stream, a snapshot stream
//! `causeway.snapshot-<stream>` (`$maxCount` 1) holds its newest snapshot once it has grown long
//! enough to need one (`snapshot`). Nothing else is created: no projections, no persistent
//! subscriptions.
//!
//! # Positions
//! A Causeway position is the KurrentDB commit position of the event in `$all`. (For an ordinary
//! append, KurrentDB gives each event its own position with commit == prepare, so the commit
//! position alone orders and identifies events.) Where the port says "after p":
//! - `subscribe_all(Some(p))` subscribes from `$all` position `(p, p)`, which KurrentDB treats as
//!   exclusive; `None` subscribes from the start.
//! - `read_all(Some(p))` reads from `(p, p)`, which KurrentDB treats as inclusive, so the event at
//!   `p` is skipped here.
//! - Events of system streams (names starting with `$`) and of snapshot streams are never
//!   returned: `read_all` skips them, a subscription turns them into checkpoints, and
//!   `head_position` is the newest event of an aggregate's stream.
//! - A category filter is the server-side stream prefix `<category>-` (so a stream named just
//!   `<category>` is not delivered); the server's filtered checkpoints and caught-up positions
//!   become [`FeedItem::Checkpoint`](super::FeedItem::Checkpoint)s. They are sparse (every
//!   32 events considered while live, and catch-up ends at the last event sent), so
//!   [`EventStore::clear_through`] looks ahead with a filtered read when asked.
//!
//! # Surviving the crate's traps
//! - A client whose first connection attempt failed stays dead forever; the adapter builds a new
//!   one for the next operation (`connection`).
//! - The server may be down when Causeway starts: [`KurrentDbEventStore::connect`] only parses
//!   the connection string, every operation fails fast with [`StoreError::Unavailable`] while the
//!   server is away, and the next one reconnects. Health (which asks for the head position)
//!   reports NOT_SERVING until the server answers.
//! - A subscription is re-established from the last position it saw (event or checkpoint), so a
//!   dropped connection loses nothing and repeats nothing (`subscription`).
//! - The crate builds its own HTTP/2 connector and leaves Nagle's algorithm on, so a call whose
//!   request goes out in two writes can wait for the server's delayed ACK (about 40 ms on
//!   Linux). The adapter cannot change that; budget for it in per-command latency.
//!
//! The connection string is a secret (it may carry a password): it is never logged or put in an
//! error.

mod connection;
mod convert;
mod lookahead;
mod read;
mod snapshot;
mod subscription;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use async_trait::async_trait;
use kurrentdb::{AppendToStreamOptions, ClientSettings};

use self::connection::Connection;
use super::{
    AppendResult, EventFeed, EventStore, ExpectedRevision, NewEvent, RecordedEvent, Snapshot,
    StoreError, SubscriptionFilter,
};

/// [`EventStore`] on a KurrentDB server (or cluster) reached over gRPC.
pub struct KurrentDbEventStore {
    connection: Arc<Connection>,
}

impl KurrentDbEventStore {
    /// Parses `connection_string` and returns at once, without contacting the server: the first
    /// operation connects, so a server that is still starting delays nothing and fails nothing
    /// but the operations made before it is up. A malformed string is [`StoreError::Invalid`];
    /// the error never repeats the string, since it may hold credentials.
    pub fn connect(connection_string: &str) -> Result<Self, StoreError> {
        let settings: ClientSettings = connection_string.parse().map_err(|e| {
            let detail = kurrentdb::ClientSettingsParseError::error(&e)
                .map_or_else(String::new, |e| format!(": {e}"));
            StoreError::Invalid(format!(
                "the KurrentDB connection string is malformed{detail}"
            ))
        })?;
        Ok(Self {
            connection: Arc::new(Connection::new(settings)),
        })
    }
}

#[async_trait]
impl EventStore for KurrentDbEventStore {
    async fn append(
        &self,
        stream: &str,
        expected: ExpectedRevision,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult, StoreError> {
        if stream.is_empty() {
            return Err(StoreError::Invalid(
                "a stream name must not be empty".into(),
            ));
        }
        if events.is_empty() {
            return Err(StoreError::Invalid(
                "an append needs at least one event".into(),
            ));
        }
        let options =
            AppendToStreamOptions::default().stream_state(convert::stream_state(expected));
        let data: Vec<_> = events.into_iter().map(convert::event_data).collect();
        let (generation, client) = self.connection.client()?;
        let written = connection::bounded(
            "append",
            client.append_to_stream(stream.to_owned(), &options, data),
        )
        .await?;
        match written {
            Ok(result) => Ok(AppendResult {
                revision: result.next_expected_version,
                position: result.position.commit,
            }),
            Err(kurrentdb::Error::WrongExpectedVersion { current, .. }) => {
                Err(StoreError::WrongExpectedRevision {
                    stream: stream.to_owned(),
                    expected,
                    actual: convert::actual_revision(current),
                })
            }
            Err(error) => Err(self.connection.failed(generation, "append", &error)),
        }
    }

    async fn read_stream(
        &self,
        stream: &str,
        from_revision: u64,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        read::stream(&self.connection, stream, from_revision).await
    }

    async fn read_all(
        &self,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        read::all(&self.connection, after, limit).await
    }

    async fn read_snapshot(&self, stream: &str) -> Result<Option<Snapshot>, StoreError> {
        snapshot::read(&self.connection, stream).await
    }

    async fn write_snapshot(&self, stream: &str, snapshot: Snapshot) -> Result<(), StoreError> {
        snapshot::write(&self.connection, stream, snapshot).await
    }

    async fn head_position(&self) -> Result<Option<u64>, StoreError> {
        read::head(&self.connection).await
    }

    fn subscribe_all(&self, after: Option<u64>, filter: SubscriptionFilter) -> EventFeed {
        subscription::subscribe(Arc::clone(&self.connection), after, filter)
    }

    async fn clear_through(
        &self,
        after: Option<u64>,
        until: u64,
        filter: &SubscriptionFilter,
    ) -> Result<Option<u64>, StoreError> {
        lookahead::clear_through(&self.connection, after, until, filter).await
    }
}
