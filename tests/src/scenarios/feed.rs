//! The event feed end to end over gRPC, on every event store backend: a write storm read across
//! the catch-up/live switch, a filtered subscription with checkpoints, and events arriving
//! typed, upcast and with their metadata. Every scenario starts just before its own first
//! write and only judges the streams it made, so it also holds on a long-lived KurrentDB.

use std::{collections::HashSet, time::Duration};

use causeway_client::{
    common::CommandOptions,
    events::StoredEvent,
    events::{
        Checkpoint, FeedEvent, SubscribeRequest, SubscribeResponse,
        event_feed_client::EventFeedClient, subscribe_response::Item,
    },
    identity::{RegisterUserRequest, identity_commands_client::IdentityCommandsClient},
    inventory::{
        ProductRegistered, ReceiveStockRequest, RegisterProductRequest, StockReceived,
        inventory_commands_client::InventoryCommandsClient,
    },
    orders::{
        OrderLine, PlaceOrderRequest, PlaceOrderResponse,
        order_commands_client::OrderCommandsClient,
    },
};
use causeway_server::store::{ExpectedRevision, NewEvent};
use prost::Message;
use tokio::sync::oneshot;
use tonic::{Streaming, transport::Channel};

use super::unique;
pub use crate::options;
use crate::{EventBackend, TestServer, command_id};

/// A bound on waiting for the feed, not a measurement.
pub const WAIT: Duration = Duration::from_secs(60);

/// Registers `sku`; the position of its event.
pub async fn register(channel: &Channel, sku: &str) -> u64 {
    let request = RegisterProductRequest {
        options: options(),
        sku: sku.into(),
        name: format!("Product {sku}"),
    };
    let ack = InventoryCommandsClient::new(channel.clone())
        .register_product(request)
        .await
        .expect("register a product")
        .into_inner()
        .ack;
    ack.expect("an ack").position
}

/// Receives one unit of `sku`; the position of its event.
pub async fn receive(channel: &Channel, sku: &str) -> u64 {
    let request = ReceiveStockRequest {
        options: options(),
        sku: sku.into(),
        quantity: 1,
    };
    let ack = InventoryCommandsClient::new(channel.clone())
        .receive_stock(request)
        .await
        .expect("receive stock")
        .into_inner()
        .ack;
    ack.expect("an ack").position
}

/// Places an order of `quantity` units of `sku` for a new customer.
pub async fn place(channel: &Channel, sku: &str, quantity: u32) -> PlaceOrderResponse {
    let request = PlaceOrderRequest {
        options: options(),
        customer_id: unique("cust"),
        currency: "EUR".into(),
        lines: vec![OrderLine {
            sku: sku.into(),
            quantity,
            unit_price_minor: 450,
        }],
        ..PlaceOrderRequest::default()
    };
    OrderCommandsClient::new(channel.clone())
        .place_order(request)
        .await
        .expect("place an order")
        .into_inner()
}

/// Opens a subscription.
pub async fn subscribe(
    channel: &Channel,
    request: SubscribeRequest,
) -> Streaming<SubscribeResponse> {
    EventFeedClient::new(channel.clone())
        .subscribe(request)
        .await
        .expect("subscribe")
        .into_inner()
}

/// The position an item lets a consumer resume after.
pub fn position(item: &Item) -> u64 {
    match item {
        Item::Event(event) => event.position,
        Item::Checkpoint(Checkpoint { position }) => *position,
    }
}

/// Items of `feed` up to the first one at or past `until`, within [`WAIT`].
pub async fn read_through(feed: &mut Streaming<SubscribeResponse>, until: u64) -> Vec<Item> {
    let read = async {
        let mut items = Vec::new();
        loop {
            let response = feed.message().await.expect("the feed fails not");
            let item = response.expect("the feed ends not").item.expect("an item");
            let reached = position(&item) >= until;
            items.push(item);
            if reached {
                return items;
            }
        }
    };
    tokio::time::timeout(WAIT, read)
        .await
        .unwrap_or_else(|_| panic!("position {until} not reached within {WAIT:?}"))
}

/// The events among `items` whose stream is one of `streams`.
pub fn events_of<'a>(items: &'a [Item], streams: &HashSet<String>) -> Vec<&'a FeedEvent> {
    items
        .iter()
        .filter_map(|item| match item {
            Item::Event(event) if streams.contains(&event.stream) => Some(event),
            _ => None,
        })
        .collect()
}

/// Positions told to a consumer only ever grow: no event twice, no checkpoint going back.
pub fn assert_strictly_increasing(items: &[Item]) {
    let positions: Vec<u64> = items.iter().map(position).collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "positions went back or repeated: {positions:?}"
    );
}

/// Four writers append while one subscriber catches up from before the first write and another
/// joins from the head half-way: each sees every event of the scenario's streams from where it
/// started, exactly once and in position order, the head subscriber starting with a checkpoint.
pub async fn a_write_storm_arrives_once_and_in_order_across_the_switch(backend: &EventBackend) {
    let server = TestServer::start_on(backend).await;
    let channel = server.channel().await;
    let skus: Vec<String> = (0..4).map(|_| unique("storm")).collect();
    let mut positions = Vec::new();
    for sku in &skus {
        positions.push(register(&channel, sku).await);
    }
    // Stored before anyone subscribes: the catch-up part.
    for sku in &skus {
        for _ in 0..25 {
            positions.push(receive(&channel, sku).await);
        }
    }
    let all = SubscribeRequest {
        after: positions[0] - 1,
        category: vec!["product".into()],
        ..SubscribeRequest::default()
    };
    let mut feed = subscribe(&channel, all).await;

    let (tenth, wrote_ten) = oneshot::channel();
    let mut tenth = Some(tenth);
    let mut writers = Vec::new();
    for (i, sku) in skus.iter().cloned().enumerate() {
        let channel = channel.clone();
        let mut signal = if i == 0 { tenth.take() } else { None };
        writers.push(tokio::spawn(async move {
            let mut positions = Vec::new();
            for n in 0..75 {
                positions.push(receive(&channel, &sku).await);
                if n == 9
                    && let Some(signal) = signal.take()
                {
                    let _ = signal.send(());
                }
            }
            positions
        }));
    }
    wrote_ten.await.expect("the first writer got going");
    let from_head = SubscribeRequest {
        from_head: true,
        category: vec!["product".into()],
        ..SubscribeRequest::default()
    };
    let mut head_feed = subscribe(&channel, from_head).await;
    for writer in writers {
        positions.extend(writer.await.expect("writer"));
    }
    let sentinel = unique("sentinel");
    let last = register(&channel, &sentinel).await;
    positions.push(last);
    positions.sort_unstable();

    let streams: HashSet<String> = skus
        .iter()
        .chain([&sentinel])
        .map(|sku| format!("product-{sku}"))
        .collect();
    let items = read_through(&mut feed, last).await;
    assert_strictly_increasing(&items);
    let delivered: Vec<u64> = events_of(&items, &streams)
        .iter()
        .map(|e| e.position)
        .collect();
    assert_eq!(delivered.len(), 405);
    assert_eq!(delivered, positions, "every event once, in position order");
    for sku in &skus {
        let revisions: Vec<u64> = events_of(&items, &streams)
            .iter()
            .filter(|e| e.stream == format!("product-{sku}"))
            .map(|e| e.revision)
            .collect();
        assert_eq!(revisions, (0..=100).collect::<Vec<u64>>(), "{sku}");
    }

    let items = read_through(&mut head_feed, last).await;
    assert_strictly_increasing(&items);
    let Some(Item::Checkpoint(Checkpoint { position: head })) = items.first().cloned() else {
        panic!(
            "a subscription from the head starts with a checkpoint: {:?}",
            items.first()
        );
    };
    let expected: Vec<u64> = positions.iter().copied().filter(|p| *p > head).collect();
    assert!(expected.len() < positions.len() - 100, "it joined half-way");
    let delivered: Vec<u64> = events_of(&items, &streams)
        .iter()
        .map(|e| e.position)
        .collect();
    assert_eq!(delivered, expected, "from the head on, every event once");
}

/// A subscription to one event type of one category delivers just those, and while the rest of
/// the log goes by it says how far it has looked with checkpoints, the last one at or past the
/// newest write.
pub async fn a_filtered_subscription_checkpoints_past_what_it_skips(backend: &EventBackend) {
    let server = TestServer::start_on_with(backend, |config| {
        config.feed.feed_checkpoint_interval = Duration::from_millis(100);
    })
    .await;
    let channel = server.channel().await;
    let sku = unique("filtered");
    let first = register(&channel, &sku).await;
    let request = SubscribeRequest {
        after: first - 1,
        category: vec!["order".into()],
        event_type: vec!["causeway.orders.v1.OrderPlaced".into()],
        ..SubscribeRequest::default()
    };
    let mut feed = subscribe(&channel, request).await;

    let placed = place(&channel, &sku, 1).await;
    let placed_at = placed.ack.as_ref().expect("ack").position;
    let mut last = placed_at;
    for _ in 0..40 {
        last = receive(&channel, &sku).await;
    }

    let items = read_through(&mut feed, last).await;
    assert_strictly_increasing(&items);
    let ours: HashSet<String> = [format!("order-{}", placed.order_id)].into();
    let delivered: Vec<(&str, u64)> = events_of(&items, &ours)
        .iter()
        .map(|e| (e.event_type.as_str(), e.position))
        .collect();
    assert_eq!(delivered, [("causeway.orders.v1.OrderPlaced", placed_at)]);
    assert!(
        items.iter().all(|item| match item {
            Item::Event(event) => event.event_type == "causeway.orders.v1.OrderPlaced",
            Item::Checkpoint(_) => true,
        }),
        "only the type asked for"
    );
    match items.last() {
        Some(Item::Checkpoint(Checkpoint { position })) => assert!(*position >= last),
        other => panic!("the feed ends its quiet stretch with a checkpoint: {other:?}"),
    }
}

/// A product registered under an old schema arrives upcast to the newest one, as its typed
/// message; each event carries the metadata it was stored with; a password hash never leaves.
pub async fn events_arrive_typed_upcast_and_with_their_metadata(backend: &EventBackend) {
    let server = TestServer::start_on(backend).await;
    let channel = server.channel().await;
    let sku = unique("old");
    let fixture: serde_json::Value = serde_json::from_str(include_str!(
        "../../fixtures/events/causeway.inventory.v1.ProductRegistered/v1.json"
    ))
    .expect("fixture");
    let mut data = fixture["data"].clone();
    data["sku"] = sku.clone().into();
    let old = NewEvent {
        id: uuid::Uuid::new_v4(),
        event_type: "causeway.inventory.v1.ProductRegistered".into(),
        data: serde_json::to_vec(&data).expect("json"),
        metadata: serde_json::to_vec(&fixture["metadata"]).expect("json"),
    };
    let stored = server
        .event_store()
        .append(
            &format!("product-{sku}"),
            ExpectedRevision::NoStream,
            vec![old],
        )
        .await
        .expect("an old event, written behind the server's back");
    let sent = command_id();
    let received = InventoryCommandsClient::new(channel.clone())
        .receive_stock(ReceiveStockRequest {
            options: Some(CommandOptions {
                command_id: sent.clone(),
                ..CommandOptions::default()
            }),
            sku: sku.clone(),
            quantity: 3,
        })
        .await
        .expect("receive")
        .into_inner()
        .ack
        .expect("ack")
        .position;
    let email = format!("{}@example.com", unique("ada"));
    let registered = IdentityCommandsClient::new(channel.clone())
        .register_user(RegisterUserRequest {
            options: options(),
            email: email.clone(),
            display_name: "Ada".into(),
            password: "correct horse battery".into(),
        })
        .await
        .expect("register a user")
        .into_inner();
    let user_position = registered.ack.expect("ack").position;

    let mut feed = subscribe(
        &channel,
        SubscribeRequest {
            after: stored.position - 1,
            ..SubscribeRequest::default()
        },
    )
    .await;
    let items = read_through(&mut feed, user_position).await;
    let ours: HashSet<String> = [
        format!("product-{sku}"),
        format!("user-{}", registered.user_id),
    ]
    .into();
    let events = events_of(&items, &ours);
    assert_eq!(events.len(), 3, "{events:?}");

    let (old, new, user) = (events[0], events[1], events[2]);
    assert_eq!(old.position, stored.position);
    let payload = old.payload.as_ref().expect("payload");
    assert_eq!(
        payload.type_url,
        "type.googleapis.com/causeway.inventory.v1.ProductRegistered"
    );
    let product = ProductRegistered::decode(payload.value.as_slice()).expect("typed");
    assert_eq!(
        (product.sku.as_str(), product.name.as_str()),
        (sku.as_str(), "Kettle")
    );
    let metadata = old.metadata.as_ref().expect("metadata");
    assert_eq!(metadata.schema_version, 1, "as it was stored");
    assert_eq!(metadata.command_id, "0195a1b2-c3d4-7e5f-8a9b-000000000006");
    assert_eq!(metadata.causation_id, metadata.command_id);
    assert_eq!(
        (metadata.actor.as_str(), metadata.tenant.as_str()),
        ("billing-service", "acme")
    );
    assert!(metadata.traceparent.starts_with("00-4bf92f35"));
    assert_eq!(
        metadata.time.as_ref().map(|t| t.seconds),
        Some(1_730_565_600)
    );

    assert_eq!((new.position, new.revision), (received, 1));
    let stock = StockReceived::decode(new.payload.as_ref().expect("payload").value.as_slice())
        .expect("typed");
    assert_eq!(stock.quantity, 3);
    let metadata = new.metadata.as_ref().expect("metadata");
    assert_eq!(metadata.command_id, sent);
    assert!(!metadata.correlation_id.is_empty() && metadata.time.is_some());
    assert!(
        new.recorded_at
            .as_ref()
            .is_some_and(|t| t.seconds > 1_730_565_600)
    );
    assert!(!new.event_id.is_empty() && new.event_id != old.event_id);

    let Some(Ok(StoredEvent::UserRegistered(user))) =
        StoredEvent::from_any(user.payload.as_ref().expect("payload"))
    else {
        panic!("a typed UserRegistered: {user:?}");
    };
    assert_eq!(user.email, email);
    assert_eq!(user.password_hash, "", "withheld by the contract");
}
