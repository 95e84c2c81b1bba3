//! A real Causeway server for the benchmark: `causeway_server::server::run_with` on a
//! 127.0.0.1 port-0 listener, on the server runtime, with the echo service mounted on the same
//! stack. The client side is one HTTP/2 channel, as a real client would hold.

use std::{net::SocketAddr, time::Duration};

use causeway_server::{config::Config, server::ServerError};
use tokio::{net::TcpListener, runtime::Handle, sync::oneshot, task::JoinHandle};
use tonic::transport::{Channel, ClientTlsConfig, Endpoint};

use super::{BenchError, echo, error::Context};

/// How long a benchmark request may take before the client gives up (a projection wait in the
/// catch-up scenario asks for less itself).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// A running server and a connected channel to it.
pub struct BenchServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Where it serves the REST routes in-process, when asked to.
    pub rest: Option<SocketAddr>,
    endpoint: Endpoint,
    channel: Channel,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), ServerError>>>,
}

impl BenchServer {
    /// Starts a server with `config` on `server_rt` and connects to it from the current (client)
    /// runtime. The listener is bound before `run_with` starts, so connecting needs no retry.
    pub async fn start(server_rt: &Handle, config: Config) -> Result<Self, BenchError> {
        Self::start_instrumented(server_rt, config, true).await
    }

    /// [`BenchServer::start`], with the server's metrics, spans and access log on or off.
    pub async fn start_instrumented(
        server_rt: &Handle,
        config: Config,
        instrumented: bool,
    ) -> Result<Self, BenchError> {
        Self::start_serving(server_rt, config, instrumented, None, false).await
    }

    /// [`BenchServer::start`], also serving the REST routes in-process (`--rest-listen`) on a
    /// second 127.0.0.1 port-0 listener.
    pub async fn start_with_rest(server_rt: &Handle, config: Config) -> Result<Self, BenchError> {
        Self::start_serving(server_rt, config, true, None, true).await
    }

    /// [`BenchServer::start`] for a `config` that serves TLS, connecting with `tls`.
    pub async fn start_tls(
        server_rt: &Handle,
        config: Config,
        tls: ClientTlsConfig,
    ) -> Result<Self, BenchError> {
        Self::start_serving(server_rt, config, true, Some(tls), false).await
    }

    async fn start_serving(
        server_rt: &Handle,
        config: Config,
        instrumented: bool,
        tls: Option<ClientTlsConfig>,
        rest: bool,
    ) -> Result<Self, BenchError> {
        let (bound, addr) = oneshot::channel();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = server_rt.spawn(async move {
            let listeners = async {
                let grpc = TcpListener::bind("127.0.0.1:0").await?;
                let rest = match rest {
                    true => Some(TcpListener::bind("127.0.0.1:0").await?),
                    false => None,
                };
                Ok::<_, std::io::Error>((grpc, rest))
            };
            let (listener, rest) = match listeners.await {
                Ok(listeners) => listeners,
                Err(e) => {
                    let _ = bound.send(Err(e));
                    return Ok(());
                }
            };
            let addrs = listener.local_addr().and_then(|grpc| {
                let rest = rest.as_ref().map(TcpListener::local_addr).transpose()?;
                Ok((grpc, rest))
            });
            let _ = bound.send(addrs);
            let shutdown = async {
                let _ = stopped.await;
            };
            let extras = causeway_server::server::Extras {
                routes: echo::routes(),
                public: vec![echo::SERVICE],
                metrics: None,
                uninstrumented: !instrumented,
                rest,
            };
            causeway_server::server::run_with(listener, config, shutdown, extras).await
        });
        let (addr, rest) = addr
            .await
            .map_err(|_| BenchError::new("the server task ended before binding"))?
            .doing("binding 127.0.0.1:0")?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        let mut endpoint = Endpoint::from_shared(format!("{scheme}://{addr}"))
            .doing("server url")?
            .timeout(REQUEST_TIMEOUT);
        if let Some(tls) = tls {
            endpoint = endpoint.tls_config(tls).doing("client TLS settings")?;
        }
        let channel = endpoint.connect().await.doing("connecting to the server")?;
        Ok(Self {
            addr,
            rest,
            endpoint,
            channel,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// How to open another connection to the server.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// A handle on the shared channel (cheap: every clone multiplexes the one connection).
    pub fn channel(&self) -> Channel {
        self.channel.clone()
    }

    /// Stops the server gracefully and reports whether it ended cleanly.
    pub async fn stop(mut self) -> Result<(), BenchError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.task.take() {
            Some(task) => task
                .await
                .doing("server task")?
                .doing("server stopped with an error"),
            None => Ok(()),
        }
    }
}

impl Drop for BenchServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
