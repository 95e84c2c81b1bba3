//! The event ids of a stream that a process holds for deduplication: all of them (the stream
//! was folded from its start), or only those from some revision on (it was loaded from a
//! snapshot, or a cached stream grew past what is worth keeping). A command id not found among
//! the ids held is new only when they are all of them; otherwise the store is asked.

use uuid::Uuid;

use super::ids::event_id;

/// One stored event as deduplication needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct EventRef {
    pub(super) id: Uuid,
    pub(super) revision: u64,
    pub(super) position: u64,
}

/// Ids of a stream's events from revision `from` on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct History {
    from: u64,
    refs: Vec<EventRef>,
}

/// What the ids held say about a command id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Earlier {
    /// It ran before; this is the last event it wrote.
    Ran(EventRef),
    /// It never ran on this stream.
    New,
    /// Not among the ids held, which are not all of the stream's.
    Unknown,
}

impl History {
    /// Every id of a stream, from revision 0.
    pub(super) fn whole(refs: Vec<EventRef>) -> Self {
        Self { from: 0, refs }
    }

    /// The ids of the events from revision `from` on.
    pub(super) fn since(from: u64, refs: Vec<EventRef>) -> Self {
        Self { from, refs }
    }

    /// Whether every id of the stream is held.
    pub(super) fn is_whole(&self) -> bool {
        self.from == 0
    }

    /// The ids held.
    #[cfg(test)]
    pub(super) fn refs(&self) -> &[EventRef] {
        &self.refs
    }

    /// Adds the ids of events after those held.
    pub(super) fn extend(&mut self, newer: &[EventRef]) {
        self.refs.extend_from_slice(newer);
    }

    /// Keeps only the newest `keep` ids (the history is then no longer whole).
    pub(super) fn keep_newest(&mut self, keep: usize) {
        let drop = self.refs.len().saturating_sub(keep);
        if let Some(last_dropped) = drop.checked_sub(1).and_then(|i| self.refs.get(i)) {
            self.from = last_dropped.revision + 1;
            self.refs.drain(..drop);
        }
    }

    /// Ids held.
    pub(super) fn len(&self) -> usize {
        self.refs.len()
    }

    /// What the ids held say about `command_id` on `stream`. Event ids derive from the command
    /// id, so no metadata is parsed: the command's events are the run starting with its event
    /// 0.
    pub(super) fn earlier(&self, stream: &str, command_id: &str) -> Earlier {
        match run_of(stream, command_id, &self.refs) {
            Some(last) => Earlier::Ran(last),
            None if self.is_whole() => Earlier::New,
            None => Earlier::Unknown,
        }
    }
}

/// The last event of `command_id`'s run in `refs`, when its first event is among them.
pub(super) fn run_of(stream: &str, command_id: &str, refs: &[EventRef]) -> Option<EventRef> {
    let first_id = event_id(command_id, stream, 0);
    let start = refs.iter().position(|r| r.id == first_id)?;
    let count = refs[start..]
        .iter()
        .enumerate()
        .take_while(|(index, r)| r.id == event_id(command_id, stream, *index))
        .count();
    refs.get(start + count - 1).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refs(stream: &str, commands: &[(&str, usize)]) -> Vec<EventRef> {
        let mut revision = 0;
        let mut out = Vec::new();
        for (command, events) in commands {
            for index in 0..*events {
                out.push(EventRef {
                    id: event_id(command, stream, index),
                    revision,
                    position: revision + 100,
                });
                revision += 1;
            }
        }
        out
    }

    #[test]
    fn a_command_is_found_by_its_run_and_unknown_only_when_ids_are_missing() {
        let all = refs("s-1", &[("a", 2), ("b", 1), ("c", 3)]);
        let whole = History::whole(all.clone());
        assert_eq!(whole.earlier("s-1", "a"), Earlier::Ran(all[1]));
        assert_eq!(whole.earlier("s-1", "c"), Earlier::Ran(all[5]));
        assert_eq!(whole.earlier("s-1", "z"), Earlier::New);
        assert_eq!(
            whole.earlier("s-2", "a"),
            Earlier::New,
            "ids are per stream"
        );

        let mut trimmed = whole.clone();
        trimmed.keep_newest(4);
        assert!(!trimmed.is_whole());
        assert_eq!(trimmed.refs().first().map(|r| r.revision), Some(2));
        assert_eq!(trimmed.earlier("s-1", "c"), Earlier::Ran(all[5]));
        assert_eq!(trimmed.earlier("s-1", "a"), Earlier::Unknown);
        assert_eq!(trimmed.earlier("s-1", "z"), Earlier::Unknown);

        let after_snapshot = History::since(6, Vec::new());
        assert_eq!(after_snapshot.earlier("s-1", "a"), Earlier::Unknown);
    }
}
