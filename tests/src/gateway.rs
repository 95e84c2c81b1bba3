//! The REST gateway in this process, in front of a test server: `causeway_gateway::run` on a
//! 127.0.0.1 port-0 listener, stopped when the test ends.

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
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
        let url = format!("http://{}", listener.local_addr().expect("local addr"));
        let upstream = server.url().parse().expect("the server's url");
        let config = causeway_gateway::config::Config::with_upstream(upstream);
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(causeway_gateway::run(listener, config, async {
            let _ = stopped.await;
        }));
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
