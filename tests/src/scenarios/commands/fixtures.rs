//! What every command scenario builds on: command options, order requests, the three command
//! clients on one channel, a stocked product, and the field names of a BadRequest.

use causeway_client::{
    common::{CommandAck, CommandOptions},
    identity::identity_commands_client::IdentityCommandsClient,
    inventory::{
        ReceiveStockRequest, RegisterProductRequest,
        inventory_commands_client::InventoryCommandsClient,
    },
    orders::{
        ConfirmOrderRequest, OrderLine, PlaceOrderRequest, ShipOrderRequest,
        order_commands_client::OrderCommandsClient,
    },
};
use tonic::{Code, Status, transport::Channel};
use tonic_types::StatusExt;

pub(super) use crate::options;
use crate::{TestServer, command_id};

pub(super) fn options_at(revision: u64) -> Option<CommandOptions> {
    Some(CommandOptions {
        command_id: command_id(),
        expected_revision: Some(revision),
        ..CommandOptions::default()
    })
}

pub(super) fn line(sku: &str, quantity: u32, unit_price_minor: i64) -> OrderLine {
    OrderLine {
        sku: sku.into(),
        quantity,
        unit_price_minor,
    }
}

pub(super) fn place(options: Option<CommandOptions>) -> PlaceOrderRequest {
    PlaceOrderRequest {
        options,
        order_id: String::new(),
        customer_id: "customer-1".into(),
        currency: "EUR".into(),
        lines: vec![line("sku-1", 2, 1250)],
    }
}

/// Places [`place`]'s order under a fresh command id and returns the new order's id.
pub(super) async fn place_order(c: &mut Clients) -> String {
    c.orders
        .place_order(place(options()))
        .await
        .expect("place")
        .into_inner()
        .order_id
}

/// ConfirmOrder of `order_id` under `options`.
pub(super) fn confirm(order_id: &str, options: Option<CommandOptions>) -> ConfirmOrderRequest {
    ConfirmOrderRequest {
        options,
        order_id: order_id.into(),
    }
}

/// ShipOrder of `order_id` under a fresh command id.
pub(super) fn ship(order_id: &str) -> ShipOrderRequest {
    ShipOrderRequest {
        options: options(),
        order_id: order_id.into(),
    }
}

pub(super) fn violated_fields(status: &Status) -> Vec<String> {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    status
        .get_details_bad_request()
        .expect("INVALID_ARGUMENT carries google.rpc.BadRequest")
        .field_violations
        .into_iter()
        .map(|v| v.field)
        .collect()
}

pub(super) struct Clients {
    pub(super) orders: OrderCommandsClient<Channel>,
    pub(super) inventory: InventoryCommandsClient<Channel>,
    pub(super) identity: IdentityCommandsClient<Channel>,
}

pub(super) async fn clients(server: &TestServer) -> Clients {
    let channel = server.channel().await;
    Clients {
        orders: OrderCommandsClient::new(channel.clone()),
        inventory: InventoryCommandsClient::new(channel.clone()),
        identity: IdentityCommandsClient::new(channel),
    }
}

pub(super) async fn register_product(c: &mut Clients, sku: &str, quantity: u64) -> CommandAck {
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
