//! A tiny gRPC server for a test proto, compiled with protox inside the test: one generic
//! tonic service that handles every RPC of `gatewaytest.v1.Probe` with `DynamicMessage`s, so
//! tests can reach status codes and shapes the real server never produces, count what reached
//! the upstream, and hold calls open.
//!
//! RPCs (their annotations are given by each test, so a test can add or leave one out):
//! - `Echo`: answers `"hello <target.name>"` (`"!"`-terminated when `mood` is `MOOD_LOUD`)
//!   and echoes the `authorization` metadata, `big`, `mood` and `tags`.
//! - `Fail`: answers the gRPC status whose number is `code`; INVALID_ARGUMENT carries a
//!   `google.rpc.BadRequest` violation of the path `detail.field_name` names (by default
//!   `detail.field_name` itself), so tests choose how the server spells it.
//! - `Hold`: reports its arrival, then waits until released.
//! - `Note`: answers the title of the `note` it was sent.

use std::{
    convert::Infallible,
    net::SocketAddr,
    path::PathBuf,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    task::{Context, Poll},
};

use causeway_gateway::upstream::DynamicCodec;
use futures::future::BoxFuture;
use prost_reflect::{DescriptorPool, DynamicMessage, MethodDescriptor, Value};
use tokio::{
    net::TcpListener,
    sync::{Notify, oneshot},
};
use tokio_stream::wrappers::TcpListenerStream;
use tonic::{Code, Request, Response, Status, body::Body, server::NamedService};
use tonic_types::{ErrorDetails, StatusExt};

/// The test proto, with `{annotations}` standing for each test's choice of HTTP rules.
const PROTO: &str = r#"
syntax = "proto3";

package gatewaytest.v1;

import "google/api/annotations.proto";

// A service that exists only in the gateway's tests.
service Probe {
  rpc Echo(EchoRequest) returns (EchoResponse) {ECHO}
  rpc Fail(FailRequest) returns (FailResponse) {FAIL}
  rpc Hold(HoldRequest) returns (HoldResponse) {HOLD}
  rpc Note(NoteRequest) returns (EchoResponse) {NOTE}
}

enum Mood {
  MOOD_UNSPECIFIED = 0;
  MOOD_LOUD = 1;
  MOOD_QUIET = 2;
}

message Target {
  string name = 1;
}

message EchoRequest {
  Target target = 1;
  Mood mood = 2;
  int64 big = 3;
  repeated string tags = 4;
}

message EchoResponse {
  string text = 1;
  string authorization = 2;
  int64 big = 3;
  Mood mood = 4;
  repeated string tags = 5;
}

message Detail {
  string field_name = 1;
}

message FailRequest {
  int32 code = 1;
  Detail detail = 2;
}

message FailResponse {}

message HoldRequest {}

message HoldResponse {}

message Note {
  string title = 1;
}

message NoteRequest {
  string id = 1;
  Note note = 2;
}
"#;

/// The HTTP rules of each RPC: `None` leaves the RPC unannotated.
#[derive(Debug, Clone, Default)]
pub struct Annotations {
    /// For `Echo`.
    pub echo: Option<&'static str>,
    /// For `Fail`.
    pub fail: Option<&'static str>,
    /// For `Hold`.
    pub hold: Option<&'static str>,
    /// For `Note`.
    pub note: Option<&'static str>,
}

impl Annotations {
    /// Every RPC annotated, as most tests want it.
    pub fn all() -> Self {
        Self {
            echo: Some(r#"post: "/v1/echo/{target.name}:shout" body: "*""#),
            fail: Some(r#"get: "/v1/fail/{code}""#),
            hold: Some(r#"get: "/v1/hold""#),
            note: Some(
                r#"put: "/v1/notes/{id}" body: "note"
                   additional_bindings { patch: "/v1/notes/{id}" body: "note" }"#,
            ),
        }
    }
}

/// Compiles the test proto with `annotations` (imports resolve from the workspace's `proto/`,
/// as for the real contracts).
pub fn compile(annotations: &Annotations) -> DescriptorPool {
    let option = |rule: Option<&str>| match rule {
        Some(rule) => format!("{{\n    option (google.api.http) = {{ {rule} }};\n  }}"),
        None => ";".to_owned(),
    };
    let source = PROTO
        .replace("{ECHO}", &option(annotations.echo))
        .replace("{FAIL}", &option(annotations.fail))
        .replace("{HOLD}", &option(annotations.hold))
        .replace("{NOTE}", &option(annotations.note));
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("gatewaytest/v1/probe.proto");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, source).unwrap();
    let contracts = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../proto");
    let mut compiler = protox::Compiler::new([dir.path().to_path_buf(), contracts]).unwrap();
    compiler.include_imports(true);
    compiler.include_source_info(true);
    compiler
        .open_file("gatewaytest/v1/probe.proto")
        .unwrap_or_else(|e| panic!("test proto: {e:?}"));
    // Encoded by protox itself: `prost_types` would drop the google.api.http options.
    DescriptorPool::decode(compiler.encode_file_descriptor_set().as_slice()).unwrap()
}

/// What the probe saw, shared with the test.
#[derive(Default)]
pub struct Seen {
    /// Calls that reached the service.
    pub calls: AtomicUsize,
    /// Signalled when a `Hold` call arrives.
    pub held: Notify,
    /// Signalled to let `Hold` calls answer.
    pub release: Notify,
}

/// A running probe server.
pub struct Probe {
    /// Where it listens.
    pub addr: SocketAddr,
    /// What it saw.
    pub seen: Arc<Seen>,
    stop: Option<oneshot::Sender<()>>,
}

impl Probe {
    /// Serves `pool`'s `gatewaytest.v1.Probe` and a health service reporting SERVING.
    pub async fn start(pool: &DescriptorPool) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Seen::default());
        let service = ProbeService {
            pool: pool.clone(),
            seen: seen.clone(),
        };
        let (health, health_service) = tonic_health::server::health_reporter();
        health
            .set_service_status("", tonic_health::ServingStatus::Serving)
            .await;
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            tonic::transport::Server::builder()
                .add_service(health_service)
                .add_service(service)
                .serve_with_incoming_shutdown(TcpListenerStream::new(listener), async {
                    let _ = stopped.await;
                })
                .await
        });
        Self {
            addr,
            seen,
            stop: Some(stop),
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Calls that reached the probe so far.
    pub fn calls(&self) -> usize {
        self.seen.calls.load(Ordering::SeqCst)
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

#[derive(Clone)]
struct ProbeService {
    pool: DescriptorPool,
    seen: Arc<Seen>,
}

impl NamedService for ProbeService {
    const NAME: &'static str = "gatewaytest.v1.Probe";
}

impl tower::Service<http::Request<Body>> for ProbeService {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let name = request
            .uri()
            .path()
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_owned();
        let method = self
            .pool
            .get_service_by_name(Self::NAME)
            .and_then(|s| s.methods().find(|m| m.name() == name));
        let seen = self.seen.clone();
        Box::pin(async move {
            let Some(method) = method else {
                return Ok(Status::unimplemented(name).into_http());
            };
            let mut grpc = tonic::server::Grpc::new(DynamicCodec::new(method.input()));
            Ok(grpc.unary(Handler { method, seen }, request).await)
        })
    }
}

struct Handler {
    method: MethodDescriptor,
    seen: Arc<Seen>,
}

impl tonic::server::UnaryService<DynamicMessage> for Handler {
    type Response = DynamicMessage;
    type Future = BoxFuture<'static, Result<Response<DynamicMessage>, Status>>;

    fn call(&mut self, request: Request<DynamicMessage>) -> Self::Future {
        let method = self.method.clone();
        let seen = self.seen.clone();
        Box::pin(async move {
            seen.calls.fetch_add(1, Ordering::SeqCst);
            let authorization = request
                .metadata()
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            let input = request.into_inner();
            let mut output = DynamicMessage::new(method.output());
            match method.name() {
                "Echo" => {
                    let name = match input.get_field_by_name("target").map(|v| v.into_owned()) {
                        Some(Value::Message(target)) => target
                            .get_field_by_name("name")
                            .and_then(|v| v.as_str().map(str::to_owned))
                            .unwrap_or_default(),
                        _ => String::new(),
                    };
                    let mood = input
                        .get_field_by_name("mood")
                        .and_then(|v| v.as_enum_number())
                        .unwrap_or_default();
                    let bang = if mood == 1 { "!" } else { "" };
                    output.set_field_by_name("text", Value::String(format!("hello {name}{bang}")));
                    output.set_field_by_name("authorization", Value::String(authorization));
                    for field in ["big", "mood"] {
                        if let Some(value) = input.get_field_by_name(field) {
                            output.set_field_by_name(field, value.into_owned());
                        }
                    }
                    if let Some(tags) = input.get_field_by_name("tags") {
                        output.set_field_by_name("tags", tags.into_owned());
                    }
                }
                "Fail" => {
                    let code = input
                        .get_field_by_name("code")
                        .and_then(|v| v.as_i32())
                        .unwrap_or_default();
                    let code = Code::from_i32(code);
                    if code == Code::InvalidArgument {
                        let named = match input.get_field_by_name("detail").map(|v| v.into_owned())
                        {
                            Some(Value::Message(detail)) => detail
                                .get_field_by_name("field_name")
                                .and_then(|v| v.as_str().map(str::to_owned))
                                .filter(|name| !name.is_empty()),
                            _ => None,
                        };
                        let field = named.unwrap_or_else(|| "detail.field_name".to_owned());
                        let mut details = ErrorDetails::new();
                        details.add_bad_request_violation(field, "is wrong");
                        return Err(Status::with_error_details(code, "invalid detail", details));
                    }
                    if code != Code::Ok {
                        return Err(Status::new(code, format!("failing with {code:?}")));
                    }
                }
                "Hold" => {
                    let released = seen.release.notified();
                    seen.held.notify_one();
                    released.await;
                }
                "Note" => {
                    let title = match input.get_field_by_name("note").map(|v| v.into_owned()) {
                        Some(Value::Message(note)) => note
                            .get_field_by_name("title")
                            .and_then(|v| v.as_str().map(str::to_owned))
                            .unwrap_or_default(),
                        _ => String::new(),
                    };
                    output.set_field_by_name("text", Value::String(title));
                }
                other => return Err(Status::unimplemented(other.to_owned())),
            }
            Ok(Response::new(output))
        })
    }
}
