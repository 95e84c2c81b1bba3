//! The REST gateway over the network.
//!
//! One test binary for every file here: each file is a module, so a clean build links the
//! dependency tree once rather than once per file.

mod abuse;
mod annotations;
mod documentation;
mod errors;
mod events;
mod refusals;
mod routes;
mod schemathesis;
mod secrets_in_logs;
mod security;
mod support;
