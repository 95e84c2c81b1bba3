//! The SDK against real servers.
//!
//! One test binary for every file here: each file is a module, so a clean build links the
//! dependency tree once rather than once per file.

mod login;
mod settings;
mod tls;
