//! Malformed input on the wire: bytes that are not a protobuf message, or a message that decodes
//! but is invalid, are refused with a status; the server neither panics nor writes an event, and
//! keeps serving.

use causeway_client::common::CommandOptions;
use causeway_client::inventory::{
    RegisterProductRequest, inventory_commands_client::InventoryCommandsClient,
};
use causeway_tests::{TestServer, bench::echo::BytesCodec, command_id};
use prost::bytes::Bytes;
use tonic::{Code, Request, codegen::http::uri::PathAndQuery};

const COMMANDS: [&str; 6] = [
    "/causeway.orders.v1.OrderCommands/PlaceOrder",
    "/causeway.orders.v1.OrderCommands/CancelOrder",
    "/causeway.inventory.v1.InventoryCommands/RegisterProduct",
    "/causeway.inventory.v1.InventoryCommands/ReserveStock",
    "/causeway.identity.v1.IdentityCommands/RegisterUser",
    "/causeway.identity.v1.IdentityCommands/GrantRole",
];

/// Payloads a broken or hostile client might send.
fn garbage() -> Vec<Vec<u8>> {
    vec![
        vec![0xff; 64],
        vec![0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f],
        b"\x12\x05hello".to_vec(),
        b"\x0a\x02\x0a\x00".to_vec(),
        (0u8..=255).collect(),
        Vec::new(),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn garbage_on_the_wire_is_refused_and_writes_nothing() {
    let server = TestServer::start().await;
    let channel = server.channel().await;
    let store = server.event_store();
    for path in COMMANDS {
        for payload in garbage() {
            let mut grpc = tonic::client::Grpc::new(channel.clone());
            grpc.ready().await.expect("channel ready");
            let answer = grpc
                .unary(
                    Request::new(Bytes::from(payload.clone())),
                    PathAndQuery::from_static(path),
                    BytesCodec,
                )
                .await;
            let status = answer.expect_err("garbage is never accepted");
            assert!(
                matches!(status.code(), Code::InvalidArgument | Code::Internal),
                "{path} {payload:?}: {status:?}"
            );
        }
    }
    assert_eq!(
        store.head_position().await.expect("store answers"),
        None,
        "no event was written"
    );

    // The server is still fine.
    let mut inventory = InventoryCommandsClient::new(channel);
    inventory
        .register_product(RegisterProductRequest {
            options: Some(CommandOptions {
                command_id: command_id(),
                ..CommandOptions::default()
            }),
            sku: "after-garbage".into(),
            name: "Still serving".into(),
        })
        .await
        .expect("a good command after garbage");
}
