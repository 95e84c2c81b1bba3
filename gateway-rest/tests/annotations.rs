//! Routes come from annotations and nothing else: a test proto compiled here with protox, a
//! generic upstream for it, and the gateway built from its descriptors. Also the transcoding
//! rules that the real contracts do not exercise (nested path fields, int64, enums, repeated
//! fields, a body bound to one field, additional bindings) and the layers (Authorization
//! forwarding, concurrency limit, deadline).

use crate::support;

use std::time::Duration;

use causeway_gateway::config::Config;
use serde_json::json;
use support::{
    Gateway, Http,
    probe::{Annotations, Probe, compile},
};

#[tokio::test(flavor = "multi_thread")]
async fn an_annotation_alone_adds_a_route() {
    let without = Annotations {
        echo: None,
        ..Annotations::all()
    };
    let with = Annotations::all();
    // The same upstream serves Echo either way; only the descriptors the gateway reads differ.
    let probe = Probe::start(&compile(&with)).await;

    let gateway = Gateway::start_with(support::config(&probe.url()), compile(&without)).await;
    let http = Http::new(&gateway.url());
    let reply = http.post("/v1/echo/bob:shout", &[], json!({})).await;
    assert_eq!(reply.status.as_u16(), 404, "{}", reply.text);
    let doc = http.get("/openapi.json", &[]).await.expect(200);
    assert!(
        doc.json["paths"]
            .get("/v1/echo/{target.name}:shout")
            .is_none()
    );
    gateway.stop().await.unwrap();

    let gateway = Gateway::start_with(support::config(&probe.url()), compile(&with)).await;
    let http = Http::new(&gateway.url());
    let reply = http
        .post("/v1/echo/bob:shout", &[], json!({}))
        .await
        .expect(200);
    assert_eq!(reply.json["text"], "hello bob");
    let doc = http.get("/openapi.json", &[]).await.expect(200);
    let operation = &doc.json["paths"]["/v1/echo/{target.name}:shout"]["post"];
    assert_eq!(operation["operationId"], "gatewaytest.v1.Probe.Echo");
    assert_eq!(
        doc.json["components"]["schemas"]["gatewaytest.v1.EchoResponse"]["properties"]["big"]["type"],
        "string"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn nested_path_fields_int64_enums_and_lists_transcode_both_ways() {
    let pool = compile(&Annotations::all());
    let probe = Probe::start(&pool).await;
    let gateway = Gateway::start_with(support::config(&probe.url()), pool).await;
    let http = Http::new(&gateway.url());
    let reply = http
        .post(
            "/v1/echo/a%2Fb%3Ac:shout",
            &[("authorization", "Bearer t0ken")],
            json!({"mood": "MOOD_LOUD", "big": "-9007199254740993", "tags": ["x", "y"]}),
        )
        .await
        .expect(200);
    assert_eq!(
        reply.json,
        json!({"text": "hello a/b:c!", "authorization": "Bearer t0ken",
               "big": "-9007199254740993", "mood": "MOOD_LOUD", "tags": ["x", "y"]})
    );
    // Defaults are written out, so clients need no proto3 default rules.
    let quiet = http
        .post("/v1/echo/x:shout", &[], json!({"mood": 2}))
        .await
        .expect(200);
    assert_eq!(
        quiet.json,
        json!({"text": "hello x", "authorization": "", "big": "0", "mood": "MOOD_QUIET", "tags": []})
    );

    for method in [reqwest::Method::PUT, reqwest::Method::PATCH] {
        let note = http
            .send(
                method.clone(),
                "/v1/notes/n-1",
                &[],
                Some(json!({"title": "groceries"}).to_string()),
            )
            .await
            .expect(200);
        assert_eq!(note.json["text"], "groceries", "{method}");
    }
    let wrong = http
        .send(
            reqwest::Method::PUT,
            "/v1/notes/n-1",
            &[],
            Some(json!({"note": {"title": "x"}}).to_string()),
        )
        .await;
    assert_eq!(
        wrong.status.as_u16(),
        400,
        "the body is the note itself: {}",
        wrong.text
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn past_the_concurrency_limit_requests_are_shed_with_503() {
    let pool = compile(&Annotations::all());
    let probe = Probe::start(&pool).await;
    let gateway = Gateway::start_with(
        Config {
            concurrency: 1,
            ..support::config(&probe.url())
        },
        pool,
    )
    .await;
    let http = Http::new(&gateway.url());
    let held = {
        let http = http.clone();
        tokio::spawn(async move { http.get("/v1/hold", &[]).await })
    };
    // The first request holds the only permit once the upstream has it.
    tokio::time::timeout(Duration::from_secs(20), probe.seen.held.notified())
        .await
        .expect("the held call reached the upstream");
    let shed = http.get("/v1/echo-is-not-needed", &[]).await;
    assert_eq!(shed.status.as_u16(), 503, "{}", shed.text);
    assert_eq!(shed.json["error"]["status"], "UNAVAILABLE");
    assert_eq!(shed.header("retry-after"), Some("1"));

    probe.seen.release.notify_one();
    let first = held.await.unwrap();
    assert_eq!(first.status.as_u16(), 200, "{}", first.text);
    http.get("/healthz", &[]).await.expect(200);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upstream_that_never_answers_ends_in_504_at_the_deadline() {
    let pool = compile(&Annotations::all());
    let probe = Probe::start(&pool).await;
    let gateway = Gateway::start_with(
        Config {
            timeout: Duration::from_millis(300),
            ..support::config(&probe.url())
        },
        pool,
    )
    .await;
    let http = Http::new(&gateway.url());
    let started = std::time::Instant::now();
    let reply = http.get("/v1/hold", &[]).await;
    assert_eq!(reply.status.as_u16(), 504, "{}", reply.text);
    assert_eq!(reply.json["error"]["status"], "DEADLINE_EXCEEDED");
    assert!(started.elapsed() < Duration::from_secs(5));
    probe.seen.release.notify_one();
}

#[tokio::test(flavor = "multi_thread")]
async fn contracts_that_cannot_be_served_stop_start_up() {
    let broken = Annotations {
        echo: Some(r#"get: "/v1/echo/{target.nickname}""#),
        ..Annotations::all()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let error = causeway_gateway::serve(
        listener,
        support::config("http://127.0.0.1:1"),
        compile(&broken),
        async {},
    )
    .await
    .unwrap_err();
    let text = error.to_string();
    assert!(
        text.contains("gatewaytest.v1.Probe.Echo") && text.contains("nickname"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stalled_upload_ends_in_504_at_the_request_timeout() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let pool = compile(&Annotations::all());
    let probe = Probe::start(&pool).await;
    let gateway = Gateway::start_with(
        Config {
            timeout: Duration::from_millis(300),
            ..support::config(&probe.url())
        },
        pool,
    )
    .await;
    let mut stream = tokio::net::TcpStream::connect(gateway.addr).await.unwrap();
    let head = format!(
        "POST /v1/echo/bob:shout HTTP/1.1\r\nhost: {}\r\ncontent-type: application/json\r\n\
         content-length: 100\r\n\r\n{{\"mood\":",
        gateway.addr
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    // The rest of the body never comes; the request timeout (deadline + 1 s) answers.
    let mut answer = vec![0; 4096];
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut answer))
        .await
        .expect("the gateway answers a stalled request")
        .unwrap();
    let text = String::from_utf8_lossy(&answer[..read]);
    assert!(text.starts_with("HTTP/1.1 504"), "{text}");
    assert!(text.contains("DEADLINE_EXCEEDED"), "{text}");
    assert_eq!(probe.calls(), 0);
}
