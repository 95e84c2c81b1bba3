//! Running the real `causeway-server` binary: free loopback ports, processes that are killed
//! when the test ends, and a bounded wait until a process accepts connections.

#![allow(dead_code)]

use std::{
    net::TcpListener,
    path::Path,
    process::{Child, Command, Stdio},
    time::Duration,
};

use tonic::transport::{Channel, Endpoint};

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A server process, killed on drop.
pub struct Process {
    /// The child.
    pub child: Child,
    /// Its gRPC port.
    pub port: u16,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Process {
    /// Starts `causeway-server --role <role>` on a free port over `data_dir`, with
    /// authentication off: these tests are about roles and restarts, not callers.
    pub fn start(data_dir: &Path, role: &str) -> Self {
        let port = free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_causeway-server"))
            .args(["--listen", &format!("127.0.0.1:{port}"), "--role", role])
            .args(["--auth", "disabled", "--metrics-listen", "off"])
            .arg("--data-dir")
            .arg(data_dir)
            .env("CAUSEWAY_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .expect("server binary starts");
        Self { child, port }
    }

    /// SIGKILL, no goodbye.
    pub fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }

    /// A channel to it, once it accepts connections (bounded wait).
    pub async fn channel(&self) -> Channel {
        let endpoint =
            Endpoint::from_shared(format!("http://127.0.0.1:{}", self.port)).expect("url");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            match endpoint.connect().await {
                Ok(channel) => return channel,
                Err(_) if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(25)).await
                }
                Err(e) => panic!("server on port {} never came up: {e}", self.port),
            }
        }
    }
}
