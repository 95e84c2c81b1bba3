//! The REST gateway in this process, in front of a test server: `causeway_gateway::run` on a
//! 127.0.0.1 port-0 listener, stopped when the test ends.

use std::net::SocketAddr;

use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};

use crate::TestServer;

/// A gateway whose upstream is one test server.
pub struct TestGateway {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), causeway_gateway::GatewayError>>>,
}

impl TestGateway {
    /// Starts a gateway for `server` with the gateway's default configuration.
    pub async fn start(server: &TestServer) -> Self {
        Self::serving(server, None).await
    }

    /// Starts a gateway for `server` that also serves `/metrics`; returns it and the address
    /// of its metrics listener (a port of its own, as `--metrics-listen` gives it).
    pub async fn start_with_metrics(server: &TestServer) -> (Self, SocketAddr) {
        let metrics = TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
        let addr = metrics.local_addr().expect("local addr");
        (Self::serving(server, Some(metrics)).await, addr)
    }

    async fn serving(server: &TestServer, metrics: Option<TcpListener>) -> Self {
        let upstream = server.url().parse().expect("the server's url");
        let config = causeway_gateway::config::Config::with_upstream(upstream);
        Self::configured(config, metrics).await
    }

    /// Starts a gateway with `config` (its listen address is ignored: port 0 on loopback), e.g.
    /// one whose `upstream_for` sends services to servers of different roles.
    pub async fn start_with(config: causeway_gateway::config::Config) -> Self {
        Self::configured(config, None).await
    }

    async fn configured(
        config: causeway_gateway::config::Config,
        metrics: Option<TcpListener>,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
        let url = format!("http://{}", listener.local_addr().expect("local addr"));
        let contracts = causeway_gateway::contracts().expect("Causeway's contracts");
        let (stop, stopped) = oneshot::channel::<()>();
        let stopped = async {
            let _ = stopped.await;
        };
        let task = tokio::spawn(causeway_gateway::serve_observed(
            listener, config, contracts, stopped, metrics,
        ));
        Self {
            url,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// `url` followed by `path` (which starts with `/`).
    pub fn at(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// Stops the gateway and waits until it has.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await
                .expect("gateway task panicked")
                .expect("gateway returned an error");
        }
    }
}

impl Drop for TestGateway {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
