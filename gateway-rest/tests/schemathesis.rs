//! Schemathesis (PyPI, installed into `.venv-tools/` by `scripts/setup-test-tools`) fuzzes a
//! live gateway in front of a real server through the gateway's own `/openapi.json`: no
//! response may be a 5xx, undocumented, of the wrong content type, or violate its schema.
//! The run is bounded (examples per operation; the process is killed past a time limit) and
//! takes about a minute on two cores.
//!
//! The server authenticates, as in production. Schemathesis reads the document's `bearerAuth`
//! scheme and each operation's `security`: it sends the admin token it is configured with to
//! every secured operation (admin may call all of them, so requests get past authorization and
//! exercise the operation) and nothing to the public ones (login, the JWKS). Left
//! unconfigured, it would invent a random bearer token, which an authenticating server refuses
//! with 401 before looking at the request.
//!
//! One worker: Python 3.11.7's `ast` module is not thread-safe (CPython gh-106905, fixed in
//! 3.11.8), and Hypothesis parses lambdas with it, so two workers fail at random with
//! "AST constructor recursion depth mismatch".

mod support;

use std::{path::PathBuf, time::Duration};

use causeway_gateway::config::Config;
use causeway_tests::TestServer;
use serde_json::json;
use support::{Stack, bearer, key, token};

/// Examples per operation in the fuzzing phase; with 22 operations and the coverage phase
/// this is about 3,000 requests.
const MAX_EXAMPLES: &str = "100";
/// The one server-streaming operation (Server-Sent Events).
const SUBSCRIBE: &str = "causeway.events.v1.EventFeed.Subscribe";
/// The run is killed (and the test fails) past this.
const TIME_LIMIT: Duration = Duration::from_secs(360);

/// A consistency token is meaningful only if a command returned it: a position past the
/// store's head waits out the deadline and answers 504 by design (pinned in tests/errors.rs).
/// Generated positions are therefore mapped onto positions the store has reached, as a real
/// client's would be. Everything else Schemathesis generates is sent as generated.
const HOOKS: &str = r#"
import os
import re

import schemathesis

HEAD = int(os.environ["CAUSEWAY_TEST_HEAD"])
DIGITS = re.compile(r"^[0-9]+$")


def _clamp(container, name):
    if not container or name not in container:
        return
    value = container[name]
    text = str(value)
    if DIGITS.match(text) and int(text) > HEAD:
        container[name] = str(HEAD)


@schemathesis.hook
def before_call(context, case, kwargs):
    _clamp(case.headers, "X-Min-Position")
    _clamp(case.query, "consistency.minPosition")
"#;

/// The token for the `bearerAuth` scheme, from the environment so it is never in a file.
const CONFIG: &str = r#"
[auth.openapi.bearerAuth]
bearer = "${CAUSEWAY_TEST_TOKEN}"
"#;

fn schemathesis() -> PathBuf {
    let path = std::env::var_os("CAUSEWAY_SCHEMATHESIS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            causeway_tests::tools::workspace_root().join(".venv-tools/bin/schemathesis")
        });
    assert!(
        path.exists(),
        "schemathesis not found at {}: run scripts/setup-test-tools (scripts/test does it for you)",
        path.display()
    );
    path
}

#[tokio::test(flavor = "multi_thread")]
async fn schemathesis_finds_no_server_errors_and_no_schema_violations() {
    let tool = schemathesis();
    let stack = Stack::in_front_of(TestServer::start_secured().await, |config| Config {
        timeout: Duration::from_secs(3),
        ..config
    })
    .await;
    let admin = token(&stack.server, "schemathesis", &["admin"]);
    // Some data to find, so reads are not all 404s.
    let seeded = stack
        .http
        .post(
            "/v1/products",
            &[
                ("idempotency-key", &key()),
                ("authorization", &bearer(&admin)),
            ],
            json!({"sku": "kettle", "name": "Kettle"}),
        )
        .await
        .expect(200);
    let head = seeded.header("x-position").unwrap().to_owned();

    let work = tempfile::tempdir().unwrap();
    std::fs::write(work.path().join("causeway_hooks.py"), HOOKS).unwrap();
    let config = work.path().join("schemathesis.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let har = work.path().join("run.har");
    let schema = format!("{}/openapi.json", stack.gateway.url());
    let child = tokio::process::Command::new(tool)
        .current_dir(work.path())
        .env("SCHEMATHESIS_HOOKS", "causeway_hooks")
        .env("PYTHONPATH", work.path())
        .env("CAUSEWAY_TEST_HEAD", head)
        .env("CAUSEWAY_TEST_TOKEN", &admin)
        .env("NO_COLOR", "1")
        .arg("--config-file")
        .arg(&config)
        .args([
            "run",
            &schema,
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,\
             response_headers_conformance,response_schema_conformance",
            "--phases",
            "examples,coverage,fuzzing",
            "--max-examples",
            MAX_EXAMPLES,
            "--workers",
            "1",
            "--seed",
            "20261126",
            "--request-timeout",
            "15",
            "--suppress-health-check",
            "all",
            "--no-shrink",
            "--report",
            "har",
            "--report-har-path",
        ])
        .arg(&har)
        // An event stream never ends, so there is no whole response to check; it has tests of
        // its own (tests/events.rs).
        .args(["--exclude-operation-id", SUBSCRIBE])
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(TIME_LIMIT, child)
        .await
        .unwrap_or_else(|_| panic!("schemathesis ran longer than {TIME_LIMIT:?}"))
        .expect("schemathesis runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "schemathesis found problems:\n{text}"
    );
    // Had its token been refused, no secured operation would ever have answered 200.
    let secured_ok = secured_successes(&har);
    assert!(
        secured_ok > 0,
        "no secured operation answered 200: the token did not work\n{text}"
    );
}

/// How many answers in the run's HAR record were a 200 from an operation that needs a token
/// (every `/v1/` path but login; the JWKS is not under `/v1/`).
fn secured_successes(har: &std::path::Path) -> usize {
    let har: serde_json::Value =
        serde_json::from_slice(&std::fs::read(har).expect("the HAR report")).expect("HAR is JSON");
    har["log"]["entries"]
        .as_array()
        .expect("HAR entries")
        .iter()
        .filter(|entry| entry["response"]["status"] == 200)
        .filter_map(|entry| entry["request"]["url"].as_str())
        .filter_map(|url| {
            url.split_once("://")
                .and_then(|(_, rest)| rest.split_once('/'))
        })
        .map(|(_, path)| format!("/{path}"))
        .filter(|path| path.starts_with("/v1/") && !path.starts_with("/v1/sessions:login"))
        .count()
}
