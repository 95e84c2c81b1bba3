//! Malformed input on the wire: bytes that are not a protobuf message, or a message that decodes
//! but is invalid, are refused with a status; the server neither panics nor writes an event, and
//! keeps serving. A caller's bad bytes are `INVALID_ARGUMENT` (too many bytes:
//! `RESOURCE_EXHAUSTED`), never `INTERNAL`, which means the server's own fault.

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

/// Payloads a broken or hostile client might send: garbage, a length past the end
/// (truncated), a wrong wire type for a message field, invalid UTF-8 in a string field.
fn garbage() -> Vec<Vec<u8>> {
    vec![
        vec![0xff; 64],
        vec![0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f],
        b"\x12\x05hello".to_vec(),
        b"\x0a\x02\x0a\x00".to_vec(),
        (0u8..=255).collect(),
        b"\x08\x01".to_vec(),
        b"\x12\x02\xc3\x28".to_vec(),
    ]
}

/// Sends `payload` as the request of the RPC at `path`.
async fn call(
    channel: &tonic::transport::Channel,
    path: &'static str,
    payload: Vec<u8>,
) -> Result<Bytes, tonic::Status> {
    let mut grpc = tonic::client::Grpc::new(channel.clone()).max_encoding_message_size(64 << 20);
    grpc.ready().await.expect("channel ready");
    grpc.unary(
        Request::new(Bytes::from(payload)),
        PathAndQuery::from_static(path),
        BytesCodec,
    )
    .await
    .map(tonic::Response::into_inner)
}

#[tokio::test(flavor = "multi_thread")]
async fn garbage_on_the_wire_is_refused_and_writes_nothing() {
    let server = TestServer::start().await;
    let channel = server.channel().await;
    let store = server.event_store();
    for path in COMMANDS {
        for payload in garbage() {
            let status = call(&channel, path, payload.clone())
                .await
                .expect_err("garbage is never accepted");
            assert_eq!(
                status.code(),
                Code::InvalidArgument,
                "{path} {payload:?}: {status:?}"
            );
        }
        let huge = call(&channel, path, vec![0x0a; 5 << 20])
            .await
            .expect_err("over the size limit");
        assert_eq!(huge.code(), Code::ResourceExhausted, "{path}: {huge:?}");
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

/// A PlaceOrder request with one line whose quantity is `quantity`, encoded by hand: a varint
/// of ten bytes wraps to `u32::MAX` in a `uint32` field.
fn place_order_with_raw_quantity(quantity: &[u8]) -> Vec<u8> {
    let field = |number: u8, bytes: &[u8]| {
        let mut out = vec![(number << 3) | 2, bytes.len() as u8];
        out.extend_from_slice(bytes);
        out
    };
    let mut line = field(1, b"kettle");
    line.push(2 << 3);
    line.extend_from_slice(quantity);
    line.extend_from_slice(&[3 << 3, 100]);
    let mut request = field(1, &field(1, b"raw-quantity-1"));
    request.extend(field(3, b"ada"));
    request.extend(field(4, b"EUR"));
    request.extend(field(5, &line));
    request
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrapped_varint_quantity_is_refused_by_the_business_maximum() {
    let server = TestServer::start().await;
    let channel = server.channel().await;
    let wrapped = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
    let status = call(
        &channel,
        "/causeway.orders.v1.OrderCommands/PlaceOrder",
        place_order_with_raw_quantity(&wrapped),
    )
    .await
    .expect_err("4,294,967,295 units is no order");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(
        status
            .message()
            .contains("lines[0].quantity: at most 1000000000"),
        "{status:?}"
    );
    assert_eq!(server.event_store().head_position().await.unwrap(), None);
    // The same bytes with a sane quantity are an order.
    call(
        &channel,
        "/causeway.orders.v1.OrderCommands/PlaceOrder",
        place_order_with_raw_quantity(&[2]),
    )
    .await
    .expect("two kettles are an order");
}

#[tokio::test(flavor = "multi_thread")]
async fn caller_strings_are_bounded_and_identifiers_refuse_invisible_characters() {
    let server = TestServer::start().await;
    let mut inventory =
        InventoryCommandsClient::new(server.channel().await).max_encoding_message_size(8 << 20);
    let register = |sku: &str, correlation: String| RegisterProductRequest {
        options: Some(CommandOptions {
            command_id: command_id(),
            correlation_id: correlation,
            ..CommandOptions::default()
        }),
        sku: sku.into(),
        name: "Kettle".into(),
    };
    let huge = "c".repeat(3_900_000);
    let status = inventory
        .register_product(register("kettle", huge))
        .await
        .expect_err("a 3.9 MB correlation id");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status
            .message()
            .starts_with("options.correlationId: at most 128"),
        "{}",
        status.message()
    );
    for sku in ["kettle\u{202E}elttek", "ket\u{200B}tle", "\u{FEFF}kettle"] {
        let status = inventory
            .register_product(register(sku, String::new()))
            .await
            .expect_err("an invisible character in a sku");
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(
            status
                .message()
                .starts_with("sku: must not contain invisible"),
            "{}",
            status.message()
        );
    }
    assert_eq!(server.event_store().head_position().await.unwrap(), None);
}
