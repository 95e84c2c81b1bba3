//! The command services end to end: a real server on a free loopback port, driven through the
//! generated clients over real gRPC.

use causeway_client::{
    common::{CommandAck, CommandOptions},
    identity::{
        GrantRoleRequest, RegisterUserRequest, identity_commands_client::IdentityCommandsClient,
    },
    inventory::{
        ReceiveStockRequest, RegisterProductRequest, ReleaseStockRequest, ReserveStockRequest,
        inventory_commands_client::InventoryCommandsClient,
    },
    orders::{
        CancelOrderRequest, ConfirmOrderRequest, OrderLine, PlaceOrderRequest, ShipOrderRequest,
        order_commands_client::OrderCommandsClient,
    },
};
use tonic::{Code, Status, transport::Channel};
use tonic_types::StatusExt;

use super::unique;
use crate::{EventBackend, TestServer, command_id};

fn options() -> Option<CommandOptions> {
    Some(CommandOptions {
        command_id: command_id(),
        ..CommandOptions::default()
    })
}

fn options_at(revision: u64) -> Option<CommandOptions> {
    Some(CommandOptions {
        command_id: command_id(),
        expected_revision: Some(revision),
        ..CommandOptions::default()
    })
}

fn line(sku: &str, quantity: u32, unit_price_minor: i64) -> OrderLine {
    OrderLine {
        sku: sku.into(),
        quantity,
        unit_price_minor,
    }
}

fn place(options: Option<CommandOptions>) -> PlaceOrderRequest {
    PlaceOrderRequest {
        options,
        order_id: String::new(),
        customer_id: "customer-1".into(),
        currency: "EUR".into(),
        lines: vec![line("sku-1", 2, 1250)],
    }
}

fn violated_fields(status: &Status) -> Vec<String> {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    status
        .get_details_bad_request()
        .expect("INVALID_ARGUMENT carries google.rpc.BadRequest")
        .field_violations
        .into_iter()
        .map(|v| v.field)
        .collect()
}

struct Clients {
    orders: OrderCommandsClient<Channel>,
    inventory: InventoryCommandsClient<Channel>,
    identity: IdentityCommandsClient<Channel>,
}

async fn clients(server: &TestServer) -> Clients {
    let channel = server.channel().await;
    Clients {
        orders: OrderCommandsClient::new(channel.clone()),
        inventory: InventoryCommandsClient::new(channel.clone()),
        identity: IdentityCommandsClient::new(channel),
    }
}

async fn register_product(c: &mut Clients, sku: &str, quantity: u64) -> CommandAck {
    c.inventory
        .register_product(RegisterProductRequest {
            options: options(),
            sku: sku.into(),
            name: format!("Product {sku}"),
        })
        .await
        .expect("register product");
    c.inventory
        .receive_stock(ReceiveStockRequest {
            options: options(),
            sku: sku.into(),
            quantity,
        })
        .await
        .expect("receive stock")
        .into_inner()
        .ack
        .expect("ack")
}

/// Products, an order, a cancellation and a user: acks carry stream ids, revisions and growing
/// positions.
pub async fn a_day_of_business_over_grpc(backend: &EventBackend) {
    let server = TestServer::start_on(backend).await;
    let mut c = clients(&server).await;

    let sku = unique("sku");
    let ack = register_product(&mut c, &sku, 10).await;
    assert_eq!(ack.stream_id, format!("product-{sku}"));
    assert_eq!(ack.revision, 1);
    assert!(!ack.deduplicated);

    let placed = c
        .orders
        .place_order(place(options()))
        .await
        .expect("place order")
        .into_inner();
    let placed_ack = placed.ack.expect("ack");
    assert!(!placed.order_id.is_empty());
    assert_eq!(placed_ack.stream_id, format!("order-{}", placed.order_id));
    assert_eq!(placed_ack.revision, 0);
    assert!(placed_ack.position > ack.position, "positions grow");

    let cancelled = c
        .orders
        .cancel_order(CancelOrderRequest {
            options: options(),
            order_id: placed.order_id.clone(),
            reason: "changed my mind".into(),
        })
        .await
        .expect("cancel")
        .into_inner()
        .ack
        .expect("ack");
    assert_eq!(cancelled.revision, 1);
    assert!(cancelled.position > placed_ack.position);

    let user = c
        .identity
        .register_user(RegisterUserRequest {
            options: options(),
            email: format!("{}@Example.com", unique("Ada")),
            display_name: "Ada".into(),
            password: "correct horse battery".into(),
        })
        .await
        .expect("register user")
        .into_inner();
    assert_eq!(
        user.ack.expect("ack").stream_id,
        format!("user-{}", user.user_id)
    );
    c.identity
        .grant_role(GrantRoleRequest {
            options: options(),
            user_id: user.user_id,
            role: "admin".into(),
        })
        .await
        .expect("grant role");
}

/// Malformed requests are INVALID_ARGUMENT naming each field, never echoing a password.
pub async fn bad_requests_name_the_offending_field(backend: &EventBackend) {
    let server = TestServer::start_on(backend).await;
    let mut c = clients(&server).await;

    let mut no_lines = place(options());
    no_lines.lines.clear();
    let status = c.orders.place_order(no_lines).await.unwrap_err();
    assert!(
        violated_fields(&status).contains(&"lines".to_string()),
        "{status:?}"
    );

    let mut zero = place(options());
    zero.lines = vec![line("sku-1", 0, 100)];
    let status = c.orders.place_order(zero).await.unwrap_err();
    assert!(
        violated_fields(&status)
            .iter()
            .any(|f| f == "lines[0].quantity"),
        "{status:?}"
    );

    let status = c.orders.place_order(place(None)).await.unwrap_err();
    assert_eq!(violated_fields(&status), vec!["options".to_string()]);

    let status = c
        .identity
        .register_user(RegisterUserRequest {
            options: options(),
            email: "not-an-email".into(),
            display_name: "X".into(),
            password: "short".into(),
        })
        .await
        .unwrap_err();
    let fields = violated_fields(&status);
    assert!(fields.contains(&"email".to_string()), "{fields:?}");
    assert!(fields.contains(&"password".to_string()), "{fields:?}");
    assert!(
        !status.message().contains("short"),
        "the password never echoes back"
    );

    let status = c
        .inventory
        .receive_stock(ReceiveStockRequest {
            options: options(),
            sku: String::new(),
            quantity: 5,
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&status), vec!["sku".to_string()]);
}

/// Commands on entities that do not exist are NOT_FOUND.
pub async fn unknown_ids_are_not_found(backend: &EventBackend) {
    let server = TestServer::start_on(backend).await;
    let mut c = clients(&server).await;
    let status = c
        .orders
        .confirm_order(ConfirmOrderRequest {
            options: options(),
            order_id: unique("no-such-order"),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    let status = c
        .inventory
        .receive_stock(ReceiveStockRequest {
            options: options(),
            sku: unique("no-such-sku"),
            quantity: 1,
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    let status = c
        .identity
        .grant_role(GrantRoleRequest {
            options: options(),
            user_id: uuid::Uuid::now_v7().to_string(),
            role: "admin".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
}

/// Each business rule, broken, is FAILED_PRECONDITION.
pub async fn broken_rules_are_failed_precondition(backend: &EventBackend) {
    let server = TestServer::start_on(backend).await;
    let mut c = clients(&server).await;
    let sku = unique("sku");
    register_product(&mut c, &sku, 3).await;

    let reserve = |quantity: u64, reservation_id: &str| ReserveStockRequest {
        options: options(),
        sku: sku.clone(),
        quantity,
        reservation_id: reservation_id.into(),
    };
    let status = c
        .inventory
        .reserve_stock(reserve(4, "r-1"))
        .await
        .unwrap_err();
    assert_eq!(
        status.code(),
        Code::FailedPrecondition,
        "beyond available: {status:?}"
    );
    c.inventory
        .reserve_stock(reserve(3, "r-1"))
        .await
        .expect("reserve all");
    let release = || ReleaseStockRequest {
        options: options(),
        sku: sku.clone(),
        quantity: 0,
        reservation_id: "r-1".into(),
    };
    c.inventory.release_stock(release()).await.expect("release");
    let status = c.inventory.release_stock(release()).await.unwrap_err();
    assert_eq!(
        status.code(),
        Code::FailedPrecondition,
        "released once: {status:?}"
    );

    let order_id = c
        .orders
        .place_order(place(options()))
        .await
        .expect("place")
        .into_inner()
        .order_id;
    let status = c
        .orders
        .ship_order(ShipOrderRequest {
            options: options(),
            order_id: order_id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        status.code(),
        Code::FailedPrecondition,
        "ship before confirm: {status:?}"
    );
    c.orders
        .confirm_order(ConfirmOrderRequest {
            options: options(),
            order_id: order_id.clone(),
        })
        .await
        .expect("confirm");
    c.orders
        .ship_order(ShipOrderRequest {
            options: options(),
            order_id: order_id.clone(),
        })
        .await
        .expect("ship");
    let status = c
        .orders
        .cancel_order(CancelOrderRequest {
            options: options(),
            order_id,
            reason: "too late".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        status.code(),
        Code::FailedPrecondition,
        "shipped: {status:?}"
    );

    let grace = unique("grace");
    let register = |email: &str| RegisterUserRequest {
        options: options(),
        email: email.into(),
        display_name: "Grace".into(),
        password: "a long enough password".into(),
    };
    c.identity
        .register_user(register(&format!("{grace}@example.com")))
        .await
        .expect("first");
    let status = c
        .identity
        .register_user(register(&format!("{}@example.com", grace.to_uppercase())))
        .await
        .unwrap_err();
    assert_eq!(
        status.code(),
        Code::FailedPrecondition,
        "email unique: {status:?}"
    );
}

/// A client-given expected revision that no longer holds is ABORTED at once.
pub async fn a_stale_expected_revision_is_aborted(backend: &EventBackend) {
    let server = TestServer::start_on(backend).await;
    let mut c = clients(&server).await;
    let order_id = c
        .orders
        .place_order(place(options()))
        .await
        .expect("place")
        .into_inner()
        .order_id;
    let status = c
        .orders
        .confirm_order(ConfirmOrderRequest {
            options: options_at(5),
            order_id: order_id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Aborted, "{status:?}");
    let ack = c
        .orders
        .confirm_order(ConfirmOrderRequest {
            options: options_at(0),
            order_id,
        })
        .await
        .expect("current revision applies")
        .into_inner()
        .ack
        .expect("ack");
    assert_eq!(ack.revision, 1);
}

/// The same command id, sent again or by eight callers at once, appends once and replays the
/// original ack.
pub async fn a_repeated_command_id_appends_once_and_replays_the_ack(backend: &EventBackend) {
    let server = TestServer::start_on(backend).await;
    let mut c = clients(&server).await;
    let opts = options();

    let first = c
        .orders
        .place_order(place(opts.clone()))
        .await
        .unwrap()
        .into_inner();
    let again = c
        .orders
        .place_order(place(opts.clone()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        first.order_id, again.order_id,
        "the derived order id is stable"
    );
    let (first_ack, again_ack) = (first.ack.unwrap(), again.ack.unwrap());
    assert!(!first_ack.deduplicated);
    assert!(again_ack.deduplicated);
    assert_eq!(
        (first_ack.stream_id, first_ack.revision, first_ack.position),
        (again_ack.stream_id, again_ack.revision, again_ack.position)
    );

    // The same command id sent by 8 callers at once: one set of events, one original ack.
    let opts = options();
    let calls = (0..8).map(|_| {
        let mut client = c.orders.clone();
        let request = place(opts.clone());
        tokio::spawn(async move { client.place_order(request).await })
    });
    let mut acks = Vec::new();
    for call in calls {
        acks.push(call.await.unwrap().expect("place").into_inner());
    }
    let order_id = acks[0].order_id.clone();
    assert!(acks.iter().all(|r| r.order_id == order_id));
    let acks: Vec<CommandAck> = acks.into_iter().map(|r| r.ack.unwrap()).collect();
    assert_eq!(
        acks.iter().filter(|a| !a.deduplicated).count(),
        1,
        "{acks:?}"
    );
    assert!(
        acks.iter()
            .all(|a| a.revision == 0 && a.position == acks[0].position)
    );
    // Only one OrderPlaced exists: the stream is at revision 0, so confirming at 0 applies.
    let ack = c
        .orders
        .confirm_order(ConfirmOrderRequest {
            options: options_at(0),
            order_id: order_id.clone(),
        })
        .await
        .expect("stream holds exactly one event")
        .into_inner()
        .ack
        .unwrap();
    assert_eq!(ack.revision, 1);
}
