//! Reflection is served in both versions (grpcurl 1.8 speaks only v1alpha; newer tools v1), and
//! health answers per service.

use causeway_tests::TestServer;
use tokio_stream::StreamExt;
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};
use tonic_reflection::pb::v1::{
    ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
    server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
};

#[tokio::test(flavor = "multi_thread")]
async fn reflection_v1_lists_every_command_service() {
    let server = TestServer::start().await;
    let mut client = ServerReflectionClient::new(server.channel().await);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = client
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .expect("v1 reflection answers")
        .into_inner();
    let response = responses.next().await.expect("one response").expect("ok");
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("unexpected reflection response: {response:?}");
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for service in [
        "causeway.orders.v1.OrderCommands",
        "causeway.inventory.v1.InventoryCommands",
        "causeway.identity.v1.IdentityCommands",
    ] {
        assert!(
            names.iter().any(|n| n == service),
            "{service} missing: {names:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn health_answers_per_service_and_for_the_process() {
    let server = TestServer::start().await;
    let mut health = HealthClient::new(server.channel().await);
    for service in [
        "",
        "causeway.orders.v1.OrderCommands",
        "causeway.identity.v1.IdentityCommands",
    ] {
        let status = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .expect("health answers")
            .into_inner()
            .status();
        assert_eq!(status, ServingStatus::Serving, "{service:?}");
    }
    let unknown = health
        .check(HealthCheckRequest {
            service: "no.such.Service".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), tonic::Code::NotFound);
}

/// Clients that decode error details through reflection (grpcurl among them) find the
/// `google.rpc` types, with the comments of our own copy.
#[tokio::test(flavor = "multi_thread")]
async fn reflection_describes_the_error_details_a_status_carries() {
    use prost::Message;

    let server = TestServer::start().await;
    let mut client = ServerReflectionClient::new(server.channel().await);
    for (symbol, file) in [
        ("google.rpc.BadRequest", "google/rpc/error_details.proto"),
        ("google.rpc.Status", "google/rpc/status.proto"),
    ] {
        let request = ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::FileContainingSymbol(symbol.into())),
        };
        let response = client
            .server_reflection_info(tokio_stream::iter([request]))
            .await
            .expect("v1 reflection answers")
            .into_inner()
            .next()
            .await
            .expect("one response")
            .expect("ok");
        let Some(MessageResponse::FileDescriptorResponse(found)) = response.message_response else {
            panic!("{symbol}: unexpected reflection response: {response:?}");
        };
        let files: Vec<prost_types::FileDescriptorProto> = found
            .file_descriptor_proto
            .iter()
            .map(|bytes| prost_types::FileDescriptorProto::decode(bytes.as_slice()).unwrap())
            .collect();
        let described = files
            .iter()
            .find(|f| f.name() == file)
            .unwrap_or_else(|| panic!("{symbol}: {file} not served"));
        let commented = described
            .source_code_info
            .as_ref()
            .is_some_and(|info| info.location.iter().any(|l| l.leading_comments.is_some()));
        assert!(commented, "{file} is served without its comments");
    }
}
