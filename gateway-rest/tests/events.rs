//! The event feed over REST as Server-Sent Events, read with a plain HTTP client (reqwest):
//! events with their position as `id:`, heartbeats while nothing happens (also past the
//! gateway's idle timeout), resumption with `Last-Event-ID`, refusals as JSON before the
//! stream starts, and the route in the OpenAPI document.

mod support;

use std::time::Duration;

use causeway_gateway::config::Config;
use serde_json::{Value, json};
use support::{Stack, key};

/// A bound on waiting, not a measurement.
const BOUND: Duration = Duration::from_secs(20);

/// One Server-Sent Event, or a heartbeat comment.
#[derive(Debug, Clone, PartialEq)]
enum Frame {
    Event {
        id: Option<u64>,
        name: String,
        data: Value,
    },
    Heartbeat,
}

/// Reads an event stream response frame by frame.
struct Events {
    response: reqwest::Response,
    pending: String,
}

impl Events {
    async fn open(url: &str, last_event_id: Option<u64>) -> Self {
        let mut request = reqwest::Client::new().get(url);
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id.to_string());
        }
        let response = request.send().await.expect("the stream opens");
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["content-type"].to_str().unwrap(),
            "text/event-stream"
        );
        assert_eq!(
            response.headers()["cache-control"].to_str().unwrap(),
            "no-cache"
        );
        Self {
            response,
            pending: String::new(),
        }
    }

    async fn next(&mut self) -> Frame {
        loop {
            if let Some(end) = self.pending.find("\n\n") {
                let frame: String = self.pending.drain(..end + 2).collect();
                return parse(&frame);
            }
            let chunk = tokio::time::timeout(BOUND, self.response.chunk())
                .await
                .expect("a frame in time")
                .expect("the stream reads")
                .expect("the stream is not over");
            self.pending
                .push_str(std::str::from_utf8(&chunk).expect("UTF-8"));
        }
    }

    /// The checkpoint every stream opens with: where it starts (no id for the log's start).
    async fn started_after(&mut self, position: u64) {
        let (frame, _) = self.next_event().await;
        let Frame::Event { id, name, data } = frame else {
            unreachable!()
        };
        assert_eq!(name, "checkpoint", "{data}");
        assert_eq!(data["position"], position.to_string());
        assert_eq!(id, (position > 0).then_some(position));
    }

    /// The next event, skipping heartbeats; how many heartbeats came first.
    async fn next_event(&mut self) -> (Frame, usize) {
        let mut heartbeats = 0;
        loop {
            match self.next().await {
                Frame::Heartbeat => heartbeats += 1,
                event => return (event, heartbeats),
            }
        }
    }
}

fn parse(frame: &str) -> Frame {
    if frame.starts_with(':') {
        assert_eq!(frame, ": heartbeat\n\n");
        return Frame::Heartbeat;
    }
    let (mut id, mut name, mut data) = (None, String::new(), Value::Null);
    for line in frame.lines().filter(|line| !line.is_empty()) {
        match line.split_once(": ") {
            Some(("id", value)) => id = Some(value.parse().expect("a numeric id")),
            Some(("event", value)) => name = value.to_owned(),
            Some(("data", value)) => data = serde_json::from_str(value).expect("JSON data"),
            _ => panic!("unexpected line {line:?} in {frame:?}"),
        }
    }
    Frame::Event { id, name, data }
}

fn position(reply: &support::Reply) -> u64 {
    reply.header("x-position").unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn events_stream_with_heartbeats_and_resume_with_last_event_id() {
    let stack = Stack::start_with(|config| Config {
        sse_heartbeat: Duration::from_millis(100),
        idle_timeout: Duration::from_millis(500),
        ..config
    })
    .await;
    let http = &stack.http;
    let registered = http
        .post(
            "/v1/products",
            &[("idempotency-key", &key())],
            json!({"sku": "kettle", "name": "Kettle"}),
        )
        .await
        .expect(200);
    let first = position(&registered);
    let url = format!(
        "{}/v1/events:stream?after={}&category=product",
        stack.gateway.url(),
        first - 1
    );
    let mut events = Events::open(&url, None).await;
    events.started_after(first - 1).await;
    let (event, _) = events.next_event().await;
    let Frame::Event { id, name, data } = event else {
        unreachable!()
    };
    assert_eq!((id, name.as_str()), (Some(first), "event"));
    assert_eq!(data["stream"], "product-kettle");
    assert_eq!(data["position"], first.to_string());
    assert_eq!(
        data["payload"]["@type"],
        "type.googleapis.com/causeway.inventory.v1.ProductRegistered"
    );
    assert_eq!(data["payload"]["name"], "Kettle");
    assert!(data["metadata"]["commandId"].is_string());

    // Quiet: heartbeats, for longer than the gateway's idle timeout plus the 5 s it gives a
    // closing connection, and the stream stays.
    let mut heartbeats = 0;
    while heartbeats < 60 {
        assert_eq!(events.next().await, Frame::Heartbeat);
        heartbeats += 1;
    }
    let received = http
        .post(
            "/v1/products/kettle:receive",
            &[("idempotency-key", &key())],
            json!({"quantity": "3"}),
        )
        .await
        .expect(200);
    let second = position(&received);
    let (event, _) = events.next_event().await;
    let Frame::Event { id, data, .. } = event else {
        unreachable!()
    };
    assert_eq!(id, Some(second));
    assert_eq!(data["payload"]["quantity"], "3");
    drop(events);

    // A client that reconnects sends the last id it saw and goes on after it, whatever the
    // URL's `after` says.
    let mut resumed = Events::open(&url, Some(first)).await;
    resumed.started_after(first).await;
    let (event, _) = resumed.next_event().await;
    assert!(
        matches!(event, Frame::Event { id: Some(id), .. } if id == second),
        "{event:?}"
    );
    let mut caught_up = Events::open(&url, Some(second)).await;
    caught_up.started_after(second).await;
    let third = position(
        &http
            .post(
                "/v1/products/kettle:receive",
                &[("idempotency-key", &key())],
                json!({"quantity": "1"}),
            )
            .await
            .expect(200),
    );
    let (event, _) = caught_up.next_event().await;
    assert!(
        matches!(event, Frame::Event { id: Some(id), .. } if id == third),
        "{event:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_subscription_is_a_json_error_before_any_event() {
    let stack = Stack::start_secured().await;
    let gateway = stack.gateway.url();
    let client = reqwest::Client::new();
    let anonymous = client
        .get(format!("{gateway}/v1/events:stream"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    assert_eq!(
        anonymous.headers()["content-type"].to_str().unwrap(),
        "application/json"
    );
    let customer = support::token(&stack.server, "ada", &["customer"]);
    let denied = client
        .get(format!("{gateway}/v1/events:stream"))
        .bearer_auth(&customer)
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), 403);
    let stock = support::token(&stack.server, "stocker", &["inventory.staff"]);
    let forbidden = client
        .get(format!("{gateway}/v1/events:stream?category=order"))
        .bearer_auth(&stock)
        .send()
        .await
        .unwrap();
    assert_eq!(forbidden.status(), 403);
    let bad = client
        .get(format!("{gateway}/v1/events:stream"))
        .bearer_auth(&stock)
        .header("last-event-id", "yesterday")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let body: Value = bad.json().await.unwrap();
    assert_eq!(
        body["error"]["fieldViolations"][0]["field"],
        "Last-Event-ID"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_event_stream_is_in_the_openapi_document() {
    let stack = Stack::start().await;
    let doc = stack.http.get("/openapi.json", &[]).await.expect(200);
    let operation = &doc.json["paths"]["/v1/events:stream"]["get"];
    assert_eq!(
        operation["operationId"],
        "causeway.events.v1.EventFeed.Subscribe"
    );
    assert!(operation["responses"]["200"]["content"]["text/event-stream"].is_object());
    let parameters: Vec<&str> = operation["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    for name in [
        "after",
        "fromHead",
        "category",
        "eventType",
        "Last-Event-ID",
    ] {
        assert!(parameters.contains(&name), "{name} in {parameters:?}");
    }
    for path in ["/v1/streams/{stream}", "/v1/orders/{order_id}/history"] {
        assert!(doc.json["paths"][path]["get"].is_object(), "{path}");
    }
}
