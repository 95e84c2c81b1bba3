//! Settings at their extremes fail as errors, never as panics, and retries stop at the deadline.
//! Only 127.0.0.1 port 1 is dialled, where nothing listens, so every attempt is refused at once.

use std::time::{Duration, Instant};

use causeway_client::{Client, Error, RetryPolicy, orders::GetOrderRequest};

const NOBODY: &str = "http://127.0.0.1:1";

fn get() -> GetOrderRequest {
    GetOrderRequest {
        order_id: "o-1".into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn absurd_durations_are_errors_not_panics() {
    let client = Client::builder(NOBODY)
        .deadline(Duration::MAX)
        .retry_policy(
            RetryPolicy::default()
                .max_attempts(2)
                .initial_backoff(Duration::from_millis(1))
                .max_backoff(Duration::from_millis(1)),
        )
        .build()
        .expect("client");
    let error = client.orders().get_order(get()).await.unwrap_err();
    assert!(matches!(error, Error::Unavailable { .. }), "{error:?}");
}

#[tokio::test]
async fn no_retry_starts_that_would_end_after_the_deadline() {
    let client = Client::builder(NOBODY)
        .deadline(Duration::from_millis(300))
        .retry_policy(
            RetryPolicy::default()
                .max_attempts(u32::MAX)
                .initial_backoff(Duration::MAX)
                .max_backoff(Duration::MAX),
        )
        .build()
        .expect("client");
    let started = Instant::now();
    let error = client.orders().get_order(get()).await.unwrap_err();
    assert!(matches!(error, Error::Unavailable { .. }), "{error:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn retries_of_a_refused_connection_end_with_the_attempts() {
    let client = Client::builder(NOBODY)
        .no_deadline()
        .retry_policy(
            RetryPolicy::default()
                .max_attempts(3)
                .initial_backoff(Duration::from_millis(1)),
        )
        .build()
        .expect("client");
    let error = client.orders().get_order(get()).await.unwrap_err();
    assert!(matches!(error, Error::Unavailable { .. }), "{error:?}");
}
