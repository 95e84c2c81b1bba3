//! Scenario 11: what TLS and mTLS cost a call. The bare echo RPC (nothing of Causeway's own
//! code, so the transport's share is as large as it gets) against three servers of the same
//! build: plaintext, TLS (`--tls-cert`), and mTLS (`--tls-client-ca`, the client presenting a
//! certificate). Per call on one open connection at 1 and at 32 in flight, and per call on a
//! new connection each time (TCP, the handshake, HTTP/2 set-up, one call), which is what a
//! client that does not keep its connection pays. Phases interleave so machine load hits all
//! three alike. Certificates are made for the run (ECDSA P-256, as `rcgen` makes them).

use causeway_server::config::Role;
use prost::bytes::Bytes;
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity};

use super::{Bench, command::echoes, settle};
use crate::{
    bench::{
        BenchError, echo,
        error::Context,
        load::{Measurement, Plan, Rounds, closed_loop},
        report::{Outcome, Report},
        server::BenchServer,
    },
    pki::TestCa,
};

/// The payload of every call: about the size of a command.
const PAYLOAD_BYTES: usize = 128;

/// Runs scenario 11 when selected.
pub(super) async fn run(bench: &Bench, report: &mut Report) {
    if bench.options.wants(11) {
        let result = measure(bench, report).await;
        settle(report, 11, result);
    }
}

/// The three servers, in the order they are measured.
struct Servers {
    plain: BenchServer,
    tls: BenchServer,
    mtls: BenchServer,
}

impl Servers {
    async fn start(bench: &Bench) -> Result<Self, BenchError> {
        let dir = bench.base.join("transport");
        std::fs::create_dir_all(&dir).doing("creating the certificates' directory")?;
        let ca = TestCa::new("Causeway Bench CA", &dir);
        let ca_file = ca.write("ca");
        let served = ca.write_leaf(&ca.server(), "server");
        let client = ca.client("spiffe://causeway.bench/client");
        let config = |name: &str, mtls: bool| {
            let mut config = bench.config(&dir.join(name), Role::Command);
            config.tls.tls_cert = Some(served.certificate.clone());
            config.tls.tls_key = Some(served.key.clone());
            config.tls.tls_client_ca = mtls.then(|| ca_file.clone());
            config
        };
        let trust = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(ca.pem()));
        let identity = Identity::from_pem(&client.certificate, &client.key);
        let plain = bench.config(&dir.join("plain"), Role::Command);
        Ok(Self {
            plain: BenchServer::start(&bench.server, plain).await?,
            tls: BenchServer::start_tls(&bench.server, config("tls", false), trust.clone()).await?,
            mtls: BenchServer::start_tls(
                &bench.server,
                config("mtls", true),
                trust.identity(identity),
            )
            .await?,
        })
    }

    async fn stop(self) -> Result<(), BenchError> {
        self.plain.stop().await?;
        self.tls.stop().await?;
        self.mtls.stop().await
    }
}

/// Each operation opens a connection of its own and makes one echo call on it.
async fn connections(
    endpoint: Endpoint,
    payload: Bytes,
    plan: &Plan,
) -> Result<Measurement, BenchError> {
    closed_loop(plan, move |_| {
        let (endpoint, payload) = (endpoint.clone(), payload.clone());
        async move {
            let channel = endpoint.connect().await.map_err(|e| e.to_string())?;
            echo::call(channel, payload)
                .await
                .map(drop)
                .map_err(|s| s.to_string())
        }
    })
    .await
}

async fn measure(bench: &Bench, report: &mut Report) -> Result<(), BenchError> {
    bench.progress("scenario 11: plaintext, TLS, mTLS");
    let servers = Servers::start(bench).await?;
    let payload = Bytes::from(vec![7u8; PAYLOAD_BYTES]);
    let scale = &bench.scale;
    for (in_flight, count) in [
        (1, scale.requests),
        (scale.in_flight, scale.concurrent_requests),
    ] {
        let mut measured: [Rounds; 3] = Default::default();
        for plan in bench.rounds(in_flight, count) {
            for (rounds, server) in measured.iter_mut().zip(servers.all()) {
                rounds.add(echoes(server.channel(), payload.clone(), &plan).await?)?;
            }
        }
        let [plain, tls, mtls] = measured.map(Rounds::total);
        let (plain, tls, mtls) = (plain?, tls?, mtls?);
        let what = format!("echo of {PAYLOAD_BYTES} B on an open connection");
        rows(report, &what, [&plain, &tls, &mtls]);
    }
    // A handshake per call costs far more than a call: a tenth of the calls say enough.
    let count = (scale.requests / 10).max(1);
    let mut measured: [Rounds; 3] = Default::default();
    for plan in bench.rounds(1, count) {
        for (rounds, server) in measured.iter_mut().zip(servers.all()) {
            rounds.add(connections(server.endpoint().clone(), payload.clone(), &plan).await?)?;
        }
    }
    let [plain, tls, mtls] = measured.map(Rounds::total);
    let (plain, tls, mtls) = (plain?, tls?, mtls?);
    rows(
        report,
        "a new connection and one echo",
        [&plain, &tls, &mtls],
    );
    servers.stop().await
}

impl Servers {
    fn all(&self) -> [&BenchServer; 3] {
        [&self.plain, &self.tls, &self.mtls]
    }
}

/// The measurements of plaintext, TLS and mTLS, and their p50 and throughput ratios.
fn rows(report: &mut Report, what: &str, [plain, tls, mtls]: [&Measurement; 3]) {
    report.baseline(11, format!("{what}, plaintext"), plain, "req/s");
    report.subject(11, format!("{what}, TLS"), tls, "req/s");
    report.subject(11, format!("{what}, mTLS"), mtls, "req/s");
    for (name, subject) in [("TLS", tls), ("mTLS", mtls)] {
        let p50 = match (subject.p50(), plain.p50()) {
            (Some(s), Some(b)) if !b.is_zero() => Outcome::Value(s.as_secs_f64() / b.as_secs_f64()),
            _ => Outcome::NotAvailable("no samples".into()),
        };
        let in_flight = subject.in_flight;
        report.ratio(
            11,
            format!("{in_flight} in flight, {what}: {name} p50 / plaintext p50"),
            p50,
            None,
        );
        let throughput = match (subject.throughput(), plain.throughput()) {
            (Some(s), Some(b)) if b > 0.0 => Outcome::Value(s / b),
            _ => Outcome::NotAvailable("no samples".into()),
        };
        report.ratio(
            11,
            format!("{in_flight} in flight, {what}: {name} throughput / plaintext throughput"),
            throughput,
            None,
        );
    }
}
