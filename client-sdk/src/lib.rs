//! Rust client for Causeway's gRPC services, so other teams get retries, idempotency and
//! read-your-writes right without thinking about them.
//!
//! - **Idempotent commands.** Every command gets a UUIDv7 `command_id` unless you give one, and
//!   the same id is sent on every retry: the platform appends once and answers a repeat with the
//!   original acknowledgement (`deduplicated: true`).
//! - **Retries** with jittered exponential backoff on `UNAVAILABLE` and transport failures, never
//!   on errors that depend on the request ([`RetryPolicy`]).
//! - **Read-your-writes** with [`Client::session`]: queries wait until the read model holds every
//!   change the session was acknowledged.
//! - **Typed errors** ([`Error`]) that tell validation (with field violations), not found,
//!   conflict, a broken rule, unavailable, unauthenticated and permission denied apart.
//! - **Signing in** with [`ClientBuilder::login`] (or [`TokenProvider::login`]): the access
//!   token is kept and renewed before it expires; concurrent calls share one login.
//! - **Streams over all pages** for listings (`list_orders`, `list_products`).
//! - **The event feed** with [`Client::events`]: a subscription that reconnects and resumes
//!   after the last position it yielded, and a [`events::Consumer`] that keeps its checkpoint
//!   in a [`events::Checkpoints`] store.
//!
//! ```no_run
//! use causeway_client::{Client, orders::{GetOrderRequest, OrderLine, PlaceOrderRequest}};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let client = Client::builder("http://127.0.0.1:50051").build()?;
//! let session = client.session();
//! let placed = session
//!     .orders()
//!     .place_order(PlaceOrderRequest {
//!         customer_id: "ada".into(),
//!         currency: "EUR".into(),
//!         lines: vec![OrderLine { sku: "kettle".into(), quantity: 1, unit_price_minor: 2999 }],
//!         ..Default::default()
//!     })
//!     .await?;
//! let order = session
//!     .orders()
//!     .get_order(GetOrderRequest { order_id: placed.order_id, ..Default::default() })
//!     .await?;
//! println!("{} totals {} {}", order.order_id, order.total_minor, order.currency);
//! # Ok(()) }
//! ```
//!
//! Layout:
//! - [`Client`] (`client`) and [`ClientBuilder`] (`builder`): connection, TLS, token, deadline,
//!   retry policy, user agent.
//! - [`events`]: the event feed (subscriptions, consumers and their checkpoints, stream
//!   history).
//! - [`orders`], [`inventory`], [`identity`]: per context, the generated messages and clients
//!   re-exported, plus a handle ([`orders::Orders`], ...) that sends them with the guarantees
//!   above. [`common`], [`admin`] and [`fulfilment`] are the generated types only;
//!   `outcome` adds [`orders::Orders::await_outcome`], waiting for fulfilment's verdict.
//! - `tls`: the CAs to trust, the server's name, and a client certificate for mTLS.
//! - [`Session`] (`session`): read-your-writes.
//! - [`RetryPolicy`] (`retry`), [`TokenProvider`] (`auth`), [`Error`] (`error`).
//! - `login`: signing in to Causeway and keeping the token fresh ([`AccessToken`]).
//! - `call` runs one logical call (attempts, deadline, token, backoff); `command` says where
//!   the generated messages keep their options, ack and consistency; `pages` follows page
//!   tokens.
//!
//! Features: `tls` (default) enables `https://` endpoints with a CA given to
//! [`ClientBuilder::tls_ca_certificate`], and a client certificate for mTLS with
//! [`ClientBuilder::tls_client_identity`]; `tls-webpki-roots` also trusts the public web roots.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod auth;
mod builder;
mod call;
mod client;
mod command;
mod error;
pub mod events;
pub mod identity;
pub mod inventory;
mod login;
pub mod orders;
mod outcome;
mod pages;
mod retry;
mod session;
mod tls;

pub use auth::{TokenError, TokenProvider};
pub use builder::{BuildError, ClientBuilder, DEFAULT_CONNECT_TIMEOUT, DEFAULT_DEADLINE};
pub use causeway_proto::{FILE_DESCRIPTOR_SET, admin, common, fulfilment};
pub use client::Client;
pub use command::{at_revision, with_command_id};
pub use error::{Error, FieldViolation};
pub use login::AccessToken;
pub use retry::RetryPolicy;
pub use session::Session;
/// The tonic version the SDK is built on, so callers can name its types (`Code`,
/// `transport::Channel`, TLS configuration) without a version mismatch.
pub use tonic;
