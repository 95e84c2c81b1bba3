//! History end to end over gRPC: an order's, a product's and a user's life read from their
//! streams (`EventFeed/ReadStream`, `OrderQueries/GetOrderHistory`), and their state `asOf`
//! every revision and every commit time, checked against a fold of those very events written
//! here, independently of the server's own, and against the read model at the end.

use std::collections::BTreeSet;

use causeway_client::{
    common::{AsOf, Consistency, as_of::Point},
    events::{
        Event, FeedEvent, ReadStreamRequest, StoredEvent, event_feed_client::EventFeedClient,
    },
    identity::{
        GetUserRequest, GrantRoleRequest, RegisterUserRequest, User,
        identity_commands_client::IdentityCommandsClient,
        identity_queries_client::IdentityQueriesClient,
    },
    inventory::{
        GetProductRequest, Product, ReceiveStockRequest, ReleaseStockRequest, ReserveStockRequest,
        inventory_commands_client::InventoryCommandsClient,
        inventory_queries_client::InventoryQueriesClient,
    },
    orders::{
        ConfirmOrderRequest, GetOrderHistoryRequest, GetOrderRequest, Order, OrderStatus,
        ShipOrderRequest, order_commands_client::OrderCommandsClient,
        order_queries_client::OrderQueriesClient,
    },
};
use prost_types::Timestamp;
use tonic::{Code, transport::Channel};

use super::{
    feed::{options, place, register},
    unique,
};
use crate::{EventBackend, TestServer};

/// Every event of `stream`, through `ReadStream` pages of `page` events.
async fn read_stream(channel: &Channel, stream: &str, page: u32) -> Vec<FeedEvent> {
    let mut feed = EventFeedClient::new(channel.clone());
    let mut events: Vec<FeedEvent> = Vec::new();
    loop {
        let from_revision = events.last().map_or(0, |e| e.revision + 1);
        let answer = feed
            .read_stream(ReadStreamRequest {
                stream: stream.into(),
                from_revision,
                max_count: page,
            })
            .await
            .expect("read the stream")
            .into_inner();
        assert!(answer.events.len() <= page as usize);
        events.extend(answer.events);
        if answer.end_of_stream {
            return events;
        }
    }
}

fn typed(event: &FeedEvent) -> StoredEvent {
    Event::try_from(event.clone())
        .expect("decodes")
        .message
        .expect("a known type")
}

/// The points of a stream to ask about: after each revision, and at each commit time.
fn points(events: &[FeedEvent]) -> Vec<(usize, Point)> {
    let mut points = Vec::new();
    for (i, event) in events.iter().enumerate() {
        points.push((i, Point::Revision(event.revision)));
        points.push((i, Point::Time(event.recorded_at.expect("commit time"))));
    }
    points
}

/// One microsecond before `event` was committed.
fn just_before(event: &FeedEvent) -> Point {
    let at = event.recorded_at.expect("commit time");
    let micros = at.seconds * 1_000_000 + i64::from(at.nanos / 1_000) - 1;
    Point::Time(Timestamp {
        seconds: micros.div_euclid(1_000_000),
        nanos: (micros.rem_euclid(1_000_000) * 1_000) as i32,
    })
}

fn as_of(point: Point) -> Option<AsOf> {
    Some(AsOf { point: Some(point) })
}

/// The order after `events`, folded here.
fn order_after(events: &[FeedEvent]) -> Order {
    let mut order = Order::default();
    for event in events {
        let status = match typed(event) {
            StoredEvent::OrderPlaced(placed) => {
                order = Order {
                    order_id: placed.order_id,
                    customer_id: placed.customer_id,
                    lines: placed.lines,
                    total_minor: placed.total_minor,
                    currency: placed.currency,
                    ..Order::default()
                };
                OrderStatus::Placed
            }
            StoredEvent::OrderConfirmed(_) => OrderStatus::Confirmed,
            StoredEvent::OrderShipped(_) => OrderStatus::Shipped,
            StoredEvent::OrderCancelled(cancelled) => {
                order.reason = cancelled.reason;
                OrderStatus::Cancelled
            }
            StoredEvent::OrderRejected(rejected) => {
                order.reason = rejected.reason;
                OrderStatus::Rejected
            }
            other => panic!("not an order event: {other:?}"),
        };
        order.status = status as i32;
        order.revision = event.revision;
        order.position = event.position;
    }
    order
}

/// The product after `events`, folded here.
fn product_after(events: &[FeedEvent]) -> Product {
    let mut product = Product::default();
    for event in events {
        match typed(event) {
            StoredEvent::ProductRegistered(registered) => {
                product.sku = registered.sku;
                product.name = registered.name;
            }
            StoredEvent::StockReceived(received) => product.on_hand += received.quantity,
            StoredEvent::StockReserved(reserved) => product.reserved += reserved.quantity,
            StoredEvent::StockReleased(released) => product.reserved -= released.quantity,
            StoredEvent::ReservationCommitted(committed) => {
                product.on_hand -= committed.quantity;
                product.reserved -= committed.quantity;
            }
            other => panic!("not a product event: {other:?}"),
        }
        product.available = product.on_hand - product.reserved;
        product.revision = event.revision;
    }
    product
}

/// The user after `events`, folded here.
fn user_after(events: &[FeedEvent]) -> User {
    let (mut user, mut roles) = (User::default(), BTreeSet::new());
    for event in events {
        match typed(event) {
            StoredEvent::UserRegistered(registered) => {
                user.user_id = registered.user_id;
                user.email = registered.email;
                user.display_name = registered.display_name;
            }
            StoredEvent::RoleGranted(granted) => {
                roles.insert(granted.role);
            }
            StoredEvent::RoleRevoked(revoked) => {
                roles.remove(&revoked.role);
            }
            StoredEvent::UserDisabled(_) => user.disabled = true,
            other => panic!("not a user event: {other:?}"),
        }
        user.revision = event.revision;
    }
    user.roles = roles.into_iter().collect();
    user
}

/// An order's, a product's and a user's state as of each revision and each commit time equals
/// the fold of their stream up to there; before the first event there is nothing; the latest
/// equals the read model. `GetOrderHistory` and `ReadStream` page through the same events.
pub async fn history_and_as_of_answers_equal_a_fold_of_the_stream(backend: &EventBackend) {
    let server = TestServer::start_on(backend).await;
    let channel = server.channel().await;

    let sku = unique("hist");
    register(&channel, &sku).await;
    let mut inventory = InventoryCommandsClient::new(channel.clone());
    inventory
        .receive_stock(ReceiveStockRequest {
            options: options(),
            sku: sku.clone(),
            quantity: 10,
        })
        .await
        .expect("receive");
    inventory
        .reserve_stock(ReserveStockRequest {
            options: options(),
            sku: sku.clone(),
            quantity: 4,
            reservation_id: "r-1".into(),
        })
        .await
        .expect("reserve");
    inventory
        .release_stock(ReleaseStockRequest {
            options: options(),
            sku: sku.clone(),
            quantity: 1,
            reservation_id: "r-1".into(),
        })
        .await
        .expect("release");

    let order_id = place(&channel, &sku, 2).await.order_id;
    let mut orders = OrderCommandsClient::new(channel.clone());
    // These servers run without fulfilment: staff confirm orders.
    orders
        .confirm_order(ConfirmOrderRequest {
            options: options(),
            order_id: order_id.clone(),
        })
        .await
        .expect("confirm");
    let shipped = orders
        .ship_order(ShipOrderRequest {
            options: options(),
            order_id: order_id.clone(),
        })
        .await
        .expect("ship")
        .into_inner()
        .ack
        .expect("ack");

    let registered = IdentityCommandsClient::new(channel.clone())
        .register_user(RegisterUserRequest {
            options: options(),
            email: format!("{}@example.com", unique("grace")),
            display_name: "Grace".into(),
            password: "correct horse battery".into(),
        })
        .await
        .expect("register")
        .into_inner();
    let user_id = registered.user_id;
    let granted = IdentityCommandsClient::new(channel.clone())
        .grant_role(GrantRoleRequest {
            options: options(),
            user_id: user_id.clone(),
            role: "orders.staff".into(),
        })
        .await
        .expect("grant")
        .into_inner()
        .ack
        .expect("ack");
    let latest = Some(Consistency {
        min_position: shipped.position.max(granted.position),
    });

    // The order: ReadStream and GetOrderHistory agree, page by page.
    let order_events = read_stream(&channel, &format!("order-{order_id}"), 2).await;
    assert_eq!(order_events.len(), 3);
    let mut queries = OrderQueriesClient::new(channel.clone());
    let history = queries
        .get_order_history(GetOrderHistoryRequest {
            order_id: order_id.clone(),
            ..Default::default()
        })
        .await
        .expect("history")
        .into_inner();
    assert!(history.end_of_stream);
    assert_eq!(history.events, order_events);
    for (i, point) in points(&order_events) {
        let order = queries
            .get_order(GetOrderRequest {
                order_id: order_id.clone(),
                as_of: as_of(point),
                ..Default::default()
            })
            .await
            .expect("as of")
            .into_inner()
            .order;
        assert_eq!(order, Some(order_after(&order_events[..=i])), "{point:?}");
    }
    let before = queries
        .get_order(GetOrderRequest {
            order_id: order_id.clone(),
            as_of: as_of(just_before(&order_events[0])),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(before.code(), Code::NotFound, "{before:?}");
    let now = queries
        .get_order(GetOrderRequest {
            order_id: order_id.clone(),
            consistency: latest,
            ..Default::default()
        })
        .await
        .expect("read model")
        .into_inner()
        .order;
    assert_eq!(
        now,
        Some(order_after(&order_events)),
        "the read model agrees"
    );

    // The product.
    // Registered, received, reserved, released.
    let product_events = read_stream(&channel, &format!("product-{sku}"), 1).await;
    assert_eq!(product_events.len(), 4);
    let mut products = InventoryQueriesClient::new(channel.clone());
    for (i, point) in points(&product_events) {
        let product = products
            .get_product(GetProductRequest {
                sku: sku.clone(),
                as_of: as_of(point),
                ..Default::default()
            })
            .await
            .expect("as of")
            .into_inner()
            .product;
        assert_eq!(
            product,
            Some(product_after(&product_events[..=i])),
            "{point:?}"
        );
    }
    let now = products
        .get_product(GetProductRequest {
            sku: sku.clone(),
            consistency: Some(Consistency {
                min_position: product_events.last().expect("events").position,
            }),
            ..Default::default()
        })
        .await
        .expect("read model")
        .into_inner()
        .product
        .expect("product");
    assert_eq!(now, product_after(&product_events), "the read model agrees");

    // The user.
    let user_events = read_stream(&channel, &format!("user-{user_id}"), 100).await;
    assert_eq!(user_events.len(), 2);
    let mut users = IdentityQueriesClient::new(channel.clone());
    for (i, point) in points(&user_events) {
        let user = users
            .get_user(GetUserRequest {
                user_id: user_id.clone(),
                as_of: as_of(point),
                ..Default::default()
            })
            .await
            .expect("as of")
            .into_inner()
            .user;
        assert_eq!(user, Some(user_after(&user_events[..=i])), "{point:?}");
    }
    let now = users
        .get_user(GetUserRequest {
            user_id,
            consistency: latest,
            ..Default::default()
        })
        .await
        .expect("read model")
        .into_inner()
        .user;
    assert_eq!(now, Some(user_after(&user_events)));

    let missing = EventFeedClient::new(channel)
        .read_stream(ReadStreamRequest {
            stream: format!("order-{}", unique("none")),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
}
