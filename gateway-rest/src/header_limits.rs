//! Request headers are bounded here, before anything is forwarded. The gateway shares one
//! HTTP/2 connection to the server among all its callers, and a header list the server finds
//! too large makes it end that connection (GOAWAY), failing every call in flight on it. So the
//! gateway refuses large headers itself with 431, and bounds what it forwards on its own, far
//! below the server's limit, whatever `--max-header-bytes` says.

use axum::{
    extract::Request,
    middleware::Next,
    response::{IntoResponse, Response},
};
use http::HeaderMap;

use crate::{error::ApiError, upstream::FORWARDED_HEADERS};

/// Most bytes of the headers forwarded to the server (HTTP/2 accounting, see [`list_size`]):
/// half the server's 16 KiB header list limit, leaving room for gRPC's own headers.
pub const MAX_FORWARDED_BYTES: usize = 8 * 1024;

pub use crate::mapping::HEADERS_TOO_LARGE;

/// Size of `headers` as HTTP/2 counts a header list: name, value and 32 bytes per entry.
pub fn list_size<'a>(headers: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> usize {
    headers
        .into_iter()
        .map(|(name, value)| name.len() + value.len() + 32)
        .sum()
}

/// Why `headers` may not pass: all of them over `max`, or the forwarded ones over
/// [`MAX_FORWARDED_BYTES`].
pub fn oversized(headers: &HeaderMap, max: usize) -> Option<String> {
    let all = list_size(headers.iter().map(|(n, v)| (n.as_str(), v.as_bytes())));
    if all > max {
        return Some(format!(
            "the request headers are {all} bytes; at most {max} are accepted"
        ));
    }
    let forwarded = FORWARDED_HEADERS.iter().flat_map(|name| {
        headers
            .get_all(*name)
            .iter()
            .map(move |v| (*name, v.as_bytes()))
    });
    let forwarded = list_size(forwarded);
    (forwarded > MAX_FORWARDED_BYTES).then(|| {
        format!(
            "the headers passed on to the server ({}) are {forwarded} bytes; at most \
             {MAX_FORWARDED_BYTES} are accepted",
            FORWARDED_HEADERS.join(", ")
        )
    })
}

/// The middleware: 431 with the JSON error body for oversized headers.
pub async fn limit_headers(max: usize, request: Request, next: Next) -> Response {
    match oversized(request.headers(), max) {
        Some(why) => ApiError::refused(&HEADERS_TOO_LARGE, why).into_response(),
        None => next.run(request).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_header_lists_and_large_forwarded_headers_are_refused() {
        let mut headers = HeaderMap::new();
        headers.insert("content-type", "application/json".parse().unwrap());
        assert_eq!(oversized(&headers, 16 * 1024), None);
        let token = format!("Bearer {}", "t".repeat(9 * 1024));
        headers.insert("authorization", token.parse().unwrap());
        let why = oversized(&headers, 64 * 1024).expect("forwarded bound applies");
        assert!(why.contains("passed on to the server"), "{why}");
        let why = oversized(&headers, 4 * 1024).expect("overall bound applies");
        assert!(why.contains("at most 4096"), "{why}");
        headers.insert("x-other", "o".repeat(20 * 1024).parse().unwrap());
        headers.remove("authorization");
        assert!(oversized(&headers, 16 * 1024).is_some());
        assert_eq!(oversized(&headers, 64 * 1024), None);
    }
}
