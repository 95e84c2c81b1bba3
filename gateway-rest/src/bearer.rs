//! The caller's credentials at the HTTP edge: how a request presented them, and the
//! `WWW-Authenticate` challenge of a 401 (RFC 6750, section 3).
//!
//! The gateway does not verify tokens: every Causeway process does, and the gateway cannot know
//! whether its upstream checks them at all (`--auth disabled`). It passes `Authorization` on as
//! gRPC metadata, marked sensitive so that no log or debug output of the HTTP/2 layer shows
//! it, and turns the server's `UNAUTHENTICATED` into a 401 that says, in the standard's terms,
//! whether a token was missing (no `error` attribute) or refused (`error="invalid_token"`
//! with the server's reason as `error_description`). A header that is not even text is
//! refused here, since forwarding it is impossible and dropping it would make the call
//! anonymous.

use http::{HeaderMap, HeaderValue, header};
use tonic::Code;

use crate::error::ApiError;

/// The protection space named in every challenge.
pub const REALM: &str = "causeway";

/// How a request presented credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presented {
    /// No `Authorization` header, or one of another scheme (`Basic …`): to RFC 6750 that is
    /// a request without bearer credentials.
    Nothing,
    /// `Authorization: Bearer …`.
    Bearer,
}

/// How `headers` present credentials; a 401 when `Authorization` is not visible ASCII.
pub fn presented(headers: &HeaderMap) -> Result<Presented, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(Presented::Nothing);
    };
    let Ok(text) = value.to_str() else {
        return Err(ApiError::new(
            Code::Unauthenticated,
            "the Authorization header is not visible ASCII",
        )
        .with_challenge(Presented::Bearer));
    };
    let scheme = text.trim_start().split(' ').next().unwrap_or_default();
    Ok(if scheme.eq_ignore_ascii_case("bearer") {
        Presented::Bearer
    } else {
        Presented::Nothing
    })
}

impl ApiError {
    /// Adds the `WWW-Authenticate` challenge to an `UNAUTHENTICATED` answer (every 401 must
    /// carry one); other answers are returned unchanged.
    pub fn with_challenge(self, presented: Presented) -> Self {
        if self.code != Code::Unauthenticated {
            return self;
        }
        let value = challenge(presented, &self.message);
        self.header(header::WWW_AUTHENTICATE, value)
    }
}

/// The challenge for a request that presented `presented` and was refused for `reason`.
pub fn challenge(presented: Presented, reason: &str) -> HeaderValue {
    let text = match presented {
        Presented::Nothing => format!("Bearer realm=\"{REALM}\""),
        Presented::Bearer => format!(
            "Bearer realm=\"{REALM}\", error=\"invalid_token\", error_description=\"{}\"",
            description(reason)
        ),
    };
    HeaderValue::from_str(&text).unwrap_or_else(|_| {
        HeaderValue::from_static("Bearer realm=\"causeway\", error=\"invalid_token\"")
    })
}

/// `reason` as RFC 6750 allows an `error_description`: printable ASCII without `"` and `\`;
/// anything else becomes a space.
fn description(reason: &str) -> String {
    reason
        .chars()
        .map(|c| match c {
            '"' | '\\' => '\'',
            ' '..='~' => c,
            _ => ' ',
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(authorization: &[u8]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_bytes(authorization).unwrap(),
        );
        headers
    }

    #[test]
    fn only_the_bearer_scheme_counts_as_a_token() {
        assert_eq!(presented(&HeaderMap::new()).unwrap(), Presented::Nothing);
        assert_eq!(
            presented(&headers(b"Bearer abc")).unwrap(),
            Presented::Bearer
        );
        assert_eq!(
            presented(&headers(b"bEaReR abc")).unwrap(),
            Presented::Bearer
        );
        assert_eq!(
            presented(&headers(b"Basic dXNlcjpwdw==")).unwrap(),
            Presented::Nothing
        );
        let unreadable = presented(&headers(b"Bearer \xff")).unwrap_err();
        assert_eq!(unreadable.http.as_u16(), 401);
    }

    #[test]
    fn the_challenge_names_an_error_only_when_a_token_was_refused() {
        assert_eq!(
            challenge(Presented::Nothing, "this RPC needs a bearer token"),
            "Bearer realm=\"causeway\""
        );
        assert_eq!(
            challenge(Presented::Bearer, "the bearer token has \"expired\"\n"),
            "Bearer realm=\"causeway\", error=\"invalid_token\", \
             error_description=\"the bearer token has 'expired' \""
        );
        let other = ApiError::new(Code::NotFound, "x").with_challenge(Presented::Bearer);
        assert_eq!(other, ApiError::new(Code::NotFound, "x"));
    }
}
