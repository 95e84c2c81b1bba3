//! A real Causeway order-command service behind a bearer-token check, for testing clients
//! against `UNAUTHENTICATED` before the platform itself authenticates anyone.
//!
//! It is the server library's own `OrderCommands` service over an embedded event store, wrapped
//! in a tonic interceptor that records the `authorization` and `user-agent` headers of every
//! request and refuses tokens the test does not accept.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
};

use causeway_server::{config::Config, kernel::CommandHandler, server};
use tempfile::TempDir;
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};
use tokio_stream::wrappers::TcpListenerStream;
use tonic::{
    Request, Status,
    service::interceptor::InterceptedService,
    transport::{Error as TransportError, Server},
};

type Accepts = dyn Fn(&str) -> bool + Send + Sync;

/// The headers of one request that tests look at.
#[derive(Clone)]
struct Seen {
    authorization: String,
    user_agent: String,
}

/// `causeway.orders.v1.OrderCommands` on `127.0.0.1:<free port>`, answering `UNAUTHENTICATED`
/// unless the request carries `authorization: Bearer <token>` with a token `accepts` approves.
pub struct BearerGate {
    /// Where it listens.
    pub addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
    stop: Option<oneshot::Sender<()>>,
    _task: JoinHandle<Result<(), TransportError>>,
    _data_dir: TempDir,
}

impl BearerGate {
    /// Starts the gate on a fresh data directory.
    pub async fn start(accepts: impl Fn(&str) -> bool + Send + Sync + 'static) -> Self {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let config = Config::with_data_dir(data_dir.path());
        let events = server::open_event_store(&config)
            .await
            .expect("open event store");
        let commands = CommandHandler::new(events, Arc::new(server::upcasters()));

        let seen = Arc::new(Mutex::new(Vec::new()));
        let accepts: Arc<Accepts> = Arc::new(accepts);
        let check = {
            let seen = seen.clone();
            move |request: Request<()>| -> Result<Request<()>, Status> {
                let header = |name: &str| {
                    request
                        .metadata()
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned()
                };
                let authorization = header("authorization");
                let token = authorization.strip_prefix("Bearer ").map(str::to_owned);
                seen.lock().expect("seen lock").push(Seen {
                    authorization,
                    user_agent: header("user-agent"),
                });
                match token {
                    Some(token) if accepts(&token) => Ok(request),
                    _ => Err(Status::unauthenticated("missing or invalid bearer token")),
                }
            }
        };

        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
        let addr = listener.local_addr().expect("local addr");
        let (stop, stopped) = oneshot::channel::<()>();
        let service = InterceptedService::new(causeway_server::orders::service(commands), check);
        let task = tokio::spawn(
            Server::builder()
                .add_service(service)
                .serve_with_incoming_shutdown(TcpListenerStream::new(listener), async {
                    let _ = stopped.await;
                }),
        );
        Self {
            addr,
            seen,
            stop: Some(stop),
            _task: task,
            _data_dir: data_dir,
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every `authorization` header received, in order (`""` when a request had none).
    pub fn authorizations(&self) -> Vec<String> {
        self.seen().into_iter().map(|s| s.authorization).collect()
    }

    /// Every `user-agent` header received, in order.
    pub fn user_agents(&self) -> Vec<String> {
        self.seen().into_iter().map(|s| s.user_agent).collect()
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("seen lock").clone()
    }
}

impl Drop for BearerGate {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
