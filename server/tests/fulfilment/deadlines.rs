//! Deadlines are durable: recorded in the fulfilment's stream, kept in the read model of open
//! deadlines, and fired by the worker after a restart even when nothing else would wake the
//! fulfilment. A deadline that fires after its fulfilment finished changes nothing.

use std::{sync::Arc, time::Duration};

use causeway_server::{
    fulfilment::{
        News, Saga,
        deadlines::DeadlinesProjection,
        domain::{LineState, Status},
        timeouts::fire_deadlines,
        values::Timestamp,
    },
    inventory::events::STOCK_RESERVED,
    kernel::{Aggregate, CommandHandler},
    orders::domain::OrderStatus,
    projection::{ProjectionRunner, Projections},
    server::upcasters,
    store::EventStore,
};
use tokio::task::JoinSet;

use super::{
    faulty::{Faulty, Refusal},
    world::{WAIT, World, order_id},
};

/// Two minutes from now: past any deadline of a minute.
fn later() -> Timestamp {
    Timestamp::from_millis(Timestamp::now().millis() + 120_000)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deadline_recorded_before_a_crash_is_fired_by_the_worker_after_the_restart() {
    let world = World::new();
    world.stock("kettle", 5).await;
    world.stock("bellows", 3).await;
    // Bellows cannot be reserved for now: fulfilment keeps trying while the minute runs.
    let refusal = Refusal {
        stream: "product-bellows".into(),
        event_type: STOCK_RESERVED,
    };
    let faulty = Faulty::new(world.events.clone(), None, Some(refusal));
    let mut process = world.fulfil(faulty, Duration::from_secs(60));
    world.place("d", &[("kettle", 1), ("bellows", 1)]).await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while world.fulfilment("d").await.lines().first().map(|l| l.state) != Some(LineState::Reserved)
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "kettle never reserved"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    process.abort_all();
    while process.join_next().await.is_some() {}
    assert_eq!(
        world.fulfilment("d").await.status(),
        Some(Status::Reserving)
    );

    // Restarted two minutes later, without the subscription: only the worker can act.
    let upcasters = Arc::new(upcasters());
    let saga = Arc::new(
        Saga::new(CommandHandler::new(world.events.clone(), upcasters.clone())).with_clock(later),
    );
    let projections = Projections::default();
    let mut worker = JoinSet::new();
    let (deadlines, _) = ProjectionRunner::new(
        world.events.clone(),
        world.reads.clone(),
        Arc::new(DeadlinesProjection::new(upcasters)),
        &projections,
    );
    worker.spawn(deadlines.run());
    worker.spawn(fire_deadlines(
        saga.clone(),
        world.reads.clone(),
        projections,
        later,
    ));
    world.until("d", Status::Rejected).await;
    let order = world.order("d").await;
    assert_eq!(order.status(), Some(OrderStatus::Rejected));
    let kettle = world.product("kettle").await;
    assert_eq!((kettle.on_hand(), kettle.reserved()), (5, 0));
    let lines: Vec<LineState> = world
        .fulfilment("d")
        .await
        .lines()
        .iter()
        .map(|l| l.state)
        .collect();
    assert_eq!(lines, [LineState::Released, LineState::Released]);

    // The deadline firing again, after the fulfilment finished, records nothing.
    let stream = causeway_server::fulfilment::Fulfilment::stream_id("d");
    let before = world.events.read_stream(&stream, 0).await.unwrap().len();
    saga.handle(&order_id("d"), News::Tick).await.unwrap();
    let after = world.events.read_stream(&stream, 0).await.unwrap().len();
    assert_eq!(after, before);
    worker.abort_all();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deadline_after_every_line_was_reserved_is_ignored_and_the_order_confirmed() {
    let world = World::new();
    world.stock("kettle", 5).await;
    let mut process = world.fulfil(
        world.events.clone() as Arc<dyn EventStore>,
        Duration::from_secs(60),
    );
    world.place("e", &[("kettle", 2)]).await;
    world.until("e", Status::Confirmed).await;
    process.abort_all();
    let saga = Saga::new(CommandHandler::new(
        world.events.clone(),
        Arc::new(upcasters()),
    ))
    .with_clock(later);
    let stream = causeway_server::fulfilment::Fulfilment::stream_id("e");
    let before = world.events.read_stream(&stream, 0).await.unwrap().len();
    saga.handle(&order_id("e"), News::Tick).await.unwrap();
    let after = world.events.read_stream(&stream, 0).await.unwrap().len();
    assert_eq!(after, before, "a late deadline changes nothing");
    assert_eq!(
        world.order("e").await.status(),
        Some(OrderStatus::Confirmed)
    );
}
