//! Scenarios over the network.
//!
//! One test binary for every file here: each file is a module, so a clean build links the
//! dependency tree once rather than once per file.

mod auth_external_issuer;
mod auth_login;
mod auth_ownership;
mod auth_rbac;
mod auth_tokens;
mod bench_smoke;
mod command_replicas;
mod commands;
mod connections;
mod contract;
mod crash;
mod deploy;
mod edge;
mod feed;
mod feed_access;
mod feed_sdk;
mod feed_slow_consumer;
mod fulfilment;
mod fulfilment_sdk;
mod grpcurl;
mod kurrentdb_double;
mod kurrentdb_faults;
mod kurrentdb_node;
mod kurrentdb_read_your_writes;
mod kurrentdb_scenarios;
mod kurrentdb_store;
mod malformed;
mod mongo_crash;
mod mongo_outage;
mod mongo_parked;
mod mongo_readstore;
mod mongo_scenarios;
mod observability;
mod rate_limits;
mod read_side;
mod readme;
mod readstore_properties;
mod reflection;
mod replicas;
mod rest_in_process;
mod sdk;
mod sdk_auth;
mod sdk_errors;
mod sdk_examples;
mod tls;
mod tls_gateway;
mod tls_processes;
mod traces;
