//! Crash safety: fulfilment is killed after every single store call it makes (an append that
//! reserved, released, committed, confirmed or rejected, or recorded a step; a read it decided
//! on), once per run, and restarted; every run must end with exactly the stock, order statuses
//! and fulfilments of a run without a crash, and no reservation made, released or committed
//! twice.

use std::{sync::Arc, time::Duration};

use causeway_server::{
    fulfilment::domain::{LineState, Status},
    inventory::{Product, events},
    orders::domain::OrderStatus,
    store::EventStore,
};
use tokio::task::JoinSet;

use super::{
    faulty::{Faulty, Refusal},
    world::{WAIT, World},
};

/// Long enough never to pass in these runs.
const NO_HURRY: Duration = Duration::from_secs(600);

/// What a run leaves behind, to compare across runs.
#[derive(Debug, PartialEq)]
struct Outcome {
    products: Vec<(String, Product)>,
    orders: Vec<(String, Option<OrderStatus>)>,
    fulfilments: Vec<(String, Option<Status>, Vec<LineState>)>,
    /// Events per reservation and type: each must be 1.
    reservation_events: Vec<(String, String, usize)>,
}

async fn outcome(world: &World, skus: &[&str], orders: &[&str]) -> Outcome {
    let mut products = Vec::new();
    let mut reservation_events = Vec::new();
    for sku in skus {
        products.push((sku.to_string(), world.product(sku).await));
        for event_type in [
            events::STOCK_RESERVED,
            events::STOCK_RELEASED,
            events::RESERVATION_COMMITTED,
        ] {
            for (id, n) in world.per_reservation(sku, event_type).await {
                reservation_events.push((id, event_type.to_owned(), n));
            }
        }
    }
    let mut order_statuses = Vec::new();
    let mut fulfilments = Vec::new();
    for id in orders {
        order_statuses.push((id.to_string(), world.order(id).await.status()));
        let fulfilment = world.fulfilment(id).await;
        let lines = fulfilment.lines().iter().map(|l| l.state).collect();
        fulfilments.push((id.to_string(), fulfilment.status(), lines));
    }
    Outcome {
        products,
        orders: order_statuses,
        fulfilments,
        reservation_events,
    }
}

/// A script of what customers and staff do, waiting for fulfilment where a person would.
type Script = fn(Arc<World>) -> futures::future::BoxFuture<'static, ()>;

/// Runs `script` with fulfilment on a store that crashes after its `crash_at`-th call (never
/// with `None`) and refuses what `refusal` names; on the crash, fulfilment is aborted like a
/// killed process and started again on a store that does not crash. Returns what the run left,
/// how many calls the first process made, and whether it crashed.
async fn run(
    script: Script,
    crash_at: Option<usize>,
    refusal: Option<Refusal>,
    timeout: Duration,
) -> (Arc<World>, usize, bool) {
    let world = Arc::new(World::new());
    let faulty = Faulty::new(world.events.clone(), crash_at, refusal.clone());
    let mut process = world.fulfil(faulty.clone(), timeout);
    let mut crashed = faulty.crashed();
    let mut acting = tokio::spawn(script(world.clone()));
    let finished = tokio::time::timeout(WAIT, async {
        tokio::select! {
            done = &mut acting => Some(done),
            _ = crashed.wait_for(|c| *c) => None,
        }
    })
    .await
    .expect("the script ends or fulfilment crashes");
    let calls = faulty.calls();
    let crashed = finished.is_none();
    if crashed {
        stop(&mut process).await;
        let healthy = Faulty::new(world.events.clone(), None, refusal);
        process = world.fulfil(healthy as Arc<dyn EventStore>, timeout);
        tokio::time::timeout(WAIT, &mut acting)
            .await
            .unwrap_or_else(|_| panic!("crashed at call {crash_at:?}: the script never ended"))
            .expect("the script");
    } else if let Some(Err(e)) = finished {
        panic!("the script failed: {e}");
    }
    stop(&mut process).await;
    (world, calls, crashed)
}

async fn stop(process: &mut JoinSet<()>) {
    process.abort_all();
    while process.join_next().await.is_some() {}
}

/// Runs `script` once without a crash, then once crashing after each call the clean run made;
/// every run must leave what the clean one left.
async fn crash_everywhere(
    script: Script,
    refusal: Option<Refusal>,
    timeout: Duration,
    skus: &[&str],
    orders: &[&str],
) {
    let (world, calls, _) = run(script, None, refusal.clone(), timeout).await;
    let expected = outcome(&world, skus, orders).await;
    assert!(
        expected.reservation_events.iter().all(|(_, _, n)| *n == 1),
        "{expected:#?}"
    );
    assert!(calls > 10, "the clean run made {calls} calls");
    let mut crashes = 0;
    for crash_at in 1..=calls {
        let (world, _, crashed) = run(script, Some(crash_at), refusal.clone(), timeout).await;
        let got = outcome(&world, skus, orders).await;
        assert_eq!(got, expected, "crashed after call {crash_at} of {calls}");
        crashes += usize::from(crashed);
    }
    // A run may make a call or two fewer than the clean one (a retry's timing), never many.
    assert!(
        crashes + 2 >= calls,
        "only {crashes} of {calls} runs crashed"
    );
    eprintln!("{crashes} runs crashed, one after each of the clean run's {calls} calls");
}

/// Confirmed then shipped; one line refused (the other released, the order rejected);
/// confirmed then cancelled (released).
fn confirm_ship_refuse_cancel(world: Arc<World>) -> futures::future::BoxFuture<'static, ()> {
    Box::pin(async move {
        world.stock("kettle", 5).await;
        world.stock("mug", 2).await;
        world.stock("lamp", 1).await;
        world.place("a", &[("kettle", 3), ("mug", 2)]).await;
        world.until("a", Status::Confirmed).await;
        world.ship("a").await;
        world.until("a", Status::Shipped).await;
        world.place("b", &[("kettle", 1), ("lamp", 2)]).await;
        world.until("b", Status::Rejected).await;
        world.place("c", &[("kettle", 1)]).await;
        world.until("c", Status::Confirmed).await;
        world.cancel("c").await;
        world.until("c", Status::Released).await;
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn killed_after_any_step_fulfilment_ends_exactly_as_without_the_crash() {
    crash_everywhere(
        confirm_ship_refuse_cancel,
        None,
        NO_HURRY,
        &["kettle", "mug", "lamp"],
        &["a", "b", "c"],
    )
    .await;
}

/// One line reserved, the other's reservation failing (the store refuses it) until the
/// deadline passes: released and rejected.
fn stuck_until_the_deadline(world: Arc<World>) -> futures::future::BoxFuture<'static, ()> {
    Box::pin(async move {
        world.stock("kettle", 5).await;
        world.stock("bellows", 3).await;
        world.place("d", &[("kettle", 1), ("bellows", 1)]).await;
        world.until("d", Status::Rejected).await;
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn killed_after_any_step_a_deadline_still_releases_and_rejects_exactly_once() {
    let refusal = Refusal {
        stream: "product-bellows".into(),
        event_type: events::STOCK_RESERVED,
    };
    crash_everywhere(
        stuck_until_the_deadline,
        Some(refusal),
        Duration::from_millis(300),
        &["kettle", "bellows"],
        &["d"],
    )
    .await;
}
