//! The double's storage: one in-memory log of records in `$all` order, streams as lists of
//! indexes into it, and the write rules of KurrentDB (expected revisions, idempotent re-appends
//! by event id, soft delete, tombstone).

use std::{
    collections::HashMap,
    sync::Arc,
    time::{SystemTime, UNIX_EPOCH},
};

use uuid::Uuid;

/// Position of the first record. A real log starts with its own housekeeping records, so
/// positions never start at 0 or 1.
const FIRST_POSITION: u64 = 1_024;
/// Fixed part of a record's size; positions are byte offsets, so they grow by the record size.
const RECORD_OVERHEAD: u64 = 96;
/// The revision KurrentDB gives the tombstone of a hard-deleted stream.
pub(crate) const TOMBSTONE_REVISION: u64 = i64::MAX as u64;

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
    /// Whether a stream whose last revision is `current` meets this expectation.
    fn holds(self, current: Option<u64>) -> bool {
        match self {
            Self::Any => true,
            Self::NoStream => current.is_none(),
            Self::StreamExists => current.is_some(),
            Self::Exact(revision) => current == Some(revision),
        }
    }
}

/// How a write ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Written {
    /// Stored (or recognised as already stored): the last revision and its position.
    Ok { revision: u64, position: u64 },
    /// The expected revision did not hold; `current` is the stream's revision.
    WrongExpected { current: Option<u64> },
    /// The batch was empty and the expectation held: nothing stored.
    Nothing { current: Option<u64> },
    /// The stream is tombstoned and takes no more writes.
    Tombstoned,
}

#[derive(Debug, Default)]
pub(crate) struct Stream {
    /// Indexes into [`Log::records`], in revision order.
    records: Vec<usize>,
    /// Soft delete: revisions below this are gone.
    truncated_before: u64,
    tombstoned: bool,
}

/// Every record, and every stream's view of them.
#[derive(Debug)]
pub(crate) struct Log {
    records: Vec<Arc<Record>>,
    streams: HashMap<String, Stream>,
    next_position: u64,
}

impl Default for Log {
    fn default() -> Self {
        Self {
            records: Vec::new(),
            streams: HashMap::new(),
            next_position: FIRST_POSITION,
        }
    }
}

impl Log {
    /// Every record in `$all` order.
    pub(crate) fn records(&self) -> &[Arc<Record>] {
        &self.records
    }

    /// The visible records of `name`, `None` when it does not exist (or was soft-deleted and
    /// not written since), `Err` when it is tombstoned.
    pub(crate) fn stream(&self, name: &str) -> Result<Option<Vec<Arc<Record>>>, Tombstoned> {
        let Some(stream) = self.streams.get(name) else {
            return Ok(None);
        };
        if stream.tombstoned {
            return Err(Tombstoned);
        }
        let visible: Vec<Arc<Record>> = stream
            .records
            .iter()
            .map(|&i| Arc::clone(&self.records[i]))
            .filter(|r| r.revision >= stream.truncated_before)
            .collect();
        Ok((!visible.is_empty()).then_some(visible))
    }

    /// Appends `events` to `name` if `expected` holds, all or nothing. A batch whose ids are
    /// already stored where `expected` says they would go is acknowledged again and not stored
    /// twice (KurrentDB's idempotent writes).
    pub(crate) fn append(
        &mut self,
        name: &str,
        expected: Expected,
        events: Vec<Proposed>,
    ) -> Written {
        let stream = self.streams.get(name);
        if stream.is_some_and(|s| s.tombstoned) {
            return Written::Tombstoned;
        }
        if let Some(done) = self.already_written(name, expected, &events) {
            return done;
        }
        let current = self.current_revision(name);
        if !expected.holds(current) {
            return Written::WrongExpected { current };
        }
        let first = self.next_revision(name);
        let mut last = Written::Nothing { current };
        for (revision, event) in (first..).zip(events) {
            let position = self.push(name, revision, event);
            last = Written::Ok { revision, position };
        }
        last
    }

    /// Soft delete: the stream reads as missing until written again, with revisions going on
    /// from where they were. Recorded as `$metadata` with `$tb` in `$$<stream>`, as KurrentDB
    /// does. Returns the position of that record.
    pub(crate) fn delete(&mut self, name: &str, expected: Expected) -> Result<u64, Refused> {
        self.check_delete(name, expected)?;
        let truncate_before = self.next_revision(name);
        let meta_stream = format!("$${name}");
        let meta_revision = self.next_revision(&meta_stream);
        let position = self.push(
            &meta_stream,
            meta_revision,
            Proposed {
                id: Uuid::new_v4(),
                event_type: "$metadata".into(),
                content_type: "application/json".into(),
                custom_metadata: Vec::new(),
                data: format!(r#"{{"$tb":{truncate_before}}}"#).into_bytes(),
            },
        );
        if let Some(stream) = self.streams.get_mut(name) {
            stream.truncated_before = truncate_before;
        }
        Ok(position)
    }

    /// Hard delete: a `$streamDeleted` record closes the stream for good.
    pub(crate) fn tombstone(&mut self, name: &str, expected: Expected) -> Result<u64, Refused> {
        self.check_delete(name, expected)?;
        let position = self.push(
            name,
            TOMBSTONE_REVISION,
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

    /// The last visible revision of `name`.
    pub(crate) fn current_revision(&self, name: &str) -> Option<u64> {
        let stream = self.streams.get(name)?;
        let last = self.records[*stream.records.last()?].revision;
        (last >= stream.truncated_before).then_some(last)
    }

    fn next_revision(&self, name: &str) -> u64 {
        self.streams
            .get(name)
            .and_then(|s| s.records.last())
            .map_or(0, |&i| self.records[i].revision + 1)
    }

    fn check_delete(&self, name: &str, expected: Expected) -> Result<(), Refused> {
        if self.streams.get(name).is_some_and(|s| s.tombstoned) {
            return Err(Refused::Tombstoned);
        }
        if expected.holds(self.current_revision(name)) {
            Ok(())
        } else {
            Err(Refused::WrongExpected)
        }
    }

    /// The original acknowledgement if every event of `events` is already stored, in order,
    /// where `expected` places the batch (anywhere in the stream for `Any`/`StreamExists`).
    fn already_written(
        &self,
        name: &str,
        expected: Expected,
        events: &[Proposed],
    ) -> Option<Written> {
        let stream = self.streams.get(name)?;
        let first = events.first()?;
        let start = match expected {
            Expected::NoStream => 0,
            Expected::Exact(revision) => usize::try_from(revision).ok()?.checked_add(1)?,
            Expected::Any | Expected::StreamExists => stream
                .records
                .iter()
                .position(|&i| self.records[i].id == first.id)?,
        };
        let stored = stream
            .records
            .get(start..start.checked_add(events.len())?)?;
        let same = stored
            .iter()
            .zip(events)
            .all(|(&i, event)| self.records[i].id == event.id);
        let last = &self.records[*stored.last()?];
        same.then_some(Written::Ok {
            revision: last.revision,
            position: last.position,
        })
    }

    fn push(&mut self, name: &str, revision: u64, event: Proposed) -> u64 {
        let position = self.next_position;
        let size = event.data.len() + event.custom_metadata.len() + name.len();
        self.next_position += RECORD_OVERHEAD + u64::try_from(size).unwrap_or(u64::MAX / 4);
        let index = self.records.len();
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

/// The stream was hard-deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tombstoned;

/// Why a delete or tombstone was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    WrongExpected,
    Tombstoned,
}

/// Now, in KurrentDB's `created` unit: 100 ns ticks since the Unix epoch.
fn now_ticks() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos() / 100).unwrap_or(i64::MAX))
}
