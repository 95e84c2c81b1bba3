//! Aggregates kept in memory between commands, so a command on a hot stream does not re-read and
//! re-fold its history.
//!
//! The cache never decides anything on its own authority. A state served from it may be stale
//! when another process wrote the stream; the append that follows carries the cached revision as
//! its expected revision, so a stale state can only make the append fail, and the command handler
//! then reloads from the store. Every outcome other than "append these events" (a refusal, a
//! no-op, a caller's expected revision that does not match) is likewise re-checked against a
//! fresh load before it is answered, unless an append in the same group proved the state
//! current. A deduplicated answer from the cache is always right: the ids it holds were read
//! from, or acknowledged by, the store.
//!
//! While a group of commands is decided on a stream, its entry is out of the cache (taken,
//! not copied): states that grow with their stream (a product's reservations) would otherwise
//! be copied for every command.
//!
//! It is bounded by bytes: each entry is weighed as its state's footprint
//! ([`Aggregate::footprint`]), the event ids it holds and a fixed overhead, and the least
//! recently used entries go first when a new one does not fit. One entry holds at most a
//! sixteenth of the whole in event ids; a longer history keeps its newest ids, and deduplication
//! asks the store about older ones.

use std::{
    any::Any,
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex, MutexGuard},
};

use super::{
    Aggregate, Head,
    history::{EventRef, History},
};
use crate::config::ByteSize;

/// What one cached stream costs besides its state and ids: the map slot, the boxed state's
/// header, the recency record.
const ENTRY_OVERHEAD: usize = 160;

/// A cached aggregate: its state, the head it was folded to, the ids of its events and the
/// revision of its latest snapshot.
struct Entry {
    state: Box<dyn Any + Send + Sync>,
    head: Head,
    history: History,
    snapshot_at: Option<u64>,
    bytes: usize,
    used: u64,
}

/// What the cache held for one stream, taken out of it while a group is decided on it.
pub(super) struct Taken<A> {
    /// The cached state.
    pub(super) state: A,
    /// The head it was folded to.
    pub(super) head: Head,
    /// The ids held for deduplication.
    pub(super) history: History,
    /// The revision of the stream's latest snapshot, as far as this process knows.
    pub(super) snapshot_at: Option<u64>,
}

/// Aggregates by stream, bounded by bytes, least recently used out first.
#[derive(Clone)]
pub struct AggregateCache {
    inner: Arc<Mutex<Entries>>,
}

struct Entries {
    by_stream: HashMap<Arc<str>, Entry>,
    /// Streams in the order they were used, with the tick of that use; a record whose tick is
    /// no longer its entry's is stale and skipped.
    recency: VecDeque<(Arc<str>, u64)>,
    tick: u64,
    bytes: usize,
    capacity: usize,
}

impl std::fmt::Debug for AggregateCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let entries = self.lock();
        f.debug_struct("AggregateCache")
            .field("streams", &entries.by_stream.len())
            .field("bytes", &entries.bytes)
            .field("capacity", &entries.capacity)
            .finish()
    }
}

impl AggregateCache {
    /// Default size: room for thousands of hot streams (a product with a thousand
    /// reservations is about 100 KiB; an order or a fulfilment under 1 KiB), small beside the
    /// process's other memory, and full soon after start so memory stays flat from then on.
    pub const DEFAULT_BYTES: ByteSize = ByteSize::mib(16);

    /// A cache of at most `capacity` bytes; 0 turns it off.
    pub fn new(capacity: ByteSize) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Entries {
                by_stream: HashMap::new(),
                recency: VecDeque::new(),
                tick: 0,
                bytes: 0,
                capacity: capacity.bytes(),
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Entries> {
        // A panic while holding the lock cannot leave an entry half-written (every mutation is
        // one insert or remove with its byte count), so a poisoned lock is still consistent.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes what the cache holds for `stream` out of it; `None` on a miss. Nothing is
    /// copied: within a process only the stream's lane works on it, and puts it back after
    /// its append (a state decided on but not stored must not be seen again).
    pub(super) fn take<A: Aggregate>(&self, stream: &str) -> Option<Taken<A>> {
        let entry = self.lock().remove(stream)?;
        let state = entry.state.downcast::<A>().ok()?;
        Some(Taken {
            state: *state,
            head: entry.head,
            history: entry.history,
            snapshot_at: entry.snapshot_at,
        })
    }

    /// Keeps `state` at `head` for `stream`, unless the cache already holds a newer head.
    pub(super) fn put<A: Aggregate>(
        &self,
        stream: &str,
        state: A,
        head: Head,
        history: History,
        snapshot_at: Option<u64>,
    ) {
        let mut entries = self.lock();
        if entries.capacity == 0 {
            return;
        }
        if let Some(existing) = entries.by_stream.get(stream)
            && existing.head.revision >= head.revision
        {
            return;
        }
        let entry = entries.entry(stream, state, head, history, snapshot_at);
        entries.insert(stream, entry);
    }
}

impl Entries {
    fn next_tick(&mut self) -> u64 {
        self.tick += 1;
        self.tick
    }

    /// An entry weighed for this cache, its history cut to what one entry may hold.
    fn entry<A: Aggregate>(
        &mut self,
        stream: &str,
        state: A,
        head: Head,
        mut history: History,
        snapshot_at: Option<u64>,
    ) -> Entry {
        let most_ids = self.capacity / 16 / std::mem::size_of::<EventRef>();
        if history.len() > most_ids {
            history.keep_newest(most_ids / 2);
        }
        let bytes = ENTRY_OVERHEAD
            + stream.len() * 2
            + state.footprint()
            + history.len() * std::mem::size_of::<EventRef>();
        Entry {
            state: Box::new(state),
            head,
            history,
            snapshot_at,
            bytes,
            used: self.next_tick(),
        }
    }

    fn remove(&mut self, stream: &str) -> Option<Entry> {
        let entry = self.by_stream.remove(stream)?;
        self.bytes -= entry.bytes;
        Some(entry)
    }

    /// Inserts `entry`, evicting the least recently used streams to stay within capacity; an
    /// entry larger than the whole cache is not kept.
    fn insert(&mut self, stream: &str, entry: Entry) {
        self.remove(stream);
        if entry.bytes > self.capacity {
            return;
        }
        while self.bytes + entry.bytes > self.capacity {
            if !self.evict_one() {
                break;
            }
        }
        let key: Arc<str> = Arc::from(stream);
        self.recency.push_back((Arc::clone(&key), entry.used));
        self.bytes += entry.bytes;
        self.by_stream.insert(key, entry);
        self.compact_recency();
    }

    /// Evicts the least recently used entry; `false` when there is none.
    fn evict_one(&mut self) -> bool {
        while let Some((key, tick)) = self.recency.pop_front() {
            if self.by_stream.get(&key).is_some_and(|e| e.used == tick) {
                self.remove(&key);
                return true;
            }
        }
        false
    }

    /// Drops stale recency records once they outnumber the live ones, so the queue stays
    /// proportional to the entries.
    fn compact_recency(&mut self) {
        if self.recency.len() > 2 * self.by_stream.len() + 64 {
            let by_stream = &self.by_stream;
            self.recency
                .retain(|(key, tick)| by_stream.get(key).is_some_and(|e| e.used == *tick));
        }
    }
}

#[cfg(test)]
mod tests;
