//! The double's storage: one in-memory log of records in `$all` order, streams as lists of
//! indexes into it, stream metadata, and what KurrentDB does on each write (see `commit` for the
//! rules deciding whether a write goes ahead).
//!
//! - A fresh log starts with system records (`$settings`, `$users`, ...), as a real one does.
//! - Soft delete writes `{"$tb": i64::MAX}` to `$$<stream>`; the stream then reads as missing.
//!   Writing to it again appends after its old last revision and then writes metadata with `$tb`
//!   at the first new revision (a soft undelete). Tombstones are `$streamDeleted` records.
//! - Metadata written to `$$<stream>` (`$tb`, `$maxCount`, `$maxAge`) limits what reads of the
//!   stream return; `$all` keeps every record (a real server drops them only when scavenging).
//! - A link (`$>`, data `<revision>@<stream>`) resolves to its target on reads that ask for it.

mod commit;
mod system;

use std::{
    collections::HashMap,
    sync::Arc,
    time::{SystemTime, UNIX_EPOCH},
};

use uuid::Uuid;

use self::commit::Decision;
pub(crate) use self::system::Metadata;

/// Position of the first record. A real log starts with its own housekeeping records, so
/// positions never start at 0 or 1.
const FIRST_POSITION: u64 = 1_024;
/// Fixed part of a record's size; positions are byte offsets, so they grow by the record size.
const RECORD_OVERHEAD: u64 = 96;
/// The revision KurrentDB gives the tombstone of a hard-deleted stream, and the `$tb` of a
/// soft-deleted one.
pub(crate) const DELETED: u64 = i64::MAX as u64;
/// The event type of a link to another event.
pub(crate) const LINK_TYPE: &str = "$>";
/// The event type of stream metadata.
pub(crate) const METADATA_TYPE: &str = "$metadata";

/// One event as stored.
#[derive(Debug)]
pub(crate) struct Record {
    pub(crate) id: Uuid,
    pub(crate) stream: String,
    pub(crate) revision: u64,
    /// Commit position; the prepare position is the same for every record of the double.
    pub(crate) position: u64,
    pub(crate) event_type: String,
    pub(crate) content_type: String,
    /// 100 ns ticks since the Unix epoch.
    pub(crate) created: i64,
    pub(crate) custom_metadata: Vec<u8>,
    pub(crate) data: Vec<u8>,
}

/// An event a writer proposes.
#[derive(Debug)]
pub(crate) struct Proposed {
    pub(crate) id: Uuid,
    pub(crate) event_type: String,
    pub(crate) content_type: String,
    pub(crate) custom_metadata: Vec<u8>,
    pub(crate) data: Vec<u8>,
}

/// The four expected-revision rules of the protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expected {
    Any,
    NoStream,
    StreamExists,
    Exact(u64),
}

impl Expected {
    /// The number KurrentDB uses for this rule in errors: -2 any, -1 no stream, -4 stream exists.
    pub(crate) fn version(self) -> i64 {
        match self {
            Self::Any => -2,
            Self::NoStream => -1,
            Self::StreamExists => -4,
            Self::Exact(revision) => i64::try_from(revision).unwrap_or(i64::MAX),
        }
    }
}

/// How a write ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Written {
    /// Stored (or recognised as already stored): the last revision and its position.
    Ok { revision: u64, position: u64 },
    /// The expected revision did not hold (or only part of the batch was already stored);
    /// `current` is the stream's last revision, soft-deleted events included.
    WrongExpected { current: Option<u64> },
    /// The batch was empty and the expectation held: nothing stored.
    Nothing { current: Option<u64> },
    /// The stream is deleted: tombstoned, or soft-deleted and written with `StreamExists`.
    Deleted,
}

/// Why a delete or tombstone was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// `current` is the stream's last revision, soft-deleted events included.
    WrongExpected {
        current: Option<u64>,
    },
    Deleted,
}

/// The stream was hard-deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tombstoned;

/// What a read of one stream sees.
#[derive(Debug)]
pub(crate) struct StreamView {
    /// The records its metadata leaves visible, in revision order.
    pub(crate) records: Vec<Arc<Record>>,
    /// The stream's last revision (visible or not).
    pub(crate) last: u64,
    /// The first revision a read could return.
    pub(crate) first: u64,
}

#[derive(Debug, Default)]
struct Stream {
    /// Indexes into [`Log::records`], in revision order.
    records: Vec<usize>,
    metadata: Metadata,
    tombstoned: bool,
}

/// Every record, and every stream's view of them.
#[derive(Debug)]
pub(crate) struct Log {
    records: Vec<Arc<Record>>,
    streams: HashMap<String, Stream>,
    /// The latest record written with each event id (KurrentDB's committed-events index).
    ids: HashMap<Uuid, usize>,
    next_position: u64,
}

impl Default for Log {
    fn default() -> Self {
        let mut log = Self {
            records: Vec::new(),
            streams: HashMap::new(),
            ids: HashMap::new(),
            next_position: FIRST_POSITION,
        };
        for event in system::initial_records() {
            let (stream, proposed) = event;
            let revision = log.next_revision(&stream);
            log.push(&stream, revision, proposed);
        }
        log
    }
}

impl Log {
    /// Every record in `$all` order.
    pub(crate) fn records(&self) -> &[Arc<Record>] {
        &self.records
    }

    /// What a read of `name` sees: `None` when it has no records or is soft-deleted, `Err` when
    /// it is tombstoned.
    pub(crate) fn stream(&self, name: &str) -> Result<Option<StreamView>, Tombstoned> {
        let Some(stream) = self.streams.get(name) else {
            return Ok(None);
        };
        if stream.tombstoned {
            return Err(Tombstoned);
        }
        let Some(&last_index) = stream.records.last() else {
            return Ok(None);
        };
        if stream.metadata.truncate_before == Some(DELETED) {
            return Ok(None);
        }
        let last = self.records[last_index].revision;
        let first = stream.metadata.first_visible(last);
        let oldest = stream.metadata.oldest_visible(now_ticks());
        let records = stream
            .records
            .iter()
            .map(|&i| Arc::clone(&self.records[i]))
            .filter(|r| r.revision >= first && r.created >= oldest)
            .collect();
        Ok(Some(StreamView {
            records,
            last,
            first,
        }))
    }

    /// The target of `record` if it is a link whose target a read of its stream would return.
    pub(crate) fn resolve(&self, record: &Record) -> Option<Arc<Record>> {
        if record.event_type != LINK_TYPE {
            return None;
        }
        let text = std::str::from_utf8(&record.data).ok()?;
        let (revision, stream) = text.split_once('@')?;
        let revision: u64 = revision.trim().parse().ok()?;
        let view = self.stream(stream).ok()??;
        view.records.into_iter().find(|r| r.revision == revision)
    }

    /// Appends `events` to `name` if KurrentDB would, all or nothing; a batch already stored is
    /// acknowledged again (idempotent writes).
    pub(crate) fn append(
        &mut self,
        name: &str,
        expected: Expected,
        events: Vec<Proposed>,
    ) -> Written {
        let ids: Vec<Uuid> = events.iter().map(|e| e.id).collect();
        let current = self.current_revision(name);
        match self.check(name, expected, &ids) {
            Decision::Deleted => Written::Deleted,
            Decision::WrongExpected => Written::WrongExpected { current },
            Decision::AlreadyWritten(index) => {
                let record = &self.records[index];
                Written::Ok {
                    revision: record.revision,
                    position: record.position,
                }
            }
            Decision::Write { soft_deleted } => {
                let first = self.next_revision(name);
                let mut written = Written::Nothing { current };
                for (revision, event) in (first..).zip(events) {
                    let position = self.push(name, revision, event);
                    written = Written::Ok { revision, position };
                }
                if soft_deleted {
                    self.undelete(name, first);
                }
                written
            }
        }
    }

    /// Soft delete: `$metadata` with `$tb` at [`DELETED`] in `$$<stream>`. Returns its position.
    pub(crate) fn delete(&mut self, name: &str, expected: Expected) -> Result<u64, Refused> {
        self.check_delete(name, expected)?;
        let metadata = Metadata {
            truncate_before: Some(DELETED),
            ..Metadata::default()
        };
        Ok(self.write_metadata(name, &metadata))
    }

    /// Hard delete: a `$streamDeleted` record closes the stream for good.
    pub(crate) fn tombstone(&mut self, name: &str, expected: Expected) -> Result<u64, Refused> {
        self.check_delete(name, expected)?;
        let position = self.push(
            name,
            DELETED,
            Proposed {
                id: Uuid::new_v4(),
                event_type: "$streamDeleted".into(),
                content_type: "application/octet-stream".into(),
                custom_metadata: Vec::new(),
                data: Vec::new(),
            },
        );
        if let Some(stream) = self.streams.get_mut(name) {
            stream.tombstoned = true;
        }
        Ok(position)
    }

    /// The last revision of `name`, soft-deleted or truncated events included; what expected
    /// revisions are checked against.
    pub(crate) fn current_revision(&self, name: &str) -> Option<u64> {
        let stream = self.streams.get(name)?;
        Some(self.records[*stream.records.last()?].revision)
    }

    fn next_revision(&self, name: &str) -> u64 {
        self.current_revision(name).map_or(0, |r| r + 1)
    }

    fn check_delete(&self, name: &str, expected: Expected) -> Result<(), Refused> {
        match self.check(name, expected, &[Uuid::new_v4()]) {
            Decision::Deleted => Err(Refused::Deleted),
            Decision::WrongExpected => Err(Refused::WrongExpected {
                current: self.current_revision(name),
            }),
            Decision::Write { .. } | Decision::AlreadyWritten(_) => Ok(()),
        }
    }

    /// After a write to a soft-deleted stream: its metadata again, with `$tb` at `first`.
    fn undelete(&mut self, name: &str, first: u64) {
        let mut metadata = self
            .streams
            .get(name)
            .map(|s| s.metadata.clone())
            .unwrap_or_default();
        metadata.truncate_before = Some(first);
        self.write_metadata(name, &metadata);
    }

    fn write_metadata(&mut self, name: &str, metadata: &Metadata) -> u64 {
        let meta_stream = format!("$${name}");
        let revision = self.next_revision(&meta_stream);
        self.push(
            &meta_stream,
            revision,
            Proposed {
                id: Uuid::new_v4(),
                event_type: METADATA_TYPE.into(),
                content_type: "application/json".into(),
                custom_metadata: Vec::new(),
                data: metadata.to_json(),
            },
        )
    }

    fn push(&mut self, name: &str, revision: u64, event: Proposed) -> u64 {
        let position = self.next_position;
        let size = event.data.len() + event.custom_metadata.len() + name.len();
        self.next_position += RECORD_OVERHEAD + u64::try_from(size).unwrap_or(u64::MAX / 4);
        let index = self.records.len();
        match name.strip_prefix("$$") {
            Some(original) if event.event_type == METADATA_TYPE => {
                self.streams
                    .entry(original.to_owned())
                    .or_default()
                    .metadata = Metadata::from_json(&event.data);
            }
            _ => {}
        }
        self.ids.insert(event.id, index);
        self.records.push(Arc::new(Record {
            id: event.id,
            stream: name.to_owned(),
            revision,
            position,
            event_type: event.event_type,
            content_type: event.content_type,
            created: now_ticks(),
            custom_metadata: event.custom_metadata,
            data: event.data,
        }));
        self.streams
            .entry(name.to_owned())
            .or_default()
            .records
            .push(index);
        position
    }
}

/// Now, in KurrentDB's `created` unit: 100 ns ticks since the Unix epoch.
pub(crate) fn now_ticks() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos() / 100).unwrap_or(i64::MAX))
}
