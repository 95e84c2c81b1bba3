//! The SDK's side of the event feed against a real server: a subscription that resumes after
//! its connection is cut (by the test proxy) with nothing missed and nothing repeated (on the
//! embedded store and the KurrentDB double), and a
//! consumer stopped mid-way that starts again from its file checkpoint, repeating only what it
//! had handled but not yet stored.

use std::{
    collections::BTreeSet,
    num::NonZeroU32,
    sync::{Arc, Mutex},
    time::Duration,
};

use causeway_client::{
    Client, RetryPolicy,
    events::{Consumer, ConsumerError, FileCheckpoints, Received, SubscribeRequest},
};
use causeway_tests::{
    EventBackend, TestServer,
    kurrentdb::KurrentDbDouble,
    proxy::FaultProxy,
    scenarios::{
        feed::{WAIT, receive, register},
        unique,
    },
};
use futures::StreamExt;

fn patient() -> RetryPolicy {
    RetryPolicy::default()
        .max_attempts(20)
        .max_backoff(Duration::from_millis(200))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_subscription_resumes_after_cut_connections_missing_and_repeating_nothing() {
    resumes_after_cut_connections(&EventBackend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn on_kurrentdb_a_subscription_resumes_after_cut_connections() {
    let (_double, url) = KurrentDbDouble::start().await;
    resumes_after_cut_connections(&EventBackend::KurrentDb(url)).await;
}

async fn resumes_after_cut_connections(backend: &EventBackend) {
    let server = TestServer::start_on(backend).await;
    let channel = server.channel().await;
    let proxy = FaultProxy::start(server.addr).await;
    let client = Client::builder(proxy.url())
        .retry_policy(patient())
        .build()
        .expect("client");

    let sku = unique("cut");
    let first = register(&channel, &sku).await;
    let mut feed = client.events().subscribe(SubscribeRequest {
        after: first - 1,
        category: vec!["product".into()],
        ..SubscribeRequest::default()
    });
    let writer = {
        let (channel, sku) = (channel.clone(), sku.clone());
        tokio::spawn(async move {
            let mut positions = vec![first];
            for _ in 0..300 {
                positions.push(receive(&channel, &sku).await);
            }
            positions
        })
    };

    let stream = format!("product-{sku}");
    let mut delivered = Vec::new();
    let mut told = Vec::new();
    let read = async {
        while delivered.len() < 301 {
            let item = feed
                .next()
                .await
                .expect("never ends")
                .expect("rides out the cuts");
            told.push(item.position());
            if let Received::Event(event) = item
                && event.stream == stream
            {
                delivered.push(event.position);
                if delivered.len() % 100 == 50 {
                    proxy.cut_connections();
                }
            }
        }
    };
    tokio::time::timeout(WAIT, read)
        .await
        .expect("all events in time");
    let written = writer.await.expect("writer");
    assert_eq!(delivered, written, "each event once, in order");
    assert!(told.windows(2).all(|w| w[0] < w[1]), "{told:?}");
    assert!(
        proxy.requests() >= 4,
        "three cuts, three new subscriptions: {} calls",
        proxy.requests()
    );
}

/// Stops when the handler has seen the `until` position.
#[derive(Debug)]
struct Done;

impl std::fmt::Display for Done {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("done")
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_consumer_restarted_from_its_file_repeats_only_what_it_had_not_stored() {
    let server = TestServer::start().await;
    let channel = server.channel().await;
    let client = Client::builder(server.url()).build().expect("client");
    let sku = unique("crash");
    let mut written = vec![register(&channel, &sku).await];
    for _ in 0..99 {
        written.push(receive(&channel, &sku).await);
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let file = FileCheckpoints::new(dir.path().join("consumer.checkpoint"));
    let request = SubscribeRequest {
        after: written[0] - 1,
        category: vec!["product".into()],
        ..SubscribeRequest::default()
    };
    let stream = format!("product-{sku}");
    let handled = Arc::new(Mutex::new(Vec::new()));

    // First run: stores after every 10th event, and is killed while handling the 46th.
    let first = {
        let (handled, stream) = (handled.clone(), stream.clone());
        let consumer = Consumer::new(client.events(), request.clone(), file.clone())
            .store_every(NonZeroU32::new(10).expect("ten"));
        tokio::spawn(consumer.run(move |event| {
            let (handled, stream) = (handled.clone(), stream.clone());
            async move {
                if event.stream == stream {
                    if handled.lock().unwrap().len() == 45 {
                        // The process dies while handling the 46th event.
                        std::future::pending::<()>().await;
                    }
                    handled.lock().unwrap().push(event.position);
                }
                Ok::<(), Done>(())
            }
        }))
    };
    let killed_at = async {
        loop {
            if handled.lock().unwrap().len() == 45 {
                first.abort();
                return;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    };
    tokio::time::timeout(WAIT, killed_at)
        .await
        .expect("progress");
    let _ = first.await;
    let before_crash = handled.lock().unwrap().clone();
    assert_eq!(before_crash, written[..45]);
    let stored = std::fs::read_to_string(file.path()).expect("a checkpoint was stored");
    let stored: u64 = stored.trim().parse().expect("a position");
    assert_eq!(stored, written[39], "stored after every 10th event");

    // Second run, from the file, until the last event.
    let last = *written.last().expect("written");
    let second = Arc::new(Mutex::new(Vec::new()));
    let outcome = {
        let (second, stream) = (second.clone(), stream.clone());
        Consumer::new(client.events(), request, file.clone()).run(move |event| {
            let (second, stream) = (second.clone(), stream.clone());
            async move {
                if event.stream == stream {
                    second.lock().unwrap().push(event.position);
                }
                if event.position >= last {
                    Err(Done)
                } else {
                    Ok(())
                }
            }
        })
    };
    let outcome = tokio::time::timeout(WAIT, outcome).await.expect("in time");
    assert!(
        matches!(outcome, Err(ConsumerError::Handler(Done))),
        "{outcome:?}"
    );

    let second = second.lock().unwrap().clone();
    let expected: Vec<u64> = written.iter().copied().filter(|p| *p > stored).collect();
    assert_eq!(
        second, expected,
        "the second run starts right after the stored position"
    );
    let all: BTreeSet<u64> = before_crash.iter().chain(&second).copied().collect();
    assert_eq!(all, written.iter().copied().collect(), "nothing missed");
    let repeated: Vec<u64> = second
        .iter()
        .copied()
        .filter(|p| before_crash.contains(p))
        .collect();
    assert_eq!(
        repeated,
        written[40..45],
        "repeated: exactly those handled after the stored position, recognisable by it"
    );
}
