//! Snapshots on KurrentDB: a stream per aggregate stream, `causeway.snapshot-<stream>`, whose
//! newest event is the snapshot (its data the encoded state, its custom metadata the version,
//! revision and position as JSON). The stream's `$maxCount` is 1, so KurrentDB drops the older
//! ones itself.
//!
//! - Writing reads the newest snapshot first and appends at its revision: an older one of the
//!   same version never replaces a newer one, and of two processes writing at once one wins and
//!   the other's append is refused and dropped (a snapshot is only ever an optimisation).
//! - Snapshot streams are Causeway's own, like KurrentDB's `$` streams: `$all` reads skip them,
//!   subscriptions turn their events into checkpoints, and the head ignores them
//!   ([`is_snapshot_stream`]).

use kurrentdb::{
    AppendToStreamOptions, EventData, ReadStreamOptions, StreamMetadataBuilder, StreamPosition,
    StreamState,
};
use serde::{Deserialize, Serialize};
use tracing::warn;

use super::connection::{self, Connection};
use crate::store::{Snapshot, StoreError};

/// What every snapshot stream's name starts with.
const PREFIX: &str = "causeway.snapshot-";

/// The type of every snapshot event.
const EVENT_TYPE: &str = "causeway.snapshot";

/// The snapshot's facts besides its state, kept as the event's custom metadata.
#[derive(Debug, Serialize, Deserialize)]
struct Header {
    version: u32,
    revision: u64,
    position: u64,
}

/// Whether `stream` holds snapshots rather than events of an aggregate.
pub(super) fn is_snapshot_stream(stream: &str) -> bool {
    stream.starts_with(PREFIX)
}

/// The stream holding the snapshots of `stream`.
fn snapshot_stream(stream: &str) -> String {
    format!("{PREFIX}{stream}")
}

/// The newest snapshot of `stream`; `None` when there is none or it cannot be read.
pub(super) async fn read(
    connection: &Connection,
    stream: &str,
) -> Result<Option<Snapshot>, StoreError> {
    Ok(newest(connection, stream).await?.and_then(|(_, kept)| kept))
}

/// Keeps `snapshot` as the newest of `stream`, unless one of the same version at a later
/// revision is kept already or another process writes one at the same moment.
pub(super) async fn write(
    connection: &Connection,
    stream: &str,
    snapshot: Snapshot,
) -> Result<(), StoreError> {
    let current = newest(connection, stream).await?;
    if let Some((_, Some(kept))) = &current
        && kept.version == snapshot.version
        && kept.revision > snapshot.revision
    {
        return Ok(());
    }
    let first = current.is_none();
    let expected = current.map_or(StreamState::NoStream, |(at, _)| {
        StreamState::StreamRevision(at)
    });
    let header = Header {
        version: snapshot.version,
        revision: snapshot.revision,
        position: snapshot.position,
    };
    let metadata = serde_json::to_vec(&header)
        .map_err(|e| StoreError::Invalid(format!("a snapshot header does not serialise: {e}")))?;
    let event = EventData::binary(EVENT_TYPE, snapshot.state.into())
        .id(uuid::Uuid::new_v4())
        .metadata(metadata.into());
    let target = snapshot_stream(stream);
    let options = AppendToStreamOptions::default().stream_state(expected);
    let (generation, client) = connection.client()?;
    let written = connection::bounded(
        "snapshot append",
        client.append_to_stream(target.clone(), &options, event),
    )
    .await?;
    match written {
        Ok(_) if first => keep_only_the_newest(connection, &target).await,
        Ok(_) | Err(kurrentdb::Error::WrongExpectedVersion { .. }) => Ok(()),
        Err(error) => Err(connection.failed(generation, "snapshot append", &error)),
    }
}

/// Sets the snapshot stream's `$maxCount` to 1 once, when its first snapshot is written.
async fn keep_only_the_newest(connection: &Connection, target: &str) -> Result<(), StoreError> {
    let metadata = StreamMetadataBuilder::new().max_count(1).build();
    let (generation, client) = connection.client()?;
    let written = connection::bounded(
        "snapshot stream metadata",
        client.set_stream_metadata(target, &AppendToStreamOptions::default(), &metadata),
    )
    .await?;
    written
        .map(|_| ())
        .map_err(|error| connection.failed(generation, "snapshot stream metadata", &error))
}

/// The snapshot stream's newest event: its revision, and the snapshot it holds (`None` when
/// its header does not read, which is logged). `None` when the stream has no event.
async fn newest(
    connection: &Connection,
    stream: &str,
) -> Result<Option<(u64, Option<Snapshot>)>, StoreError> {
    let options = ReadStreamOptions::default()
        .position(StreamPosition::End)
        .backwards()
        .max_count(1);
    let (generation, client) = connection.client()?;
    let read = connection::bounded("snapshot read", async {
        let mut read = client
            .read_stream(snapshot_stream(stream), &options)
            .await?;
        read.next().await
    })
    .await?;
    let event = match read {
        Ok(Some(resolved)) => match resolved.event {
            Some(event) => event,
            None => return Ok(None),
        },
        Ok(None) | Err(kurrentdb::Error::ResourceNotFound) => return Ok(None),
        Err(error) => return Err(connection.failed(generation, "snapshot read", &error)),
    };
    let kept = match serde_json::from_slice::<Header>(&event.custom_metadata) {
        Ok(header) => Some(Snapshot {
            version: header.version,
            revision: header.revision,
            position: header.position,
            state: event.data.to_vec(),
        }),
        Err(e) => {
            warn!(%stream, error = %e, "a snapshot's header does not read; ignoring it");
            None
        }
    };
    Ok(Some((event.revision, kept)))
}
