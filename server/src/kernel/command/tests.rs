//! The command handler's aggregate cache against a real embedded store: two handlers on one
//! store stand for two processes, so every cached state can be made stale on purpose. A stale
//! cache may cost a reload, never a wrong answer.

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use async_trait::async_trait;
use tempfile::TempDir;

use super::{CommandContext, CommandHandler};
use crate::{
    kernel::{Aggregate, CommandError, DecodeError, DomainEvent, Upcasters},
    store::{
        AppendResult, EventFeed, EventStore, ExpectedRevision, NewEvent, RecordedEvent, StoreError,
        SubscriptionFilter,
        embedded::{Durability, EmbeddedEventStore},
    },
};

/// Units added to a jar, as plain JSON numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Added(u64);

impl DomainEvent for Added {
    fn event_type(&self) -> &'static str {
        "test.Added"
    }

    fn encode(&self) -> Vec<u8> {
        self.0.to_string().into_bytes()
    }

    fn decode(event_type: &str, data: &[u8]) -> Result<Self, DecodeError> {
        let malformed = || DecodeError::Malformed {
            event_type: event_type.to_owned(),
            reason: "not a number".into(),
        };
        let text = std::str::from_utf8(data).map_err(|_| malformed())?;
        text.parse().map(Added).map_err(|_| malformed())
    }
}

/// A jar of units; taking more than it holds is refused.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Jar {
    units: u64,
}

impl Aggregate for Jar {
    const CATEGORY: &'static str = "jar";
    type Event = Added;

    fn apply(&mut self, event: &Added) {
        self.units += event.0;
    }
}

fn add(n: u64) -> impl Fn(&Jar) -> Result<Vec<Added>, CommandError> + Send + Sync + 'static {
    move |_| Ok(vec![Added(n)])
}

/// Adds one unit if the jar already holds at least `at_least`.
fn top_up_if(
    at_least: u64,
) -> impl Fn(&Jar) -> Result<Vec<Added>, CommandError> + Send + Sync + 'static {
    move |jar| {
        if jar.units >= at_least {
            Ok(vec![Added(1)])
        } else {
            Err(CommandError::Rejected(format!(
                "the jar holds {}, fewer than {at_least}",
                jar.units
            )))
        }
    }
}

/// Counts stream reads, so a test can tell a cached state from a loaded one.
struct CountingStore {
    inner: EmbeddedEventStore,
    stream_reads: AtomicUsize,
}

#[async_trait]
impl EventStore for CountingStore {
    async fn append(
        &self,
        stream: &str,
        expected: ExpectedRevision,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult, StoreError> {
        self.inner.append(stream, expected, events).await
    }

    async fn read_stream(
        &self,
        stream: &str,
        from_revision: u64,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        self.stream_reads.fetch_add(1, Ordering::SeqCst);
        self.inner.read_stream(stream, from_revision).await
    }

    async fn read_all(
        &self,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        self.inner.read_all(after, limit).await
    }

    async fn head_position(&self) -> Result<Option<u64>, StoreError> {
        self.inner.head_position().await
    }

    fn subscribe_all(&self, after: Option<u64>, filter: SubscriptionFilter) -> EventFeed {
        self.inner.subscribe_all(after, filter)
    }
}

struct Setup {
    _dir: TempDir,
    store: Arc<CountingStore>,
    /// This process's handler.
    here: CommandHandler,
    /// Another process writing the same store.
    elsewhere: CommandHandler,
}

fn setup() -> Setup {
    let dir = TempDir::new().unwrap();
    let store = Arc::new(CountingStore {
        inner: EmbeddedEventStore::open(dir.path(), Durability::Relaxed).unwrap(),
        stream_reads: AtomicUsize::new(0),
    });
    let handler = || {
        CommandHandler::new(
            store.clone() as Arc<dyn EventStore>,
            Arc::new(Upcasters::default()),
        )
    };
    Setup {
        here: handler(),
        elsewhere: handler(),
        store,
        _dir: dir,
    }
}

impl Setup {
    fn reads(&self) -> usize {
        self.store.stream_reads.load(Ordering::SeqCst)
    }

    async fn units(&self) -> u64 {
        self.here.load::<Jar>("jar-a").await.unwrap().state.units
    }
}

#[tokio::test]
async fn a_hot_stream_is_decided_from_the_cache_without_reading_it() {
    let s = setup();
    // Given a jar this handler has written
    s.here
        .execute::<Jar, _>("a", &CommandContext::new("c1"), add(2))
        .await
        .unwrap();
    let before = s.reads();
    // When it handles more commands on it
    for n in 2..=5 {
        let ack = s
            .here
            .execute::<Jar, _>("a", &CommandContext::new(format!("c{n}")), top_up_if(2))
            .await
            .unwrap();
        assert_eq!(ack.revision, n - 1);
    }
    // Then it never read the stream again, and the store holds every event
    assert_eq!(s.reads(), before);
    assert_eq!(s.units().await, 6);
}

#[tokio::test]
async fn a_repeated_command_is_answered_from_the_cache_with_its_first_ack() {
    let s = setup();
    let ctx = CommandContext::new("c1");
    let first = s.here.execute::<Jar, _>("a", &ctx, add(2)).await.unwrap();
    s.here
        .execute::<Jar, _>("a", &CommandContext::new("c2"), add(1))
        .await
        .unwrap();
    let before = s.reads();
    let again = s.here.execute::<Jar, _>("a", &ctx, add(2)).await.unwrap();
    assert!(again.deduplicated);
    assert_eq!(
        (again.revision, again.position),
        (first.revision, first.position)
    );
    assert_eq!(s.reads(), before, "answered from the cached event ids");
    assert_eq!(s.units().await, 3);
}

#[tokio::test]
async fn a_stale_state_costs_a_reload_not_a_lost_write() {
    let s = setup();
    // Given this process cached the jar at revision 0
    s.here
        .execute::<Jar, _>("a", &CommandContext::new("c1"), add(1))
        .await
        .unwrap();
    // And another process wrote it since
    s.elsewhere
        .execute::<Jar, _>("a", &CommandContext::new("c2"), add(10))
        .await
        .unwrap();
    // When this process appends on its stale state
    let before = s.reads();
    let ack = s
        .here
        .execute::<Jar, _>("a", &CommandContext::new("c3"), add(100))
        .await
        .unwrap();
    // Then the append lost the race, the stream was read again (once) and the command landed
    // after the winner
    assert_eq!(ack.revision, 2);
    assert_eq!(s.reads(), before + 1);
    assert_eq!(s.units().await, 111);
    // And the cache moved with it: the next command reads nothing
    let before = s.reads();
    s.here
        .execute::<Jar, _>("a", &CommandContext::new("c4"), add(1000))
        .await
        .unwrap();
    assert_eq!(s.reads(), before);
    assert_eq!(s.units().await, 1111);
}

#[tokio::test]
async fn a_stale_state_never_refuses_what_the_store_allows() {
    let s = setup();
    s.here
        .execute::<Jar, _>("a", &CommandContext::new("c1"), add(1))
        .await
        .unwrap();
    s.elsewhere
        .execute::<Jar, _>("a", &CommandContext::new("c2"), add(10))
        .await
        .unwrap();
    // The cache says 1 unit; the store says 11: the refusal is re-checked on a fresh load
    let ack = s
        .here
        .execute::<Jar, _>("a", &CommandContext::new("c3"), top_up_if(5))
        .await
        .unwrap();
    assert_eq!(ack.revision, 2);
    // And a refusal the store confirms is still a refusal
    let refused = s
        .here
        .execute::<Jar, _>("a", &CommandContext::new("c4"), top_up_if(50))
        .await;
    assert!(
        matches!(refused, Err(CommandError::Rejected(_))),
        "{refused:?}"
    );
}

#[tokio::test]
async fn a_callers_expected_revision_is_checked_against_the_store() {
    let s = setup();
    s.here
        .execute::<Jar, _>("a", &CommandContext::new("c1"), add(1))
        .await
        .unwrap();
    let elsewhere = s
        .elsewhere
        .execute::<Jar, _>("a", &CommandContext::new("c2"), add(1))
        .await
        .unwrap();
    // The caller saw revision 1 (written elsewhere); this process's cache is at 0
    let ctx = CommandContext {
        expected_revision: Some(elsewhere.revision),
        ..CommandContext::new("c3")
    };
    let ack = s.here.execute::<Jar, _>("a", &ctx, add(1)).await.unwrap();
    assert_eq!(ack.revision, 2);
    // And an expectation the store does not meet is a conflict
    let ctx = CommandContext {
        expected_revision: Some(1),
        ..CommandContext::new("c4")
    };
    let conflict = s.here.execute::<Jar, _>("a", &ctx, add(1)).await;
    assert!(
        matches!(conflict, Err(CommandError::Conflict { .. })),
        "{conflict:?}"
    );
}

#[tokio::test]
async fn a_retry_handled_elsewhere_is_deduplicated_despite_a_stale_cache() {
    let s = setup();
    s.here
        .execute::<Jar, _>("a", &CommandContext::new("c1"), add(1))
        .await
        .unwrap();
    let ctx = CommandContext::new("c2");
    let first = s
        .elsewhere
        .execute::<Jar, _>("a", &ctx, add(5))
        .await
        .unwrap();
    // The retry reaches this process, whose cache predates the first attempt
    let again = s.here.execute::<Jar, _>("a", &ctx, add(5)).await.unwrap();
    assert!(again.deduplicated);
    assert_eq!(
        (again.revision, again.position),
        (first.revision, first.position)
    );
    assert_eq!(s.units().await, 6);
}

#[tokio::test]
async fn a_cache_of_capacity_zero_reads_the_stream_every_time() {
    let s = setup();
    let here = s.here.clone().with_cache(crate::config::ByteSize(0));
    for n in 0..3 {
        here.execute::<Jar, _>("a", &CommandContext::new(format!("c{n}")), add(1))
            .await
            .unwrap();
    }
    assert_eq!(s.reads(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_two_concurrent_commands_on_one_stream_all_succeed_in_turn() {
    let s = setup();
    s.here
        .execute::<Jar, _>("a", &CommandContext::new("fill"), add(100))
        .await
        .unwrap();
    // Each takes one unit if at least one is left: a check that needs the latest state.
    let commands: Vec<_> = (0..32)
        .map(|n| {
            let here = s.here.clone();
            tokio::spawn(async move {
                here.execute::<Jar, _>("a", &CommandContext::new(format!("t{n}")), top_up_if(1))
                    .await
            })
        })
        .collect();
    let mut acks = Vec::new();
    for command in commands {
        let ack = command
            .await
            .unwrap()
            .expect("no command fails, none is ABORTED");
        assert!(!ack.deduplicated);
        acks.push(ack);
    }
    let mut revisions: Vec<u64> = acks.iter().map(|a| a.revision).collect();
    revisions.sort_unstable();
    assert_eq!(
        revisions,
        (1..=32).collect::<Vec<u64>>(),
        "each its own revision"
    );
    assert_eq!(s.units().await, 132);
    assert_eq!(s.here.lanes.busy(), 0, "no lane is left behind");

    // Each is answered with its own event's position (commands decided as one group share an
    // append, but not a position), and a repeat is answered exactly as the first time.
    let stored = s.store.inner.read_stream("jar-a", 0).await.unwrap();
    for (n, ack) in acks.iter().enumerate() {
        let event = &stored[ack.revision as usize];
        assert_eq!(
            ack.position, event.position,
            "t{n}: its own event's position"
        );
        let again = s
            .here
            .execute::<Jar, _>("a", &CommandContext::new(format!("t{n}")), top_up_if(1))
            .await
            .unwrap();
        assert!(again.deduplicated);
        assert_eq!(
            (again.revision, again.position),
            (ack.revision, ack.position)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_commands_here_and_elsewhere_on_one_stream_all_land() {
    let s = setup();
    s.here
        .execute::<Jar, _>("a", &CommandContext::new("fill"), add(1))
        .await
        .unwrap();
    // Two processes, sixteen callers each: the lanes order each process's callers, the
    // optimistic retry settles the races between the two.
    let commands: Vec<_> = (0..32)
        .map(|n| {
            let handler = if n % 2 == 0 {
                s.here.clone()
            } else {
                s.elsewhere.clone()
            };
            tokio::spawn(async move {
                handler
                    .execute::<Jar, _>("a", &CommandContext::new(format!("t{n}")), add(1))
                    .await
            })
        })
        .collect();
    for command in commands {
        command.await.unwrap().expect("every command lands");
    }
    assert_eq!(s.units().await, 33);
}

#[tokio::test]
async fn a_command_id_queued_twice_is_appended_once() {
    let s = setup();
    let ctx = CommandContext::new("same");
    let (first, second) = tokio::join!(
        s.here.execute::<Jar, _>("a", &ctx, add(5)),
        s.here.execute::<Jar, _>("a", &ctx, add(5)),
    );
    let (first, second) = (first.unwrap(), second.unwrap());
    assert_eq!(first.revision, second.revision);
    assert!(
        first.deduplicated != second.deduplicated,
        "{first:?} {second:?}"
    );
    assert_eq!(s.units().await, 5);
}
