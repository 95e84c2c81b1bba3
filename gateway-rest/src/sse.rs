//! A server-streaming RPC as Server-Sent Events (`text/event-stream`), for clients that speak
//! plain HTTP: `curl -N`, a browser's `EventSource`, any HTTP library.
//!
//! Each message becomes one event. A message that holds one item (its one set field is a
//! message, as with a `oneof`) is sent as that item: the field's JSON name is the event type
//! (`event`, `checkpoint`) and the item's proto3 JSON the data. An item's `position`, when it
//! has one, is the event's `id:`, so a client that reconnects sends it back as `Last-Event-ID`
//! and the stream goes on after it (the route's `after`). While nothing arrives, a comment line
//! is sent every heartbeat interval, so proxies and clients see the stream alive. When the
//! upstream ends the stream with an error, one last `error` event carries the same JSON body
//! an error answer has, and the stream ends; the client resumes from its last id.
//!
//! The body is produced as the client reads it: a client that stops reading stops the gateway
//! reading from the upstream, whose own flow control then holds the server back.

use std::{convert::Infallible, time::Duration};

use axum::{body::Body, response::Response};
use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use prost_reflect::{
    DynamicMessage, Kind, MessageDescriptor, ReflectMessage, SerializeOptions, Value,
};
use tonic::{Code, Status, Streaming};
use tracing::debug;

use crate::error::ApiError;

/// The media type of an event stream.
pub const EVENT_STREAM: &str = "text/event-stream";
/// What a heartbeat looks like on the wire: a comment, which clients ignore.
pub const HEARTBEAT: &[u8] = b": heartbeat\n\n";

/// The HTTP answer streaming `items` as events, with a heartbeat after each `heartbeat` of
/// silence. `request` is the RPC's input, whose JSON names an error's field violations use.
pub fn respond(
    items: Streaming<DynamicMessage>,
    heartbeat: Duration,
    request: MessageDescriptor,
) -> Response {
    let frames = futures::stream::unfold(Some(items), move |items| {
        let request = request.clone();
        async move {
            let mut items = items?;
            let (frame, more) = tokio::select! {
                next = items.message() => match next {
                    Ok(Some(message)) => (event(&message), true),
                    Ok(None) => return None,
                    Err(status) => (error(&status, &request), false),
                },
                () = tokio::time::sleep(heartbeat) => (Bytes::from_static(HEARTBEAT), true),
            };
            Some((Ok::<_, Infallible>(frame), more.then_some(items)))
        }
    });
    let mut response = Response::new(Body::from_stream(frames));
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(EVENT_STREAM));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // Reverse proxies that buffer answers (nginx) would hold events back.
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

/// One message as an event: `id:` (its position), `event:` (its item's name) and `data:`.
pub fn event(message: &DynamicMessage) -> Bytes {
    let (name, item) = item_of(message);
    let options = SerializeOptions::new().skip_default_fields(false);
    let mut data = Vec::with_capacity(256);
    let mut serializer = serde_json::Serializer::new(&mut data);
    if let Err(e) = item.serialize_with_options(&mut serializer, &options) {
        debug!(error = %e, "an event stream message could not be rendered");
        return error_event(&ApiError::new(
            Code::Internal,
            "a message of the stream could not be rendered",
        ));
    }
    let mut frame = Vec::with_capacity(data.len() + 64);
    if let Some(Value::U64(position)) = item.get_field_by_name("position").map(|v| v.into_owned())
        && position > 0
    {
        frame.extend_from_slice(format!("id: {position}\n").as_bytes());
    }
    frame.extend_from_slice(format!("event: {name}\ndata: ").as_bytes());
    // Compact JSON has no line breaks, so one `data:` line holds it.
    frame.extend_from_slice(&data);
    frame.extend_from_slice(b"\n\n");
    Bytes::from(frame)
}

/// The item a message carries: its one set field when that is a message, else the message.
fn item_of(message: &DynamicMessage) -> (String, DynamicMessage) {
    let descriptor = message.descriptor();
    let mut set = descriptor.fields().filter(|field| message.has_field(field));
    if let (Some(field), None) = (set.next(), set.next())
        && matches!(field.kind(), Kind::Message(_))
        && !field.is_list()
        && !field.is_map()
        && let Value::Message(item) = message.get_field(&field).into_owned()
    {
        return (field.json_name().to_owned(), item);
    }
    ("message".to_owned(), message.clone())
}

/// The last event of a stream the upstream ended with `status`: the error body every error
/// answer of the gateway has (`ApiError::from_status`, field violations in `request`'s JSON
/// names).
pub fn error(status: &Status, request: &MessageDescriptor) -> Bytes {
    let mut error = ApiError::from_status(status, request, false);
    if std::error::Error::source(status).is_some() {
        // Broken off on this side: the client resumes where it was.
        "the stream from the upstream broke off; reconnect with Last-Event-ID"
            .clone_into(&mut error.message);
    }
    error_event(&error)
}

fn error_event(error: &ApiError) -> Bytes {
    let mut frame = b"event: error\ndata: ".to_vec();
    // Compact JSON has no line breaks, so one `data:` line holds it.
    frame.extend_from_slice(&error.body());
    frame.extend_from_slice(b"\n\n");
    Bytes::from(frame)
}

#[cfg(test)]
mod tests {
    use prost_reflect::DescriptorPool;

    use super::*;

    fn pool() -> DescriptorPool {
        crate::contracts().expect("contracts")
    }

    fn text(bytes: Bytes) -> String {
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[test]
    fn an_item_is_sent_under_its_name_with_its_position_as_the_id() {
        let pool = pool();
        let response = pool
            .get_message_by_name("causeway.events.v1.SubscribeResponse")
            .unwrap();
        let json = r#"{"checkpoint": {"position": "42"}}"#;
        let mut deserializer = serde_json::Deserializer::from_str(json);
        let message = DynamicMessage::deserialize(response, &mut deserializer).unwrap();
        assert_eq!(
            text(event(&message)),
            "id: 42\nevent: checkpoint\ndata: {\"position\":\"42\"}\n\n"
        );
    }

    #[test]
    fn an_error_ends_the_stream_with_the_error_body() {
        use tonic_types::{ErrorDetails, StatusExt};

        let subscribe = pool()
            .get_message_by_name("causeway.events.v1.SubscribeRequest")
            .unwrap();
        let data = |status: &Status| {
            let frame = text(error(status, &subscribe));
            let data = frame
                .strip_prefix("event: error\ndata: ")
                .and_then(|rest| rest.strip_suffix("\n\n"))
                .expect("one error event")
                .to_owned();
            serde_json::from_str::<serde_json::Value>(&data).unwrap()
        };
        assert_eq!(
            data(&Status::resource_exhausted("too slow")),
            serde_json::json!({"error": {"code": 429, "status": "RESOURCE_EXHAUSTED",
                "message": "too slow", "fieldViolations": []}})
        );
        // The same body as an error answer: violations in the request's JSON names.
        let refused = Status::with_error_details(
            Code::InvalidArgument,
            "bad filter",
            ErrorDetails::with_bad_request_violation("from_head", "not with after"),
        );
        assert_eq!(
            data(&refused)["error"]["fieldViolations"],
            serde_json::json!([{"field": "fromHead", "description": "not with after"}])
        );
        let broke = Status::from_error(Box::new(std::io::Error::other("h2 protocol error")));
        let broke = data(&broke);
        assert_eq!(broke["error"]["status"], "UNAVAILABLE");
        assert!(!broke.to_string().contains("h2"), "no internals: {broke}");
    }
}
