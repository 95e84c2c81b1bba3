//! The gateway's transcoding as a REST caller drives it: any method, path, query string and
//! body, matched against the routes from the contracts' annotations (path templates) and
//! turned into the request message by the proto3 JSON rules. Nothing may panic; a request
//! that transcodes must encode to protobuf that decodes and encodes to the same bytes (not the
//! same `DynamicMessage`: a field set to its default, like `"quantity":0`, is present after
//! reading JSON and absent after reading protobuf, which proto3 treats as equal).
//!
//! Input: one byte picks the method; then path, query and body separated by NUL bytes.
#![no_main]

use std::sync::OnceLock;

use bytes::Bytes;
use causeway_gateway::{
    routes::{Lookup, RouteTable},
    transcode,
};
use http::{HeaderMap, HeaderValue, Method};
use libfuzzer_sys::fuzz_target;
use prost::Message;
use prost_reflect::DynamicMessage;

fn routes() -> &'static RouteTable {
    static ROUTES: OnceLock<RouteTable> = OnceLock::new();
    ROUTES.get_or_init(|| {
        let pool = causeway_gateway::contracts().expect("the contracts decode");
        RouteTable::from_pool(&pool).expect("the annotations make routes")
    })
}

fuzz_target!(|input: &[u8]| {
    let [method, rest @ ..] = input else {
        return;
    };
    let method = [Method::GET, Method::POST, Method::DELETE, Method::PATCH]
        [usize::from(*method % 4)]
    .clone();
    let mut parts = rest.splitn(3, |b| *b == 0);
    let (Some(path), query, body) = (parts.next(), parts.next(), parts.next()) else {
        return;
    };
    let Ok(path) = std::str::from_utf8(path) else {
        return;
    };
    let query = query.and_then(|q| std::str::from_utf8(q).ok());
    let Lookup::Found(route, values) = routes().find(&method, path) else {
        return;
    };
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    headers.insert("idempotency-key", HeaderValue::from_static("fuzz-1"));
    let body = Bytes::copy_from_slice(body.unwrap_or_default());
    if let Ok(call) = transcode::request(route, &values, query, &headers, &body) {
        let bytes = call.message.encode_to_vec();
        let again = DynamicMessage::decode(route.rpc.input(), bytes.as_slice())
            .expect("a transcoded message decodes");
        assert_eq!(again.encode_to_vec(), bytes);
    }
});
