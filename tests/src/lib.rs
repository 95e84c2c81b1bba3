//! Harness for Causeway's end-to-end tests: real servers on free loopback ports, talked to over
//! real gRPC, and stopped when the test ends.
//!
//! Layout:
//! - `TestServer`: the server library's `run` on a port-0 listener in this process.
//! - `tools`: locating the tools the project's scripts install (grpcurl).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod tools;

use std::{net::SocketAddr, time::Duration};

use causeway_server::{config::Config, server::ServerError};
use tempfile::TempDir;
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};
use tonic::transport::{Channel, Endpoint};

/// A server running in this process on `127.0.0.1:<free port>` with its own data directory.
pub struct TestServer {
    /// Where it listens.
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), ServerError>>>,
    data_dir: TempDir,
}

impl TestServer {
    /// Starts a server with default configuration on a fresh data directory.
    pub async fn start() -> Self {
        let data_dir = tempfile::tempdir().expect("temp dir");
        Self::start_with(Config::with_data_dir(data_dir.path()), data_dir).await
    }

    /// Starts a server with `config`, keeping `data_dir` alive as long as the server.
    pub async fn start_with(config: Config, data_dir: TempDir) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
        let addr = listener.local_addr().expect("local addr");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(causeway_server::server::run(listener, config, async {
            let _ = stopped.await;
        }));
        Self {
            addr,
            stop: Some(stop),
            task: Some(task),
            data_dir,
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The data directory the server uses.
    pub fn data_dir(&self) -> &std::path::Path {
        self.data_dir.path()
    }

    /// A connected channel (retries the connection briefly while the server starts).
    pub async fn channel(&self) -> Channel {
        let endpoint = Endpoint::from_shared(self.url())
            .expect("valid url")
            .timeout(Duration::from_secs(30));
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            match endpoint.connect().await {
                Ok(channel) => return channel,
                Err(e) if tokio::time::Instant::now() < deadline => {
                    let _ = e;
                    tokio::task::yield_now().await;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(e) => panic!("server at {} never accepted: {e}", self.addr),
            }
        }
    }

    /// Stops the server gracefully and returns its data directory (to restart on it).
    pub async fn stop(mut self) -> TempDir {
        self.shutdown().await;
        let dir = tempfile::tempdir().expect("temp dir");
        std::mem::replace(&mut self.data_dir, dir)
    }

    async fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await
                .expect("server task panicked")
                .expect("server returned an error");
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A fresh UUIDv7 command id, as the SDK would make.
pub fn command_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
