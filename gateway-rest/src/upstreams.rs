//! Which upstream serves which service: `--upstream` for every service by default, and
//! `--upstream-for` for a service served elsewhere (a deployment split by role: commands on one
//! server, queries on another). Each distinct address has one channel of its own, shared by
//! the services routed to it; TLS settings are the same for all of them.
//!
//! `/healthz` asks every upstream once and reports each by name: `default`, and every service
//! named by `--upstream-for`.

use std::collections::BTreeMap;

use futures::future::join_all;
use prost_reflect::DescriptorPool;
use serde_json::{Value, json};
use tonic_health::pb::health_check_response::ServingStatus;

use crate::{
    GatewayError,
    config::{Config, ConfigError},
    upstream::Upstream,
};

/// The name `/healthz` gives the `--upstream` upstream.
pub const DEFAULT: &str = "default";

/// Every upstream, and the services routed to each.
#[derive(Debug, Clone)]
pub struct Upstreams {
    /// One per distinct address; the first is the default.
    channels: Vec<Upstream>,
    /// Service full name -> index into `channels`, for services not on the default.
    routed: BTreeMap<String, usize>,
}

/// How an upstream answered its health check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamHealth {
    /// `default` or a service's full name.
    pub name: String,
    /// Where it is.
    pub target: String,
    /// `SERVING`, another health status, or `UNREACHABLE`.
    pub status: &'static str,
    /// Why it is unreachable.
    pub message: Option<String>,
}

impl From<Upstream> for Upstreams {
    fn from(upstream: Upstream) -> Self {
        Self {
            channels: vec![upstream],
            routed: BTreeMap::new(),
        }
    }
}

impl Upstreams {
    /// The upstreams `config` names, each service of `--upstream-for` checked against `pool`
    /// (the services the gateway serves). Nothing connects yet.
    pub fn new(config: &Config, pool: &DescriptorPool) -> Result<Self, GatewayError> {
        let default = Upstream::new(
            config.upstream.clone(),
            config.timeout,
            config.tls.upstream(&config.upstream)?,
        );
        let mut upstreams = Self::from(default);
        for entry in &config.upstream_for {
            if pool.get_service_by_name(&entry.service).is_none() {
                return Err(ConfigError::UpstreamFor {
                    service: entry.service.clone(),
                    reason: "the gateway serves no such service".to_owned(),
                }
                .into());
            }
            let target = entry.uri.to_string();
            let index = match upstreams.channels.iter().position(|u| u.target() == target) {
                Some(index) => index,
                None => {
                    let tls = config.tls.upstream(&entry.uri)?;
                    let channel = Upstream::new(entry.uri.clone(), config.timeout, tls);
                    upstreams.channels.push(channel);
                    upstreams.channels.len() - 1
                }
            };
            upstreams.routed.insert(entry.service.clone(), index);
        }
        Ok(upstreams)
    }

    /// The upstream that serves `service` (a full name).
    pub fn serving(&self, service: &str) -> &Upstream {
        let index = self.routed.get(service).copied().unwrap_or(0);
        &self.channels[index]
    }

    /// Where each named upstream is, for the start-up log.
    pub fn describe(&self) -> String {
        self.names()
            .map(|(name, index)| format!("{name}={}", self.channels[index].target()))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Asks every distinct upstream for its health at once and reports it under each of its
    /// names, `default` first.
    pub async fn health(&self) -> Vec<UpstreamHealth> {
        let answers = join_all(self.channels.iter().map(Upstream::health)).await;
        self.names()
            .map(|(name, index)| {
                let (status, message) = match &answers[index] {
                    Ok(status) => (status.as_str_name(), None),
                    Err(status) => (
                        "UNREACHABLE",
                        Some(format!(
                            "the upstream health check failed: {}",
                            crate::error::code_name(status.code())
                        )),
                    ),
                };
                UpstreamHealth {
                    name: name.to_owned(),
                    target: self.channels[index].target().to_owned(),
                    status,
                    message,
                }
            })
            .collect()
    }

    fn names(&self) -> impl Iterator<Item = (&str, usize)> {
        std::iter::once((DEFAULT, 0)).chain(self.routed.iter().map(|(n, i)| (n.as_str(), *i)))
    }
}

/// The body of `/healthz` and whether every upstream serves: `status` is `SERVING` then, else
/// the first other status, and `message` names every upstream that does not serve.
pub fn health_report(upstreams: &[UpstreamHealth]) -> (bool, Value) {
    let serving = ServingStatus::Serving.as_str_name();
    let failing: Vec<&UpstreamHealth> = upstreams.iter().filter(|u| u.status != serving).collect();
    let each: serde_json::Map<String, Value> = upstreams
        .iter()
        .map(|u| {
            let mut entry = json!({"target": u.target, "status": u.status});
            if let Some(message) = &u.message {
                entry["message"] = json!(message);
            }
            (u.name.clone(), entry)
        })
        .collect();
    let Some(first) = failing.first() else {
        return (true, json!({"status": serving, "upstreams": each}));
    };
    let named: Vec<String> = failing
        .iter()
        .map(|u| format!("{} ({}) is {}", u.name, u.target, u.status))
        .collect();
    let body = json!({
        "status": first.status,
        "message": format!("not every upstream serves: {}", named.join("; ")),
        "upstreams": each,
    });
    (false, body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn config(args: &[&str]) -> Config {
        let mut argv = vec!["causeway-gateway"];
        argv.extend(args);
        Config::try_parse_from(argv).unwrap()
    }

    #[tokio::test]
    async fn services_route_to_their_upstream_and_share_a_channel_per_address() {
        let pool = crate::contracts().unwrap();
        let upstreams = Upstreams::new(
            &config(&[
                "--upstream",
                "http://command:50051",
                "--upstream-for",
                "causeway.orders.v1.OrderQueries=http://query:50051",
                "--upstream-for",
                "causeway.inventory.v1.InventoryQueries=http://query:50051",
            ]),
            &pool,
        )
        .unwrap();
        assert_eq!(upstreams.channels.len(), 2);
        let target = |service: &str| upstreams.serving(service).target().to_owned();
        assert_eq!(
            target("causeway.orders.v1.OrderQueries"),
            "http://query:50051/"
        );
        assert_eq!(
            target("causeway.orders.v1.OrderCommands"),
            "http://command:50051/"
        );
        assert_eq!(
            upstreams.describe(),
            "default=http://command:50051/, \
             causeway.inventory.v1.InventoryQueries=http://query:50051/, \
             causeway.orders.v1.OrderQueries=http://query:50051/"
        );
    }

    #[tokio::test]
    async fn an_unknown_service_is_a_config_error_naming_it() {
        let pool = crate::contracts().unwrap();
        let err = Upstreams::new(
            &config(&["--upstream-for", "causeway.orders.v1.OrderQuery=http://q:1"]),
            &pool,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "--upstream-for causeway.orders.v1.OrderQuery: the gateway serves no such service"
        );
    }

    #[test]
    fn the_report_names_every_upstream_that_does_not_serve() {
        let health = |name: &str, status| UpstreamHealth {
            name: name.to_owned(),
            target: format!("http://{name}:1/"),
            status,
            message: None,
        };
        let (ok, body) = health_report(&[health("default", "SERVING"), health("a.Q", "SERVING")]);
        assert!(ok);
        assert_eq!(body["status"], "SERVING");
        assert_eq!(body["upstreams"]["a.Q"]["status"], "SERVING");
        let (ok, body) = health_report(&[
            health("default", "SERVING"),
            health("a.Q", "UNREACHABLE"),
            health("b.R", "NOT_SERVING"),
        ]);
        assert!(!ok);
        assert_eq!(body["status"], "UNREACHABLE");
        assert_eq!(
            body["message"],
            "not every upstream serves: a.Q (http://a.Q:1/) is UNREACHABLE; \
             b.R (http://b.R:1/) is NOT_SERVING"
        );
    }
}
