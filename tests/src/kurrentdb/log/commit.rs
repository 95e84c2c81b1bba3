//! Whether a write goes ahead, as KurrentDB's index writer decides it (its commit check), for
//! appends, soft deletes and tombstones alike.
//!
//! - A tombstoned stream refuses everything. `StreamExists` on a soft-deleted stream is refused
//!   as deleted; on a stream without events it holds only if the stream has metadata.
//! - `Any` and `StreamExists` are idempotent by event id: if the first id is already in the
//!   stream, every id must be (anywhere in it) and the write is acknowledged as already done;
//!   if only some are, it is refused as a wrong expected version. If the first id is new, the
//!   batch is written whatever the others are.
//! - An exact revision (or `NoStream`) behind the stream's last revision is idempotent when the
//!   ids are exactly the events after that revision; a partial match is refused. `NoStream` on a
//!   soft-deleted stream writes after its old last revision.
//! - Otherwise the expected revision must equal the last revision, soft-deleted events included:
//!   after a soft delete at revision 1, `Exact(1)` writes revision 2.

use uuid::Uuid;

use super::{DELETED, Expected, Log};

/// The outcome of the check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Decision {
    /// Write the batch; `soft_deleted` when the stream must be undeleted afterwards.
    Write {
        soft_deleted: bool,
    },
    /// Already written: the record index of the batch's last event.
    AlreadyWritten(usize),
    WrongExpected,
    Deleted,
}

impl Log {
    /// Decides a write of events with `ids` to `name` under `expected`.
    pub(super) fn check(&self, name: &str, expected: Expected, ids: &[Uuid]) -> Decision {
        let stream = self.streams.get(name);
        if stream.is_some_and(|s| s.tombstoned) {
            return Decision::Deleted;
        }
        let soft_deleted = stream.is_some_and(|s| s.metadata.truncate_before == Some(DELETED));
        let current = self.current_revision(name);
        if expected == Expected::StreamExists {
            if soft_deleted {
                return Decision::Deleted;
            }
            let has_metadata = self
                .streams
                .get(&format!("$${name}"))
                .is_some_and(|s| !s.records.is_empty());
            if current.is_none() && !has_metadata {
                return Decision::WrongExpected;
            }
        }
        if matches!(expected, Expected::Any | Expected::StreamExists) {
            return self.check_ids_anywhere(name, ids, soft_deleted);
        }
        let expected_version = expected.version();
        let current_version = current.map_or(-1, |r| i64::try_from(r).unwrap_or(i64::MAX));
        if expected_version < current_version {
            return self.check_ids_after(name, expected, ids, soft_deleted);
        }
        if expected_version > current_version {
            return Decision::WrongExpected;
        }
        Decision::Write { soft_deleted }
    }

    /// `Any`/`StreamExists`: is the batch already somewhere in the stream?
    fn check_ids_anywhere(&self, name: &str, ids: &[Uuid], soft_deleted: bool) -> Decision {
        let mut last = None;
        for (i, id) in ids.iter().enumerate() {
            let found = self
                .ids
                .get(id)
                .copied()
                .filter(|&index| self.records[index].stream == name);
            match found {
                Some(index) => last = Some(index),
                None if i == 0 => return Decision::Write { soft_deleted },
                None => return Decision::WrongExpected,
            }
        }
        match last {
            Some(index) => Decision::AlreadyWritten(index),
            None => Decision::Write { soft_deleted },
        }
    }

    /// An expected revision behind the stream: are the ids exactly the events after it?
    fn check_ids_after(
        &self,
        name: &str,
        expected: Expected,
        ids: &[Uuid],
        soft_deleted: bool,
    ) -> Decision {
        let Some(stream) = self.streams.get(name) else {
            return Decision::WrongExpected;
        };
        let start = match expected {
            Expected::Exact(revision) => usize::try_from(revision)
                .ok()
                .and_then(|r| r.checked_add(1)),
            _ => Some(0),
        };
        let Some(start) = start else {
            return Decision::WrongExpected;
        };
        let mut last = None;
        for (i, id) in ids.iter().enumerate() {
            let stored = stream
                .records
                .get(start + i)
                .copied()
                .filter(|&index| self.records[index].id == *id);
            match stored {
                Some(index) => last = Some(index),
                None if i > 0 => return Decision::WrongExpected,
                None if expected == Expected::NoStream && soft_deleted => {
                    return Decision::Write { soft_deleted };
                }
                None => return Decision::WrongExpected,
            }
        }
        last.map_or(Decision::WrongExpected, Decision::AlreadyWritten)
    }
}
