//! Harness for the gateway's end-to-end tests: a gateway on a free loopback port in front of a
//! real `causeway-server` (`causeway_tests::TestServer`) or of a small generic gRPC service
//! built from a test proto, and a real HTTP client. Everything stops when the test ends.
#![allow(dead_code)]

pub mod probe;

use std::{
    collections::BTreeSet,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use causeway_gateway::{
    GatewayError,
    config::Config,
    routes::{Lookup, RouteTable},
};
use causeway_server::auth::{keys::KeyRing, tokens::TokenIssuer};
use causeway_tests::TestServer;
use prost_reflect::DescriptorPool;
use reqwest::{Method, StatusCode, header::HeaderMap};
use serde_json::Value;
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

/// A gateway running in this process.
pub struct Gateway {
    /// Where it listens.
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), GatewayError>>>,
}

impl Gateway {
    /// A gateway with default settings forwarding to `upstream` (`http://127.0.0.1:port`).
    pub async fn start(upstream: &str) -> Self {
        Self::start_with(config(upstream), causeway_gateway::contracts().unwrap()).await
    }

    /// A gateway with `config`, serving the annotated RPCs of `pool`.
    pub async fn start_with(config: Config, pool: DescriptorPool) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
        let addr = listener.local_addr().expect("local addr");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(causeway_gateway::serve(listener, config, pool, async {
            let _ = stopped.await;
        }));
        Self {
            addr,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops the gateway and returns how its `serve` ended.
    pub async fn stop(mut self) -> Result<(), GatewayError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.task.take() {
            Some(task) => task.await.expect("gateway task panicked"),
            None => Ok(()),
        }
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Default gateway settings forwarding to `upstream`.
pub fn config(upstream: &str) -> Config {
    Config::with_upstream(upstream.parse().expect("upstream uri"))
}

/// A real server with a gateway in front of it.
pub struct Stack {
    /// The gRPC server.
    pub server: TestServer,
    /// The gateway.
    pub gateway: Gateway,
    /// An HTTP client aimed at the gateway.
    pub http: Http,
}

impl Stack {
    /// Starts a server on a fresh data directory and a gateway with default settings.
    pub async fn start() -> Self {
        Self::start_with(|config| config).await
    }

    /// Like [`Stack::start`], with the gateway's configuration adjusted by `adjust`.
    pub async fn start_with(adjust: impl FnOnce(Config) -> Config) -> Self {
        Self::in_front_of(TestServer::start().await, adjust).await
    }

    /// A server that authenticates every call (as in production) and a gateway in front.
    pub async fn start_secured() -> Self {
        Self::in_front_of(TestServer::start_secured().await, |config| config).await
    }

    /// A gateway, configured by `adjust`, in front of `server`.
    pub async fn in_front_of(server: TestServer, adjust: impl FnOnce(Config) -> Config) -> Self {
        answering(&server).await;
        let gateway = Gateway::start_with(
            adjust(config(&server.url())),
            causeway_gateway::contracts().unwrap(),
        )
        .await;
        let http = Http::new(&gateway.url());
        Self {
            server,
            gateway,
            http,
        }
    }
}

/// Waits until `server` answers a health check: then it has made its signing keys (a TCP
/// connection alone proves nothing, the test bound the port before the server started).
pub async fn answering(server: &TestServer) {
    let mut health = HealthClient::new(server.channel().await);
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            tick.tick().await;
            let request = HealthCheckRequest {
                service: String::new(),
            };
            if health.check(request).await.is_ok() {
                return;
            }
        }
    })
    .await
    .expect("the server answers within 30 s");
}

/// A token for `subject` with `roles`, minted with the server's own signing keys, as
/// `causeway-server token` would. Only once the server answers ([`answering`]): it creates its
/// keys first.
pub fn token(server: &TestServer, subject: &str, roles: &[&str]) -> String {
    let ring = KeyRing::new(server.data_dir().join("keys"));
    TokenIssuer::new(ring, "causeway", "causeway")
        .mint(
            subject,
            roles.iter().map(|r| (*r).to_owned()).collect(),
            None,
            Duration::from_secs(3600),
        )
        .expect("mint a token")
        .token
}

/// `Bearer <token>`.
pub fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// One HTTP answer, body parsed as JSON (`Value::Null` when empty or not JSON).
#[derive(Debug)]
pub struct Reply {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The JSON body.
    pub json: Value,
    /// The raw body, for messages.
    pub text: String,
}

impl Reply {
    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the status, printing the body when it differs.
    #[track_caller]
    pub fn expect(self, status: u16) -> Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected answer: {}",
            self.text
        );
        self
    }

    /// The gRPC status name of an error body.
    pub fn error_status(&self) -> &str {
        self.json["error"]["status"].as_str().unwrap_or_default()
    }
}

/// A real HTTP client (reqwest over hyper) aimed at one gateway. It also records which route
/// of the contracts each request hit, so a test can prove it covered all of them.
#[derive(Clone)]
pub struct Http {
    client: reqwest::Client,
    base: String,
    routes: Arc<RouteTable>,
    hit: Arc<Mutex<BTreeSet<String>>>,
}

impl Http {
    /// A client for the gateway at `base`.
    pub fn new(base: &str) -> Self {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("http client");
        let routes = RouteTable::from_pool(&causeway_gateway::contracts().unwrap()).unwrap();
        Self {
            client,
            base: base.to_owned(),
            routes: Arc::new(routes),
            hit: Arc::default(),
        }
    }

    /// Sends `method path` with `headers` and an optional raw body.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<String>,
    ) -> Reply {
        let route_path = path.split('?').next().unwrap_or(path);
        if let Lookup::Found(route, _) = self.routes.find(&method, route_path) {
            self.hit
                .lock()
                .unwrap()
                .insert(format!("{} {}", route.http_method, route.template));
        }
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body);
        }
        let response = request.send().await.expect("gateway answers");
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body");
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            json,
            text,
        }
    }

    /// `GET path`.
    pub async fn get(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        self.send(Method::GET, path, headers, None).await
    }

    /// `POST path` with a JSON body.
    pub async fn post(&self, path: &str, headers: &[(&str, &str)], body: Value) -> Reply {
        self.send(Method::POST, path, headers, Some(body.to_string()))
            .await
    }

    /// Every route of the contracts no request has hit yet.
    pub fn routes_not_hit(&self) -> Vec<String> {
        let hit = self.hit.lock().unwrap();
        self.routes
            .routes()
            .iter()
            .map(|r| format!("{} {}", r.http_method, r.template))
            .filter(|r| !hit.contains(r))
            .collect()
    }
}

/// A fresh idempotency key.
pub fn key() -> String {
    causeway_tests::command_id()
}
