//! Command replicas need no lease: two `causeway-server --role command` processes appending to
//! one stream are kept apart by optimistic concurrency (each append names the revision its
//! decision was based on; the loser reloads and decides again, and after its retries answers
//! `ABORTED`). Raced over KurrentDB (the protocol double) and over one embedded data directory
//! shared by both processes, where SQLite's write lock serialises the appends and the revision
//! is checked again inside the transaction.
//!
//! Promised: no acknowledged reservation is lost, none is applied twice, the stream's
//! revisions are the acknowledged ones without gaps, and of two writes that name the same
//! `expectedRevision` exactly one wins.

use std::{collections::BTreeSet, path::Path, sync::Arc};

use causeway_client::{
    common::CommandOptions,
    inventory::{
        ReceiveStockRequest, RegisterProductRequest, ReserveStockRequest,
        inventory_commands_client::InventoryCommandsClient,
    },
};
use causeway_server::store::{
    EventStore,
    embedded::{Durability, EmbeddedEventStore},
    kurrentdb::KurrentDbEventStore,
};
use causeway_tests::{kurrentdb::KurrentDbDouble, mongo::process::ServerProcess};
use tonic::{Code, transport::Channel};

/// Reservations each process sends, all at once.
const PER_PROCESS: usize = 60;

fn options(command_id: String, expected_revision: Option<u64>) -> Option<CommandOptions> {
    Some(CommandOptions {
        command_id,
        expected_revision,
        ..CommandOptions::default()
    })
}

/// How often one reservation may lose every race of its retries before the test calls it a
/// livelock.
const ABORTED_AT_MOST: usize = 100;

/// Reserves one unit as `reservation`, sending the same command again while it is `ABORTED`
/// (it lost every race its retries had); returns the acknowledged revision.
async fn reserve(channel: Channel, reservation: String) -> u64 {
    let mut client = InventoryCommandsClient::new(channel);
    for _ in 0..ABORTED_AT_MOST {
        let request = ReserveStockRequest {
            options: options(format!("cmd-{reservation}"), None),
            sku: "kettle".into(),
            quantity: 1,
            reservation_id: reservation.clone(),
        };
        match client.reserve_stock(request).await {
            Ok(answer) => return answer.into_inner().ack.expect("an ack").revision,
            Err(status) if status.code() == Code::Aborted => continue,
            Err(status) => panic!("{reservation}: {status:?}"),
        }
    }
    panic!("{reservation}: ABORTED {ABORTED_AT_MOST} times in a row")
}

async fn race(data_dir: &Path, env: &[(&str, &str)], events: Arc<dyn EventStore>) {
    let first = ServerProcess::start_with("command", data_dir, env, None);
    let second = ServerProcess::start_with("command", data_dir, env, None);
    let (one, two) = (first.channel().await, second.channel().await);
    let mut client = InventoryCommandsClient::new(one.clone());
    client
        .register_product(RegisterProductRequest {
            options: options("register".into(), None),
            sku: "kettle".into(),
            name: "Kettle".into(),
        })
        .await
        .expect("register");
    client
        .receive_stock(ReceiveStockRequest {
            options: options("receive".into(), None),
            sku: "kettle".into(),
            quantity: 1000,
        })
        .await
        .expect("receive");

    let tasks: Vec<_> = (0..2 * PER_PROCESS)
        .map(|n| {
            let channel = if n % 2 == 0 { one.clone() } else { two.clone() };
            tokio::spawn(reserve(channel, format!("r{n}")))
        })
        .collect();
    let mut revisions = BTreeSet::new();
    for task in tasks {
        assert!(
            revisions.insert(task.await.expect("task")),
            "a revision acked twice"
        );
    }
    // Revisions 0 and 1 are the registration and the receipt.
    let expected: BTreeSet<u64> = (2..2 + 2 * PER_PROCESS as u64).collect();
    assert_eq!(revisions, expected, "acks without gaps or duplicates");
    let stream = events
        .read_stream("product-kettle", 0)
        .await
        .expect("stream");
    assert_eq!(
        stream.len(),
        2 + 2 * PER_PROCESS,
        "every ack is in the stream once"
    );

    // Two writers naming the same expected revision: one wins, the other is ABORTED.
    let head = stream.last().expect("events").revision;
    let receive = |channel: Channel, id: &str| {
        let request = ReceiveStockRequest {
            options: options(id.to_owned(), Some(head)),
            sku: "kettle".into(),
            quantity: 5,
        };
        async move {
            InventoryCommandsClient::new(channel)
                .receive_stock(request)
                .await
        }
    };
    let (a, b) = tokio::join!(receive(one, "if-match-a"), receive(two, "if-match-b"));
    let codes = [&a, &b].map(|r| r.as_ref().err().map(|s| s.code()));
    assert!(
        matches!(
            codes,
            [None, Some(Code::Aborted)] | [Some(Code::Aborted), None]
        ),
        "exactly one conditional write wins: {a:?} / {b:?}"
    );
    let stream = events
        .read_stream("product-kettle", 0)
        .await
        .expect("stream");
    assert_eq!(stream.len(), 3 + 2 * PER_PROCESS);
}

#[tokio::test(flavor = "multi_thread")]
async fn kurrentdb_command_replicas_lose_no_update() {
    let (_double, url) = KurrentDbDouble::start().await;
    let data = tempfile::tempdir().unwrap();
    let events: Arc<dyn EventStore> = Arc::new(KurrentDbEventStore::connect(&url).unwrap());
    race(data.path(), &[("KURRENTDB_URL", url.as_str())], events).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn embedded_command_replicas_on_one_data_directory_lose_no_update() {
    let data = tempfile::tempdir().unwrap();
    let events: Arc<dyn EventStore> =
        Arc::new(EmbeddedEventStore::open(data.path(), Durability::Relaxed).unwrap());
    race(data.path(), &[], events).await;
}
