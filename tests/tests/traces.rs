//! One order of business followed through its trace, as an operator would: the real gateway and
//! server binaries export spans over OTLP to a real receiver (oteltest's sink), and one REST
//! command shows up as gateway request -> RPC -> command handler -> store append, with the
//! projection's batch linked back to the command's trace. And the sampler the standard
//! `OTEL_TRACES_SAMPLER` variables name decides which requests' traces leave the process.

use std::{
    collections::HashMap,
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

use causeway_tests::tools::{KillOnDrop, free_port, workspace_binary, workspace_root};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(60);

/// One span as the sink printed it.
#[derive(Debug, Clone)]
struct Span {
    service: String,
    name: String,
    trace: String,
    id: String,
    parent: String,
    links: Vec<String>,
}

fn spans_of(request: &Value) -> Vec<Span> {
    let mut spans = Vec::new();
    for resource in request["resourceSpans"].as_array().into_iter().flatten() {
        let service = resource["resource"]["attributes"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|a| a["key"] == "service.name")
            .and_then(|a| a["value"]["stringValue"].as_str())
            .unwrap_or_default()
            .to_owned();
        for scope in resource["scopeSpans"].as_array().into_iter().flatten() {
            for span in scope["spans"].as_array().into_iter().flatten() {
                let text = |key: &str| span[key].as_str().unwrap_or_default().to_owned();
                spans.push(Span {
                    service: service.clone(),
                    name: text("name"),
                    trace: text("traceId"),
                    id: text("spanId"),
                    parent: text("parentSpanId"),
                    links: span["links"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|l| l["traceId"].as_str().map(str::to_owned))
                        .collect(),
                });
            }
        }
    }
    spans
}

/// The spans the sink printed, read until `done` says they hold what the test waits for, or
/// `deadline` (then it panics naming `what` and showing what came).
fn spans_until(
    lines: &mpsc::Receiver<String>,
    deadline: Instant,
    what: &str,
    done: impl Fn(&[Span]) -> bool,
) -> Vec<Span> {
    let mut spans = Vec::new();
    while !done(&spans) {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = lines
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("{what} was not exported within {WAIT:?}: {spans:#?}"));
        if let Ok(request) = serde_json::from_str::<Value>(&line) {
            spans.extend(spans_of(&request));
        }
    }
    spans
}

/// oteltest's trace service on a loopback port it binds itself (`tests/otel/sink.py`),
/// printing each export request as a JSON line: the sink (stopped when dropped), its lines,
/// and its endpoint.
fn start_sink() -> (KillOnDrop, mpsc::Receiver<String>, String) {
    let mut sink = Command::new(workspace_root().join(".venv-tools/bin/python"))
        .arg(workspace_root().join("tests/otel/sink.py"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run scripts/setup-test-tools (oteltest)");
    let (lines_tx, lines) = mpsc::channel::<String>();
    let stdout = sink.stdout.take().unwrap();
    let sink = KillOnDrop(sink);
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                return;
            }
        }
    });
    let ready = lines.recv_timeout(WAIT).expect("the sink starts");
    let port = ready
        .strip_prefix("READY ")
        .and_then(|port| port.parse::<u16>().ok())
        .unwrap_or_else(|| panic!("the sink says READY and its port: {ready}"));
    (sink, lines, format!("http://127.0.0.1:{port}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn one_rest_command_is_one_trace_from_the_gateway_to_the_store_and_its_projection() {
    let (_sink, lines, endpoint) = start_sink();
    let otel = |command: &mut Command| {
        command
            .env("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)
            .env("OTEL_BSP_SCHEDULE_DELAY", "100")
            .env_remove("OTEL_SERVICE_NAME")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
    };
    let data = tempfile::tempdir().unwrap();
    let (grpc, http, metrics) = (free_port(), free_port(), free_port());
    let mut server = Command::new(workspace_binary("causeway-server"));
    server
        .args([
            "--listen",
            &format!("127.0.0.1:{grpc}"),
            "--auth",
            "disabled",
        ])
        .args(["--metrics-listen", &format!("127.0.0.1:{metrics}")])
        .arg("--data-dir")
        .arg(data.path());
    otel(&mut server);
    let _server = KillOnDrop(server.spawn().expect("the server binary is built"));
    let mut gateway = Command::new(workspace_binary("causeway-gateway"));
    gateway
        .args(["--listen", &format!("127.0.0.1:{http}")])
        .args(["--upstream", &format!("http://127.0.0.1:{grpc}")])
        .args(["--metrics-listen", "off"]);
    otel(&mut gateway);
    let _gateway = KillOnDrop(gateway.spawn().expect("the gateway binary is built"));

    let client = reqwest::Client::new();
    let deadline = Instant::now() + WAIT;
    loop {
        let answer = client
            .post(format!("http://127.0.0.1:{http}/v1/products"))
            .header("content-type", "application/json")
            .header("idempotency-key", "trace-1")
            .body(r#"{"sku":"kettle","name":"Kettle"}"#)
            .send()
            .await;
        match answer {
            Ok(answer) if answer.status() == 200 => break,
            _ if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(50)).await,
            other => panic!("the REST command never succeeded: {other:?}"),
        }
    }

    let spans = spans_until(&lines, deadline, "a complete trace", |spans| {
        find_chain(spans).is_some()
    });
    let [gateway, rpc, command, append, batch] = find_chain(&spans).expect("the chain");
    assert_eq!(gateway.service, "causeway-gateway");
    assert_eq!(rpc.service, "causeway-server");
    assert_eq!(
        rpc.parent, gateway.id,
        "the RPC continues the gateway's span"
    );
    assert_eq!(command.parent, rpc.id);
    assert_eq!(append.parent, command.id);
    assert!(batch.links.contains(&gateway.trace), "{batch:?}");

    // The server counts what its exporter sent: at least its four spans of the chain.
    loop {
        let text = client
            .get(format!("http://127.0.0.1:{metrics}/metrics"))
            .send()
            .await
            .expect("the metrics listener answers")
            .text()
            .await
            .expect("an exposition");
        let counted = |name: &str| {
            text.lines()
                .find_map(|line| line.strip_prefix(name)?.trim().parse::<u64>().ok())
                .unwrap_or_else(|| panic!("{name} in {text}"))
        };
        let exported = counted("causeway_trace_spans_exported_total ");
        if exported >= 4 {
            assert!(counted("causeway_trace_spans_ended_total ") >= exported);
            assert_eq!(counted("causeway_trace_spans_export_failed_total "), 0);
            break;
        }
        assert!(Instant::now() < deadline, "exported {exported} of 4 spans");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The gateway request, the RPC, the command, the append and a projection batch linked to
/// them, all of one REST command, if the spans hold them yet.
fn find_chain(spans: &[Span]) -> Option<[Span; 5]> {
    let by_id: HashMap<&str, &Span> = spans.iter().map(|s| (s.id.as_str(), s)).collect();
    let append = spans.iter().find(|s| s.name == "store.append")?;
    let command = by_id.get(append.parent.as_str())?;
    let rpc = by_id.get(command.parent.as_str())?;
    let gateway = by_id.get(rpc.parent.as_str())?;
    let batch = spans
        .iter()
        .find(|s| s.name == "projection.batch" && s.links.contains(&append.trace))?;
    (command.name == "command"
        && rpc.name.ends_with("InventoryCommands/RegisterProduct")
        && gateway.name == "POST /v1/products")
        .then(|| {
            [
                (*gateway).clone(),
                (*rpc).clone(),
                (*command).clone(),
                append.clone(),
                batch.clone(),
            ]
        })
}

/// The root sampler is the one `OTEL_TRACES_SAMPLER` names: with
/// `parentbased_traceidratio` at ratio 0, a request that starts its own trace exports nothing,
/// while one whose caller sampled its trace is exported (the parent decides).
#[tokio::test(flavor = "multi_thread")]
async fn the_root_sampler_comes_from_the_environment_and_a_sampled_caller_still_decides() {
    const TRACE: &str = "5bf92f3577b34da6a3ce929d0e0e4736";
    const CALLER: &str = "00f067aa0ba902b7";
    let (_sink, lines, endpoint) = start_sink();
    let data = tempfile::tempdir().unwrap();
    let (grpc, http) = (free_port(), free_port());
    let server = Command::new(workspace_binary("causeway-server"))
        .args(["--listen", &format!("127.0.0.1:{grpc}")])
        .args(["--rest-listen", &format!("127.0.0.1:{http}")])
        .args(["--auth", "disabled", "--metrics-listen", "off"])
        .arg("--data-dir")
        .arg(data.path())
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)
        .env("OTEL_BSP_SCHEDULE_DELAY", "100")
        .env("OTEL_TRACES_SAMPLER", "parentbased_traceidratio")
        .env("OTEL_TRACES_SAMPLER_ARG", "0")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the server binary is built");
    let _server = KillOnDrop(server);

    let client = reqwest::Client::new();
    let register = |sku: &str, traceparent: Option<String>| {
        let mut request = client
            .post(format!("http://127.0.0.1:{http}/v1/products"))
            .header("content-type", "application/json")
            .header("idempotency-key", format!("sampler-{sku}"))
            .body(format!(r#"{{"sku":"{sku}","name":"Kettle"}}"#));
        if let Some(traceparent) = traceparent {
            request = request.header("traceparent", traceparent);
        }
        request.send()
    };
    // Its own trace: the ratio 0 root sampler leaves it out.
    let deadline = Instant::now() + WAIT;
    loop {
        match register("unsampled", None).await {
            Ok(answer) if answer.status() == 200 => break,
            _ if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(50)).await,
            other => panic!("the REST command never succeeded: {other:?}"),
        }
    }
    // The caller's sampled trace: exported. Its request span, which ends last, closes after
    // every span of the first request, so once it is in, the first request's would be too.
    // (This once failed now and then: a projection batch waiting on its commit kept its span
    // current on its thread, and the request opened its spans inside it, in the batch's trace.)
    let answer = register("sampled", Some(format!("00-{TRACE}-{CALLER}-01")))
        .await
        .expect("the second command is answered");
    assert_eq!(answer.status(), 200);

    let (trace, caller) = (as_printed(TRACE), as_printed(CALLER));
    let deadline = Instant::now() + WAIT;
    let spans = spans_until(&lines, deadline, "the sampled request", |spans| {
        spans.iter().any(|s| s.parent == caller)
    });
    assert!(
        spans.iter().any(|s| s.name == "store.append"),
        "the sampled command's append is exported: {spans:#?}"
    );
    let strays: Vec<&Span> = spans.iter().filter(|s| s.trace != trace).collect();
    assert!(
        strays.is_empty(),
        "spans of a trace the root sampler left out were exported: {strays:#?}"
    );
}

/// A W3C id (hex) as the sink prints it (base64 of its bytes).
fn as_printed(hex: &str) -> String {
    use base64::Engine as _;
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
