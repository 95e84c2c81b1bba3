//! The gRPC edge over the network: what the request context layer takes from headers, a command
//! id reused for another request (gRPC and REST), and a role process answering for the
//! services of another role.

use causeway_client::{
    common::CommandOptions,
    inventory::{RegisterProductRequest, inventory_commands_client::InventoryCommandsClient},
    orders::{PlaceOrderRequest, order_commands_client::OrderCommandsClient},
};
use causeway_server::{
    config::{Config, Role},
    kernel::EventMetadata,
};
use causeway_tests::{TestServer, command_id};
use tokio::net::TcpListener;
use tokio_stream::StreamExt;
use tonic::{Code, Request};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};
use tonic_reflection::pb::v1::{
    ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
    server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
};

fn register(command_id: &str, sku: &str, name: &str) -> RegisterProductRequest {
    RegisterProductRequest {
        options: Some(CommandOptions {
            command_id: command_id.into(),
            ..CommandOptions::default()
        }),
        sku: sku.into(),
        name: name.into(),
    }
}

/// The events of `stream` as the store holds them.
async fn events_of(
    server: &TestServer,
    stream: &str,
) -> Vec<causeway_server::store::RecordedEvent> {
    server
        .event_store()
        .read_stream(stream, 0)
        .await
        .expect("read the stream")
}

#[tokio::test(flavor = "multi_thread")]
async fn correlation_and_trace_headers_reach_the_events_metadata() {
    let server = TestServer::start().await;
    let mut client = InventoryCommandsClient::new(server.channel().await);
    let mut request = Request::new(register(&command_id(), "kettle", "Kettle"));
    let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    request
        .metadata_mut()
        .insert("x-correlation-id", "flow-42".parse().unwrap());
    request
        .metadata_mut()
        .insert("traceparent", traceparent.parse().unwrap());
    client.register_product(request).await.expect("registered");
    let events = events_of(&server, "product-kettle").await;
    let metadata = EventMetadata::from_json(&events[0].metadata).expect("metadata");
    assert_eq!(metadata.correlation_id, "flow-42");
    assert_eq!(metadata.traceparent.as_deref(), Some(traceparent));
    assert!(metadata.fingerprint.is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_command_id_reused_for_another_request_is_already_exists_over_grpc() {
    let server = TestServer::start().await;
    let mut client = InventoryCommandsClient::new(server.channel().await);
    let id = command_id();
    client
        .register_product(register(&id, "kettle", "Kettle"))
        .await
        .expect("registered");
    let status = client
        .register_product(register(&id, "kettle", "Teapot"))
        .await
        .expect_err("a different request under the same command id");
    assert_eq!(status.code(), Code::AlreadyExists, "{status:?}");
    assert_eq!(
        status.message(),
        format!("commandId {id} was used for a different request")
    );
    let repeat = client
        .register_product(register(&id, "kettle", "Kettle"))
        .await
        .expect("the same request is a repeat")
        .into_inner();
    assert!(repeat.ack.unwrap().deduplicated);
    assert_eq!(events_of(&server, "product-kettle").await.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_command_id_reused_for_another_request_is_409_over_rest() {
    let server = TestServer::start().await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let gateway = format!("http://{}", listener.local_addr().unwrap());
    let config = causeway_gateway::config::Config::with_upstream(server.url().parse().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(causeway_gateway::run(listener, config, async {
        let _ = stopped.await;
    }));
    let http = reqwest::Client::new();
    let post = |body: &'static str| {
        http.post(format!("{gateway}/v1/products"))
            .header("content-type", "application/json")
            .header("idempotency-key", "rest-key-1")
            .body(body)
            .send()
    };
    let first = post(r#"{"sku":"mug","name":"Mug"}"#).await.unwrap();
    assert_eq!(first.status(), 200, "{:?}", first.text().await);
    let other = post(r#"{"sku":"mug","name":"Cup"}"#).await.unwrap();
    assert_eq!(other.status(), 409);
    let body: serde_json::Value = serde_json::from_str(&other.text().await.unwrap()).unwrap();
    assert_eq!(body["error"]["status"], "ALREADY_EXISTS", "{body}");
    assert_eq!(
        body["error"]["message"],
        "commandId rest-key-1 was used for a different request"
    );
    assert_eq!(events_of(&server, "product-mug").await.len(), 1);
    let _ = stop.send(());
    task.await.unwrap().unwrap();
}

/// The services reflection lists on `server`.
async fn listed(server: &TestServer) -> Vec<String> {
    let mut client = ServerReflectionClient::new(server.channel().await);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = client
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .expect("reflection answers")
        .into_inner();
    let response = responses.next().await.expect("one response").expect("ok");
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("unexpected reflection response: {response:?}");
    };
    let mut names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread")]
async fn a_role_lists_and_serves_only_its_own_services_and_names_the_role_of_the_others() {
    let data_dir = tempfile::tempdir().unwrap();
    let mut config = Config::with_data_dir(data_dir.path());
    config.role = Role::Query;
    let server = TestServer::start_with(config, data_dir).await;
    assert_eq!(
        listed(&server).await,
        [
            "causeway.events.v1.EventFeed",
            "causeway.identity.v1.IdentityQueries",
            "causeway.inventory.v1.InventoryQueries",
            "causeway.orders.v1.OrderQueries",
            "grpc.health.v1.Health",
            "grpc.reflection.v1.ServerReflection",
            "grpc.reflection.v1alpha.ServerReflection",
        ]
    );
    let mut orders = OrderCommandsClient::new(server.channel().await);
    let status = orders
        .place_order(PlaceOrderRequest::default())
        .await
        .expect_err("the query role does not place orders");
    assert_eq!(status.code(), Code::Unimplemented);
    assert_eq!(
        status.message(),
        "causeway.orders.v1.OrderCommands is served by processes of role command (or all); \
         this process runs role query"
    );
    let mut health = HealthClient::new(server.channel().await);
    let unknown = health
        .check(HealthCheckRequest {
            service: "causeway.orders.v1.OrderCommands".into(),
        })
        .await
        .expect_err("not a service of this process");
    assert_eq!(unknown.code(), Code::NotFound);
}

/// Whether callers are authenticated is on the health service for probes and operators to see:
/// a process started with `--auth disabled` says so.
#[tokio::test(flavor = "multi_thread")]
async fn health_says_whether_callers_are_authenticated() {
    for (server, expected) in [
        (TestServer::start_secured().await, ServingStatus::Serving),
        (TestServer::start().await, ServingStatus::NotServing),
    ] {
        let mut health = HealthClient::new(server.channel().await);
        let answer = health
            .check(HealthCheckRequest {
                service: causeway_server::server::AUTHENTICATION.into(),
            })
            .await
            .expect("the name is known")
            .into_inner();
        assert_eq!(answer.status, expected as i32);
    }
}
