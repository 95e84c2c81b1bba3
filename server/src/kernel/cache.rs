//! Aggregates kept in memory between commands, so a command on a hot stream does not re-read and
//! re-fold its whole history.
//!
//! The cache never decides anything on its own authority. A state served from it may be stale
//! when another process wrote the stream; the append that follows carries the cached revision as
//! its expected revision, so a stale state can only make the append fail, and the command handler
//! then reloads from the store. Every outcome other than "append these events" (a refusal, a
//! no-op, a caller's expected revision that does not match) is likewise re-checked against a
//! fresh load before it is answered. A deduplicated answer from the cache is always right: the
//! ids it holds were read from, or acknowledged by, the store.

use std::{
    any::Any,
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
};

use uuid::Uuid;

use super::{Aggregate, Head};

/// One stored event as deduplication needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct EventRef {
    pub(super) id: Uuid,
    pub(super) revision: u64,
    pub(super) position: u64,
}

/// A cached aggregate: its state, the head it was folded to and the ids of its events.
struct Entry {
    state: Box<dyn Any + Send + Sync>,
    head: Head,
    history: Vec<EventRef>,
}

impl Entry {
    /// What the entry costs against the capacity: one unit per event id held, plus the state.
    fn weight(&self) -> usize {
        self.history.len() + 1
    }
}

/// What the cache knows for one command.
pub(super) enum Hit<A> {
    /// The command was handled before; this is the last event it wrote.
    Deduplicated(EventRef),
    /// A copy of the cached state and the head it was folded to.
    State(A, Head),
}

/// Aggregates by stream, bounded by the number of event ids they hold.
#[derive(Clone)]
pub struct AggregateCache {
    inner: Arc<Mutex<Entries>>,
}

struct Entries {
    by_stream: HashMap<String, Entry>,
    weight: usize,
    capacity: usize,
}

impl std::fmt::Debug for AggregateCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let entries = self.lock();
        f.debug_struct("AggregateCache")
            .field("streams", &entries.by_stream.len())
            .field("weight", &entries.weight)
            .field("capacity", &entries.capacity)
            .finish()
    }
}

impl AggregateCache {
    /// Default capacity: event ids held across all cached streams (about 40 bytes each, plus
    /// the states), a few MiB for the hottest streams of a busy server.
    pub const DEFAULT_CAPACITY: usize = 100_000;

    /// A cache holding at most `capacity` event ids; 0 turns it off.
    pub fn new(capacity: usize) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Entries {
                by_stream: HashMap::new(),
                weight: 0,
                capacity,
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Entries> {
        // A panic while holding the lock cannot leave an entry half-written (every mutation is
        // one insert or remove), so a poisoned lock is still a consistent cache.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// What the cache holds for `stream`: the command's earlier outcome when `dedup` finds it
    /// among the cached event ids, else a copy of the state; `None` on a miss.
    pub(super) fn get<A: Aggregate + Clone>(
        &self,
        stream: &str,
        dedup: impl FnOnce(&[EventRef]) -> Option<EventRef>,
    ) -> Option<Hit<A>> {
        let entries = self.lock();
        let entry = entries.by_stream.get(stream)?;
        if let Some(found) = dedup(&entry.history) {
            return Some(Hit::Deduplicated(found));
        }
        let state = entry.state.downcast_ref::<A>()?.clone();
        Some(Hit::State(state, entry.head))
    }

    /// Keeps `state` at `head` for `stream`, unless the cache already holds a newer head.
    pub(super) fn put<A: Aggregate>(
        &self,
        stream: &str,
        state: A,
        head: Head,
        history: Vec<EventRef>,
    ) {
        let mut entries = self.lock();
        if history.len() >= entries.capacity {
            return; // larger than the whole cache, or the cache is off
        }
        if let Some(existing) = entries.by_stream.get(stream) {
            if existing.head.revision >= head.revision {
                return;
            }
        }
        let entry = Entry {
            state: Box::new(state),
            head,
            history,
        };
        entries.insert(stream, entry);
    }

    /// Moves `stream` from `from` (the head the command decided on) to `head`, appending the ids
    /// of the events in between. An entry someone else already moved to `head` or beyond is
    /// kept as it is; one at any other head is dropped, to be reloaded by the next command.
    pub(super) fn advance<A: Aggregate>(
        &self,
        stream: &str,
        from: Option<u64>,
        state: A,
        head: Head,
        appended: &[EventRef],
    ) {
        let mut entries = self.lock();
        let Some(mut entry) = entries.remove(stream) else {
            return;
        };
        if entry.head.revision >= head.revision {
            entries.insert(stream, entry); // already there: a concurrent winner moved it
            return;
        }
        if Some(entry.head.revision) != from {
            return; // some other head: the next command reloads
        }
        entry.history.extend_from_slice(appended);
        entry.head = head;
        entry.state = Box::new(state);
        if entry.history.len() < entries.capacity {
            entries.insert(stream, entry);
        }
    }

    /// Forgets `stream`, after the store showed the cached state was stale.
    pub(super) fn forget(&self, stream: &str) {
        self.lock().remove(stream);
    }
}

impl Entries {
    fn remove(&mut self, stream: &str) -> Option<Entry> {
        let entry = self.by_stream.remove(stream)?;
        self.weight -= entry.weight();
        Some(entry)
    }

    /// Inserts `entry`, evicting other streams (in no particular order) to stay within capacity.
    fn insert(&mut self, stream: &str, entry: Entry) {
        self.remove(stream);
        while self.weight + entry.weight() > self.capacity {
            let Some(victim) = self.by_stream.keys().next().cloned() else {
                break;
            };
            self.remove(&victim);
        }
        self.weight += entry.weight();
        self.by_stream.insert(stream.to_owned(), entry);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Default)]
    struct Tiny;

    impl Aggregate for Tiny {
        const CATEGORY: &'static str = "tiny";
        type Event = crate::inventory::ProductEvent;
        fn apply(&mut self, _: &Self::Event) {}
    }

    fn history(n: u64) -> Vec<EventRef> {
        (0..n)
            .map(|revision| EventRef {
                id: Uuid::from_u64_pair(0, revision),
                revision,
                position: revision,
            })
            .collect()
    }

    #[test]
    fn stays_within_its_capacity_by_evicting_other_streams() {
        let cache = AggregateCache::new(100);
        for n in 0..50 {
            cache.put(
                &format!("tiny-{n}"),
                Tiny,
                Head {
                    revision: 9,
                    position: 9,
                },
                history(10),
            );
            let entries = cache.lock();
            assert!(entries.weight <= 100, "weight {}", entries.weight);
            assert_eq!(
                entries.weight,
                entries.by_stream.values().map(Entry::weight).sum::<usize>()
            );
        }
        // A stream larger than the whole cache is not kept
        cache.put(
            "tiny-huge",
            Tiny,
            Head {
                revision: 200,
                position: 200,
            },
            history(200),
        );
        assert!(cache.get::<Tiny>("tiny-huge", |_| None).is_none());
    }

    #[test]
    fn never_goes_back_to_an_older_head_and_drops_an_entry_it_cannot_place() {
        let cache = AggregateCache::new(100);
        cache.put(
            "tiny-a",
            Tiny,
            Head {
                revision: 5,
                position: 50,
            },
            history(6),
        );
        cache.put(
            "tiny-a",
            Tiny,
            Head {
                revision: 3,
                position: 30,
            },
            history(4),
        );
        assert!(matches!(
            cache.get::<Tiny>("tiny-a", |_| None),
            Some(Hit::State(
                _,
                Head {
                    revision: 5,
                    position: 50
                }
            ))
        ));
        // A command that lost to the entry's own head leaves it as it is
        cache.advance(
            "tiny-a",
            Some(4),
            Tiny,
            Head {
                revision: 5,
                position: 51,
            },
            &history(1),
        );
        assert!(matches!(
            cache.get::<Tiny>("tiny-a", |_| None),
            Some(Hit::State(
                _,
                Head {
                    revision: 5,
                    position: 50
                }
            ))
        ));
        // One that decided on a head the entry never had drops it
        cache.advance(
            "tiny-a",
            Some(6),
            Tiny,
            Head {
                revision: 7,
                position: 70,
            },
            &history(1),
        );
        assert!(cache.get::<Tiny>("tiny-a", |_| None).is_none());
    }
}
