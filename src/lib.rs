//! Causeway's contracts: the protobuf messages, gRPC clients (feature `client`) and servers
//! (feature `server`) generated from `proto/`, plus the encoded descriptor set that reflection
//! and the REST gateway read. The only hand-written code is the redacted `Debug` of requests
//! that carry a password.
//!
//! Layout: one module per proto package, `causeway::<context>::v1` (re-exported flat below) and
//! `google::api` (the HTTP annotations the REST gateway reads its routes from). Generated
//! beside them from the stored event messages: [`STORED_EVENT_TYPES`], [`StoredEvent`] (any
//! of them decoded from the event feed's `google.protobuf.Any`) and (feature `event-json`)
//! `event_json_to_protobuf`, which turns a stored event's proto3 JSON into protobuf bytes. The
//! `google.rpc` error details (`google/rpc/status.proto`, `google/rpc/error_details.proto`)
//! are in [`FILE_DESCRIPTOR_SET`] only, so reflection describes the details of an error; their
//! Rust types come from `tonic-types`, not from here.
#![forbid(unsafe_code)]
#![allow(
    missing_docs,
    clippy::doc_lazy_continuation,
    clippy::large_enum_variant
)]

include!(concat!(env!("OUT_DIR"), "/causeway.rs"));
include!(concat!(env!("OUT_DIR"), "/event_payloads.rs"));

/// Every `.proto` of the platform, encoded, with imports and source info (the comments), for
/// gRPC reflection and descriptor-driven tools such as the REST gateway and its OpenAPI
/// document. Includes the `google.rpc` error details, so that a client using reflection can
/// decode an error's `google.rpc.BadRequest`.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/causeway_descriptor.bin"));

pub use causeway::admin::v1 as admin;
pub use causeway::auth::v1 as auth;
pub use causeway::common::v1 as common;
pub use causeway::events::v1 as events;
pub use causeway::fulfilment::v1 as fulfilment;
pub use causeway::identity::v1 as identity;
pub use causeway::inventory::v1 as inventory;
pub use causeway::orders::v1 as orders;

impl std::fmt::Debug for identity::RegisterUserRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegisterUserRequest")
            .field("options", &self.options)
            .field("email", &self.email)
            .field("display_name", &self.display_name)
            .field("password", &"[redacted]")
            .finish()
    }
}

impl std::fmt::Debug for identity::LoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRequest")
            .field("email", &self.email)
            .field("password", &"[redacted]")
            .finish()
    }
}

/// A token is a credential: its `Debug` never shows it.
impl std::fmt::Debug for identity::LoginResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginResponse")
            .field("access_token", &"[redacted]")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_never_reach_debug_output() {
        let request = super::identity::RegisterUserRequest {
            password: "hunter2-hunter2".into(),
            ..Default::default()
        };
        let printed = format!("{request:?}");
        assert!(!printed.contains("hunter2"), "{printed}");
        assert!(printed.contains("[redacted]"), "{printed}");
        let login = super::identity::LoginRequest {
            email: "ada@example.com".into(),
            password: "hunter2-hunter2".into(),
        };
        assert!(!format!("{login:?}").contains("hunter2"));
        let token = super::identity::LoginResponse {
            access_token: "eyJ.secret.token".into(),
            ..Default::default()
        };
        assert!(!format!("{token:?}").contains("secret"));
    }
}
