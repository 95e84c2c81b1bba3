//! Snapshots as the command handler uses them, against the real embedded store: a long stream
//! is loaded through its latest snapshot; a snapshot of another version, or one that does not
//! decode, is ignored (the latter with a warning) and the stream folded whole, and a good one
//! takes its place.

use std::sync::{Arc, Mutex};

use tempfile::TempDir;

use super::{CommandContext, CommandHandler};
use crate::{
    config::ByteSize,
    kernel::{
        Aggregate, CommandError, DecodeError, DomainEvent, Upcasters, snapshot::SnapshotCodec,
    },
    store::{
        EventStore, Snapshot,
        embedded::{Durability, EmbeddedEventStore},
    },
};

/// Coins put in a till.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Coin(u64);

impl DomainEvent for Coin {
    fn event_type(&self) -> &'static str {
        "test.Coin"
    }

    fn encode(&self) -> Vec<u8> {
        self.0.to_string().into_bytes()
    }

    fn decode(event_type: &str, data: &[u8]) -> Result<Self, DecodeError> {
        std::str::from_utf8(data)
            .ok()
            .and_then(|text| text.parse().ok())
            .map(Coin)
            .ok_or_else(|| DecodeError::Malformed {
                event_type: event_type.to_owned(),
                reason: "not a number".into(),
            })
    }
}

/// A till: the sum of its coins and how many there were.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Till {
    total: u64,
    coins: u64,
}

/// The current version of a till's snapshot: the two numbers as `total,coins`.
const VERSION: u32 = 2;

impl Aggregate for Till {
    const CATEGORY: &'static str = "till";
    type Event = Coin;

    fn apply(&mut self, event: &Coin) {
        self.total += event.0;
        self.coins += 1;
    }

    fn snapshots() -> Option<SnapshotCodec<Self>> {
        Some(SnapshotCodec {
            version: VERSION,
            encode: |till| format!("{},{}", till.total, till.coins).into_bytes(),
            decode: |bytes| {
                let text = std::str::from_utf8(bytes).map_err(|e| e.to_string())?;
                let (total, coins) = text.split_once(',').ok_or("no comma")?;
                Ok(Till {
                    total: total.parse().map_err(|_| "total")?,
                    coins: coins.parse().map_err(|_| "coins")?,
                })
            },
        })
    }
}

fn coin(n: u64) -> impl Fn(&Till) -> Result<Vec<Coin>, CommandError> + Send + Sync + 'static {
    move |_| Ok(vec![Coin(n)])
}

struct Setup {
    _dir: TempDir,
    store: Arc<dyn EventStore>,
    /// Snapshots every 10 events; no cache, so every command loads its stream.
    handler: CommandHandler,
}

fn setup() -> Setup {
    let dir = TempDir::new().unwrap();
    let store: Arc<dyn EventStore> =
        Arc::new(EmbeddedEventStore::open(dir.path(), Durability::Relaxed).unwrap());
    let handler = CommandHandler::new(store.clone(), Arc::new(Upcasters::default()))
        .with_cache(ByteSize(0))
        .with_snapshots(10);
    Setup {
        _dir: dir,
        store,
        handler,
    }
}

impl Setup {
    /// Where till `a` stands now.
    async fn head(&self) -> crate::kernel::Head {
        let loaded = self.handler.load::<Till>("till-a").await.unwrap();
        loaded.head.expect("till a exists")
    }

    /// Puts coins of 1..=n in till `a`, one command each.
    async fn fill(&self, n: u64) {
        for i in 1..=n {
            self.handler
                .execute::<Till, _>("a", &CommandContext::new(format!("c{i}")), coin(i))
                .await
                .unwrap();
        }
    }

    /// The snapshot kept for till `a`, once a readable one of the current version at
    /// `revision` or later is there.
    async fn snapshot_from(&self, revision: u64) -> Snapshot {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            if let Some(kept) = self.store.read_snapshot("till-a").await.unwrap() {
                let readable = Till::snapshots().is_some_and(|c| (c.decode)(&kept.state).is_ok());
                if kept.revision >= revision && kept.version == VERSION && readable {
                    return kept;
                }
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no snapshot at {revision} or later"
            );
            tokio::task::yield_now().await;
        }
    }

    async fn keep(&self, snapshot: Snapshot) {
        self.store.write_snapshot("till-a", snapshot).await.unwrap();
        // The writer keeps it in its next transaction; an append waits for that one.
        self.store
            .append(
                "other-1",
                crate::store::ExpectedRevision::Any,
                vec![crate::store::NewEvent {
                    id: uuid::Uuid::new_v4(),
                    event_type: "test.Other".into(),
                    data: b"{}".to_vec(),
                    metadata: b"{}".to_vec(),
                }],
            )
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn a_long_stream_is_loaded_through_its_snapshot() {
    let s = setup();
    s.fill(25).await;
    let kept = s.snapshot_from(9).await;
    let loaded = s.handler.load::<Till>("till-a").await.unwrap();
    assert_eq!(
        loaded.state,
        Till {
            total: 325,
            coins: 25
        }
    );
    assert_eq!(loaded.head.unwrap().revision, 24);
    assert!(
        !loaded.history.is_whole(),
        "folded from the snapshot, not from the start"
    );
    assert!(kept.revision >= 9);
    // And a retry of a command older than the snapshot is still a repeat.
    let again = s
        .handler
        .execute::<Till, _>("a", &CommandContext::new("c3"), coin(3))
        .await
        .unwrap();
    assert!(again.deduplicated);
    assert_eq!(again.revision, 2);
    let loaded = s.handler.load::<Till>("till-a").await.unwrap();
    assert_eq!(loaded.state.coins, 25, "nothing appended twice");
}

#[tokio::test]
async fn a_snapshot_of_an_older_version_is_ignored_and_the_state_refolded() {
    let s = setup();
    s.fill(12).await;
    let kept = s.snapshot_from(9).await;
    // An older build's snapshot, at the stream's head, says something else entirely.
    let head = s.head().await;
    s.keep(Snapshot {
        version: VERSION - 1,
        revision: head.revision,
        position: head.position,
        state: b"999,999".to_vec(),
    })
    .await;
    let stored = s.store.read_snapshot("till-a").await.unwrap().unwrap();
    assert_eq!(
        stored.version,
        VERSION - 1,
        "replaced whatever the revision"
    );
    let loaded = s.handler.load::<Till>("till-a").await.unwrap();
    assert_eq!(
        loaded.state,
        Till {
            total: 78,
            coins: 12
        }
    );
    assert!(loaded.history.is_whole(), "folded from the start");
    // The fold wrote a snapshot of the current version in its place.
    let replaced = s.snapshot_from(head.revision).await;
    assert_eq!(replaced.state, b"78,12");
    assert!(kept.revision <= replaced.revision);
}

#[tokio::test]
async fn a_corrupt_snapshot_is_ignored_with_a_warning() {
    let s = setup();
    s.fill(12).await;
    let head = s.head().await;
    s.keep(Snapshot {
        version: VERSION,
        revision: head.revision,
        position: head.position,
        state: b"\xff\xfe not a till".to_vec(),
    })
    .await;
    let logged = Arc::new(Mutex::new(Vec::new()));
    let subscriber = tracing_subscriber::fmt()
        .with_writer({
            let logged = logged.clone();
            move || Captured(logged.clone())
        })
        .with_ansi(false)
        .finish();
    let loaded = {
        let _guard = tracing::subscriber::set_default(subscriber);
        s.handler.load::<Till>("till-a").await.unwrap()
    };
    assert_eq!(
        loaded.state,
        Till {
            total: 78,
            coins: 12
        }
    );
    let logged = String::from_utf8(logged.lock().unwrap().clone()).unwrap();
    assert!(
        logged.contains("WARN") && logged.contains("ignoring an unreadable snapshot"),
        "{logged}"
    );
    // A command on it decides on the refolded state, and a good snapshot replaces the bad one.
    let ack = s
        .handler
        .execute::<Till, _>("a", &CommandContext::new("c13"), coin(13))
        .await
        .unwrap();
    assert_eq!(ack.revision, 12);
    assert_eq!(s.snapshot_from(head.revision).await.version, VERSION);
    let loaded = s.handler.load::<Till>("till-a").await.unwrap();
    assert_eq!(
        loaded.state,
        Till {
            total: 91,
            coins: 13
        }
    );
}

#[tokio::test]
async fn a_snapshot_that_does_not_match_its_stream_is_ignored() {
    let s = setup();
    s.fill(12).await;
    let head = s.head().await;
    s.keep(Snapshot {
        version: VERSION,
        revision: head.revision,
        position: head.position + 1_000,
        state: b"1,1".to_vec(),
    })
    .await;
    let loaded = s.handler.load::<Till>("till-a").await.unwrap();
    assert_eq!(
        loaded.state,
        Till {
            total: 78,
            coins: 12
        }
    );
}

/// Log output kept in memory.
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
