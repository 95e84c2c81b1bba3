//! The `kurrentdb` client, kept usable.
//!
//! The crate's `Client` connects lazily, on its first operation. If that first connection
//! attempt fails (server down, refused, timed out), the client's connection task ends and every
//! later call answers `ConnectionClosed`: the client is dead for good. So the adapter holds the
//! client behind a generation number, and an operation that fails with a connection-level error
//! retires that generation; the next operation builds a fresh client. A client that did connect
//! once survives server restarts by itself (its HTTP/2 pool reconnects), so only connection-level
//! errors retire it.

use std::{
    future::Future,
    sync::{Mutex, PoisonError},
    time::Duration,
};

use kurrentdb::{Client, ClientSettings};
use tracing::warn;

use crate::store::StoreError;

/// Longest any single call to the server may take. Unary calls carry the crate's own 10 s
/// deadline; reads are streaming calls without one, so this bounds them too.
pub(super) const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// The settings parsed from the connection string, and the current client built from them.
pub(super) struct Connection {
    settings: ClientSettings,
    current: Mutex<Current>,
}

struct Current {
    generation: u64,
    client: Option<Client>,
}

impl Connection {
    /// Holds `settings`; builds no client yet (building one needs the tokio runtime).
    pub(super) fn new(settings: ClientSettings) -> Self {
        Self {
            settings,
            current: Mutex::new(Current {
                generation: 0,
                client: None,
            }),
        }
    }

    /// The live client and its generation, building one if the last was retired. Must be called
    /// inside the tokio runtime (the client spawns its connection task there).
    pub(super) fn client(&self) -> Result<(u64, Client), StoreError> {
        // Nothing can panic while the lock is held, so a poisoned lock still holds valid state.
        let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(client) = &current.client {
            return Ok((current.generation, client.clone()));
        }
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            StoreError::Unavailable("the KurrentDB client needs a tokio runtime".into())
        })?;
        let client = Client::with_runtime_handle(runtime, self.settings.clone()).map_err(|e| {
            StoreError::Unavailable(format!("cannot create the KurrentDB client: {e}"))
        })?;
        current.generation += 1;
        current.client = Some(client.clone());
        Ok((current.generation, client))
    }

    /// Classifies `error` from an operation `what` made with client `generation`, retiring that
    /// client when the error means it can no longer connect.
    pub(super) fn failed(
        &self,
        generation: u64,
        what: &str,
        error: &kurrentdb::Error,
    ) -> StoreError {
        if is_dead_client(error) {
            let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
            if current.generation == generation && current.client.take().is_some() {
                warn!(%what, %error, "KurrentDB connection failed; the next operation reconnects");
            }
        }
        store_error(what, error)
    }
}

/// Whether the crate's client is beyond repair after `error`.
fn is_dead_client(error: &kurrentdb::Error) -> bool {
    matches!(
        error,
        kurrentdb::Error::ConnectionClosed | kurrentdb::Error::GrpcConnectionError(_)
    )
}

/// Whether retrying the same call later can succeed.
pub(super) fn is_transient(error: &kurrentdb::Error) -> bool {
    !matches!(
        error,
        kurrentdb::Error::AccessDenied
            | kurrentdb::Error::ResourceDeleted
            | kurrentdb::Error::ResourceNotFound
            | kurrentdb::Error::UnsupportedFeature
            | kurrentdb::Error::InternalParsingError(_)
            | kurrentdb::Error::InternalClientError
            | kurrentdb::Error::InitializationError(_)
            | kurrentdb::Error::WrongExpectedVersion { .. }
    )
}

/// The port's view of a failed call. The crate's messages name neither the connection string
/// nor credentials (those travel in headers), so they are safe to pass on.
fn store_error(what: &str, error: &kurrentdb::Error) -> StoreError {
    match error {
        kurrentdb::Error::ResourceDeleted => {
            StoreError::Invalid(format!("{what}: the stream is deleted in KurrentDB"))
        }
        kurrentdb::Error::AccessDenied => StoreError::Unavailable(format!(
            "{what}: KurrentDB denied access (check the credentials in the connection string)"
        )),
        other => StoreError::Unavailable(format!("KurrentDB {what} failed: {other}")),
    }
}

/// Runs one call to the server for at most [`CALL_TIMEOUT`].
pub(super) async fn bounded<T>(what: &str, call: impl Future<Output = T>) -> Result<T, StoreError> {
    tokio::time::timeout(CALL_TIMEOUT, call).await.map_err(|_| {
        StoreError::Unavailable(format!(
            "KurrentDB did not answer a {what} within {CALL_TIMEOUT:?}"
        ))
    })
}
