//! The small values flags parse into: roles, modes, optional limits and listeners, and
//! [`Secret`], the connection string that never prints.

use std::time::Duration;

use clap::ValueEnum;

use crate::store::embedded::Durability;

/// What one `causeway-server` process serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Role {
    /// Everything in one process: the laptop default.
    All,
    /// Only the command services (scale writers on their own).
    Command,
    /// Only the query services, reading read models another process keeps up to date.
    Query,
    /// Only the projection runners (and their admin service).
    Projection,
}

impl Role {
    /// Whether this role serves the command services.
    pub fn commands(self) -> bool {
        matches!(self, Self::All | Self::Command)
    }

    /// Whether this role serves the query services.
    pub fn queries(self) -> bool {
        matches!(self, Self::All | Self::Query)
    }

    /// Whether this role runs the projections.
    pub fn projections(self) -> bool {
        matches!(self, Self::All | Self::Projection)
    }

    /// Whether a process of this role serves the services of role `other`.
    pub fn serves(self, other: Role) -> bool {
        self == Self::All || self == other
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::All => "all",
            Self::Command => "command",
            Self::Query => "query",
            Self::Projection => "projection",
        })
    }
}

/// A duration (`30s`, `2m`), or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit(pub Option<Duration>);

impl std::str::FromStr for Limit {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value.trim() {
            "off" => Ok(Self(None)),
            text => humantime::parse_duration(text)
                .map(|d| Self(Some(d)))
                .map_err(|e| format!("{text:?} is neither a duration (30s, 2m) nor `off`: {e}")),
        }
    }
}

/// An address to listen on, or `off`: the gateway's type, for the same flags.
pub use causeway_gateway::config::Listen;

/// Whether callers are authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuthMode {
    /// Every RPC needs a verified bearer token unless its contract declares it public.
    Enabled,
    /// Nobody is checked and everything is allowed: for local experiments only.
    Disabled,
}

/// Whether orders are fulfilled: stock reserved, then confirmed or rejected, by the process
/// in `crate::fulfilment`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FulfilmentMode {
    /// New orders await fulfilment; processes of role `projection` (or `all`) run it.
    Enabled,
    /// Orders never touch stock; staff confirm them by hand.
    Disabled,
}

/// How durable an acknowledged append is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DurabilityArg {
    /// Synced to disk before the acknowledgement (the default).
    Full,
    /// Written but not synced: the last commits may be lost on power failure. Never the default.
    Relaxed,
}

impl From<DurabilityArg> for Durability {
    fn from(value: DurabilityArg) -> Self {
        match value {
            DurabilityArg::Full => Durability::Full,
            DurabilityArg::Relaxed => Durability::Relaxed,
        }
    }
}

/// A value that may carry credentials (a connection string with a password): usable, but never
/// printed by `Debug` or `Display`, so it cannot leak into logs or error messages.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The value itself, for the one place that connects with it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

impl std::str::FromStr for Secret {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let value = value.trim();
        if value.is_empty() {
            return Err("must not be empty".into());
        }
        Ok(Self(value.to_owned()))
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}
