//! The server binary's own end-to-end tests.
//!
//! One test binary for every file here: each file is a module, so a clean build links the
//! dependency tree once rather than once per file.

mod auth_keys;
mod fulfilment;
mod leases;
mod logs;
mod restart;
mod roles;
mod support;
