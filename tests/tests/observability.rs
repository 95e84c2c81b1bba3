//! Observability checked with the ecosystem's own tools: `promtool` accepts every exposition (the
//! server's and the gateway's) and the alert rules' unit tests, a real Prometheus scrapes a live
//! server and gateway and answers PromQL with the commands, requests and projection positions the
//! test caused, and every query of the Grafana dashboard is valid PromQL over metrics that exist.

use std::{
    path::Path,
    process::Stdio,
    time::{Duration, Instant},
};

use causeway_client::{
    common::CommandOptions,
    inventory::{
        ReceiveStockRequest, RegisterProductRequest,
        inventory_commands_client::InventoryCommandsClient,
    },
};
use causeway_server::config::Config;
use causeway_tests::{
    TestServer, command_id, gateway::TestGateway, tools::workspace_root, unchecked,
};
use tokio::{io::AsyncWriteExt, process::Command};

const WAIT: Duration = Duration::from_secs(60);

fn options() -> Option<CommandOptions> {
    Some(CommandOptions {
        command_id: command_id(),
        ..CommandOptions::default()
    })
}

/// A server with `/metrics`, after `count` stock receipts for one product.
async fn busy_server(count: u64) -> (TestServer, u64) {
    let dir = tempfile::tempdir().unwrap();
    let server =
        TestServer::start_with_metrics(unchecked(Config::with_data_dir(dir.path())), dir).await;
    let mut inventory = InventoryCommandsClient::new(server.channel().await);
    inventory
        .register_product(RegisterProductRequest {
            options: options(),
            sku: "kettle".into(),
            name: "Kettle".into(),
        })
        .await
        .unwrap();
    let mut position = 0;
    for _ in 0..count {
        let ack = inventory
            .receive_stock(ReceiveStockRequest {
                options: options(),
                sku: "kettle".into(),
                quantity: 1,
            })
            .await
            .unwrap()
            .into_inner()
            .ack
            .unwrap();
        position = ack.position;
    }
    (server, position)
}

async fn get(url: &str) -> String {
    reqwest::get(url)
        .await
        .unwrap_or_else(|e| panic!("{url}: {e}"))
        .text()
        .await
        .unwrap()
}

/// Runs `promtool` with `args`, feeding it `input`; returns its exit status and output.
async fn promtool(args: &[&str], input: &str, dir: &Path) -> (bool, String) {
    let mut child = Command::new("promtool")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("promtool is installed by scripts/setup-test-tools");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.as_bytes()).await.unwrap();
    drop(stdin);
    let output = child.wait_with_output().await.unwrap();
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.success(), text)
}

#[tokio::test(flavor = "multi_thread")]
async fn promtool_accepts_the_exposition_and_the_alert_rules() {
    let (server, _) = busy_server(3).await;
    let exposition = get(&format!(
        "http://{}/metrics",
        server.metrics_addr().unwrap()
    ))
    .await;
    for expected in [
        "causeway_commands_total{aggregate=\"product\",outcome=\"applied\"} 4",
        "causeway_grpc_requests_total{",
        "causeway_event_store_append_duration_seconds_bucket{",
        "causeway_projection_position{projection=\"products\"}",
        "process_resident_memory_bytes",
    ] {
        assert!(
            exposition.contains(expected),
            "{expected} missing:\n{exposition}"
        );
    }
    let (ok, lint) = promtool(&["check", "metrics"], &exposition, Path::new(".")).await;
    assert!(ok, "promtool check metrics:\n{lint}");
    let (gateway, metrics) = TestGateway::start_with_metrics(&server).await;
    get(&gateway.at("/v1/products/kettle")).await;
    let exposition = get(&format!("http://{metrics}/metrics")).await;
    assert!(
        exposition.contains("causeway_http_requests_total{route=\"causeway.inventory.v1.InventoryQueries.GetProduct\",method=\"GET\",status=\"200\"} 1"),
        "{exposition}"
    );
    let (ok, lint) = promtool(&["check", "metrics"], &exposition, Path::new(".")).await;
    assert!(ok, "promtool check metrics (gateway):\n{lint}");
    let rules = workspace_root().join("deploy/prometheus");
    let (ok, report) = promtool(&["test", "rules", "alerts.test.yml"], "", &rules).await;
    assert!(ok, "promtool test rules:\n{report}");
    let (ok, report) = promtool(&["check", "rules", "alerts.yml"], "", &rules).await;
    assert!(ok, "promtool check rules:\n{report}");
}

/// A Prometheus server scraping `targets` every second, on a free loopback port.
struct Prometheus {
    url: String,
    _child: tokio::process::Child,
    _dir: tempfile::TempDir,
}

impl Prometheus {
    async fn scraping(targets: &[String]) -> Self {
        let targets = targets
            .iter()
            .map(|t| format!("'{t}'"))
            .collect::<Vec<_>>()
            .join(", ");
        let dir = tempfile::tempdir().unwrap();
        let config = format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
             scrape_configs:\n  - job_name: causeway\n    static_configs:\n      \
             - targets: [{targets}]\n"
        );
        std::fs::write(dir.path().join("prometheus.yml"), config).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("prometheus")
            .arg(format!(
                "--config.file={}",
                dir.path().join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("prometheus is installed by scripts/setup-test-tools");
        Self {
            url: format!("http://127.0.0.1:{port}"),
            _child: child,
            _dir: dir,
        }
    }

    /// The value of the one series `query` answers, once there is one.
    async fn value(&self, query: &str) -> Option<f64> {
        let url = format!("{}/api/v1/query", self.url);
        let response = reqwest::Client::new()
            .get(url)
            .query(&[("query", query)])
            .send()
            .await
            .ok()?;
        let body: serde_json::Value = serde_json::from_str(&response.text().await.ok()?).ok()?;
        body["data"]["result"][0]["value"][1].as_str()?.parse().ok()
    }

    /// Waits (bounded) until the server answers queries.
    async fn ready(&self) {
        let url = format!("{}/-/ready", self.url);
        let deadline = Instant::now() + WAIT;
        loop {
            let ready = reqwest::get(&url)
                .await
                .is_ok_and(|r| r.status().is_success());
            if ready {
                return;
            }
            assert!(Instant::now() < deadline, "prometheus never became ready");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Prometheus's whole answer to `query` (status, data or error).
    async fn answer(&self, query: &str) -> serde_json::Value {
        let url = format!("{}/api/v1/query", self.url);
        let response = reqwest::Client::new()
            .get(url)
            .query(&[("query", query)])
            .send()
            .await
            .expect("prometheus answers");
        serde_json::from_str(&response.text().await.expect("a body")).expect("JSON")
    }

    /// Waits (bounded) until `query` answers `expected`.
    async fn until(&self, query: &str, expected: f64) {
        let deadline = Instant::now() + WAIT;
        let mut last = None;
        while Instant::now() < deadline {
            last = self.value(query).await;
            if last == Some(expected) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        panic!("{query} answered {last:?}, not {expected}, within {WAIT:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_real_prometheus_scrapes_the_commands_and_the_projection_position() {
    let (server, position) = busy_server(5).await;
    let (gateway, gateway_metrics) = TestGateway::start_with_metrics(&server).await;
    for _ in 0..3 {
        get(&gateway.at("/v1/products/kettle")).await;
    }
    let prometheus = Prometheus::scraping(&[
        server.metrics_addr().unwrap().to_string(),
        gateway_metrics.to_string(),
    ])
    .await;
    prometheus
        .until(
            r#"sum(causeway_http_requests_total{method="GET",route=~".*GetProduct",status="200"})"#,
            3.0,
        )
        .await;
    prometheus
        .until(
            r#"sum(causeway_commands_total{aggregate="product",outcome="applied"})"#,
            6.0,
        )
        .await;
    prometheus
        .until(
            r#"causeway_projection_position{projection="products"}"#,
            position as f64,
        )
        .await;
    prometheus
        .until(
            r#"causeway_projection_lag_events{projection="products"}"#,
            0.0,
        )
        .await;
    prometheus
        .until(
            r#"sum(causeway_grpc_requests_total{service="causeway.inventory.v1.InventoryCommands",code="OK"})"#,
            6.0,
        )
        .await;
}

/// The dashboard's queries with Grafana's variables given values Prometheus accepts.
fn dashboard_queries() -> Vec<String> {
    let path = workspace_root().join("deploy/grafana/causeway.json");
    let dashboard: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("the dashboard")).expect("JSON");
    let mut queries = Vec::new();
    for panel in dashboard["panels"].as_array().expect("panels") {
        for target in panel["targets"].as_array().into_iter().flatten() {
            let expr = target["expr"].as_str().expect("a PromQL expression");
            queries.push(expr.replace("$__rate_interval", "1m").replace("$job", ".*"));
        }
    }
    queries
}

#[tokio::test(flavor = "multi_thread")]
async fn every_dashboard_query_is_valid_promql_over_metrics_that_exist() {
    let queries = dashboard_queries();
    assert!(queries.len() >= 15, "{queries:?}");

    let (server, _) = busy_server(2).await;
    let (gateway, gateway_metrics) = TestGateway::start_with_metrics(&server).await;
    get(&gateway.at("/v1/products/kettle")).await;
    let exposed = get(&format!(
        "http://{}/metrics",
        server.metrics_addr().unwrap()
    ))
    .await
        + &get(&format!("http://{gateway_metrics}/metrics")).await;
    // Families that only appear once something happened that this test does not cause.
    let only_when_it_happens = [
        "causeway_read_your_writes_waits",
        "causeway_auth_refusals",
        "causeway_throttled_calls",
    ];
    for query in &queries {
        for name in metric_names(query) {
            let family = ["_total", "_bucket", "_sum", "_count"]
                .iter()
                .find_map(|suffix| name.strip_suffix(suffix))
                .unwrap_or(&name);
            assert!(
                exposed.contains(&format!("# TYPE {family} "))
                    || exposed.contains(&format!("# TYPE {name} "))
                    || only_when_it_happens.contains(&family),
                "the dashboard queries {name}, which no process exposes"
            );
        }
    }

    let prometheus = Prometheus::scraping(&[
        server.metrics_addr().unwrap().to_string(),
        gateway_metrics.to_string(),
    ])
    .await;
    prometheus.ready().await;
    for query in &queries {
        let answer = prometheus.answer(query).await;
        assert_eq!(answer["status"], "success", "{query}: {answer}");
    }
}

/// The metric names a PromQL expression reads.
fn metric_names(query: &str) -> Vec<String> {
    let mut names = Vec::new();
    for (start, _) in query
        .match_indices("causeway_")
        .chain(query.match_indices("process_"))
    {
        let name: String = query[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        names.push(name);
    }
    names
}
