use uuid::Uuid;

use super::*;

/// A state whose footprint the test chooses.
#[derive(Debug, Clone, Default)]
struct Sized(usize);

impl Aggregate for Sized {
    const CATEGORY: &'static str = "sized";
    type Event = crate::inventory::ProductEvent;
    fn apply(&mut self, _: &Self::Event) {}
    fn footprint(&self) -> usize {
        self.0
    }
}

fn history(n: u64) -> History {
    History::whole(
        (0..n)
            .map(|revision| EventRef {
                id: Uuid::from_u64_pair(0, revision),
                revision,
                position: revision,
            })
            .collect(),
    )
}

fn head(revision: u64) -> Head {
    Head {
        revision,
        position: revision,
    }
}

/// Whether `stream` is cached, and at which revision; what was taken is put back.
fn held(cache: &AggregateCache, stream: &str) -> Option<u64> {
    let taken = cache.take::<Sized>(stream)?;
    let revision = taken.head.revision;
    cache.put(
        stream,
        taken.state,
        taken.head,
        taken.history,
        taken.snapshot_at,
    );
    Some(revision)
}

#[test]
fn stays_within_its_bytes_by_evicting_the_least_recently_used() {
    let cache = AggregateCache::new(ByteSize(64 * 1024));
    for n in 0..200 {
        cache.put(
            &format!("sized-{n}"),
            Sized(1_000),
            head(9),
            history(10),
            None,
        );
        let entries = cache.lock();
        assert!(entries.bytes <= 64 * 1024, "{} bytes", entries.bytes);
        assert_eq!(
            entries.bytes,
            entries.by_stream.values().map(|e| e.bytes).sum::<usize>()
        );
        assert!(entries.recency.len() <= 2 * entries.by_stream.len() + 64);
    }
    // The newest are there, the oldest gone.
    assert_eq!(held(&cache, "sized-199"), Some(9));
    assert_eq!(held(&cache, "sized-0"), None);
    // A stream used again is kept over streams not used since.
    let kept = cache.lock().by_stream.len();
    assert!(kept > 10, "{kept} streams fit");
    let first_kept = (0..200)
        .find(|n| held(&cache, &format!("sized-{n}")).is_some())
        .unwrap();
    for n in 200..200 + kept - 1 {
        held(&cache, &format!("sized-{first_kept}"));
        cache.put(
            &format!("sized-{n}"),
            Sized(1_000),
            head(9),
            history(10),
            None,
        );
    }
    assert_eq!(held(&cache, &format!("sized-{first_kept}")), Some(9));
    // A state larger than the whole cache is not kept
    cache.put("sized-huge", Sized(1 << 20), head(1), history(2), None);
    assert_eq!(held(&cache, "sized-huge"), None);
}

#[test]
fn a_long_history_keeps_its_newest_ids_and_is_no_longer_whole() {
    // A sixteenth of 1 MiB holds 2,048 ids of 32 bytes.
    let cache = AggregateCache::new(ByteSize::mib(1));
    cache.put("sized-long", Sized(8), head(9_999), history(10_000), None);
    let taken = cache.take::<Sized>("sized-long").unwrap();
    let len = taken.history.len();
    assert!(len <= 2_048, "{len} ids held");
    assert!(!taken.history.is_whole());
    assert_eq!(
        taken.history.refs().first().map(|r| r.revision),
        Some(10_000 - len as u64)
    );
}

#[test]
fn a_taken_stream_is_out_until_put_back_and_never_goes_back_to_an_older_head() {
    let cache = AggregateCache::new(ByteSize::mib(1));
    cache.put("sized-a", Sized(8), head(5), history(6), Some(3));
    let taken = cache.take::<Sized>("sized-a").unwrap();
    assert_eq!((taken.head.revision, taken.snapshot_at), (5, Some(3)));
    assert!(cache.take::<Sized>("sized-a").is_none(), "out while taken");
    assert_eq!(cache.lock().bytes, 0);
    cache.put(
        "sized-a",
        taken.state,
        head(6),
        taken.history,
        taken.snapshot_at,
    );
    cache.put("sized-a", Sized(8), head(3), history(4), None);
    assert_eq!(held(&cache, "sized-a"), Some(6));
}

#[test]
fn a_cache_of_zero_bytes_keeps_nothing() {
    let cache = AggregateCache::new(ByteSize(0));
    cache.put("sized-a", Sized(8), head(1), history(2), None);
    assert_eq!(held(&cache, "sized-a"), None);
}
