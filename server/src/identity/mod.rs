//! The identity bounded context: users, their roles, and unique emails.
//!
//! Layout:
//! - `values`: validated value types (`Email`, `Role`, `DisplayName`, `Reason`, `UserId`,
//!   `PasswordHash`), parsed once at the edge or when events are read.
//! - `domain`: the pure part. Aggregates `User` (`user-<id>`) and `EmailReservation`
//!   (`useremail-<key>`), their events, and the decisions, with given/when/then tests.
//! - `events`: domain events <-> `causeway.identity.v1` protobuf messages (proto3 JSON).
//! - `password`: `Password` (redacted) and `PasswordHashing` (argon2id on the blocking pool).
//! - `registration`: RegisterUser, the one flow spanning two streams (reserve email, hash,
//!   create user), safe to retry with the same command id.
//! - `grpc`: `IdentityCommands` handlers: request -> validated command -> kernel -> ack.
//! - `projection`: `UsersProjection`, folding `user-<id>` streams into the `users` read model
//!   (`UserDocument`: no password hash, ever; unique index on `email`).
//! - `login`: signing in: email and password to an access token, failed attempts throttled.
//! - `sessions`: the `Sessions` service (Login) over `login`.
//! - `revocations`: `DisabledUsers`, whose tokens stop counting.
//! - `queries`: `IdentityQueries` handlers: request -> validated id/email -> `ReadModel` -> user.

pub mod domain;
pub mod events;
pub mod grpc;
pub mod login;
pub mod password;
pub mod projection;
pub mod queries;
pub mod registration;
pub mod revocations;
pub mod sessions;
pub mod values;

pub use grpc::{IdentityCommandsService, service};
pub use password::{HashCost, Password, PasswordHashing};
pub use registration::{NewUser, Registration, RegistrationError};
