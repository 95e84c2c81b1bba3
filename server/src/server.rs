//! Wires one server process: opens the stores, builds the services of its role, and serves them
//! with health and reflection on a listener the caller bound, until `shutdown` resolves.
//! Taking a bound listener lets tests start real servers on port 0.

use std::{future::Future, sync::Arc, time::Duration};

use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::{server::NamedService, transport::Server};
use tonic_health::server::HealthReporter;
use tracing::info;

use crate::{
    config::{Config, Role},
    identity, inventory,
    kernel::{CommandHandler, Upcasters},
    orders,
    store::{EventStore, StoreError, embedded::EmbeddedEventStore},
};

/// How long one request may take when the caller sets no `grpc-timeout`.
const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// A store could not be opened.
    #[error("cannot open the event store: {0}")]
    Store(#[from] StoreError),
    /// Reflection could not be built from the descriptor set.
    #[error("cannot build gRPC reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    /// The transport failed while serving.
    #[error("gRPC transport failed: {0}")]
    Transport(#[from] tonic::transport::Error),
}

/// Every upcaster of every context, for anything that reads events.
pub fn upcasters() -> Upcasters {
    orders::register_upcasters(inventory::register_upcasters(Upcasters::default()))
}

/// Opens the event store the configuration names.
pub async fn open_event_store(config: &Config) -> Result<Arc<dyn EventStore>, ServerError> {
    let dir = config.data_dir.clone();
    let durability = config.durability.into();
    let store = tokio::task::spawn_blocking(move || EmbeddedEventStore::open(&dir, durability))
        .await
        .map_err(|e| StoreError::Unavailable(format!("store open task failed: {e}")))??;
    Ok(Arc::new(store))
}

/// Serves the configured role on `listener` until `shutdown` completes, then drains in-flight
/// requests and returns.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServerError> {
    let store = open_event_store(&config).await?;
    let commands = CommandHandler::new(store, Arc::new(upcasters()));

    let (health, health_service) = tonic_health::server::health_reporter();
    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(causeway_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(causeway_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;

    let mut router = Server::builder()
        .timeout(DEFAULT_REQUEST_TIMEOUT)
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha);

    if matches!(config.role, Role::All | Role::Command) {
        let order_commands = orders::service(commands.clone());
        let inventory_commands = inventory::service(commands.clone());
        let identity_commands = identity::grpc::service(
            commands.clone(),
            identity::password::PasswordHashing::default(),
        );
        serving(&health, &order_commands).await;
        serving(&health, &inventory_commands).await;
        serving(&health, &identity_commands).await;
        router = router
            .add_service(order_commands)
            .add_service(inventory_commands)
            .add_service(identity_commands);
    }
    // The empty service name answers "is this process healthy as a whole".
    health
        .set_service_status("", tonic_health::ServingStatus::Serving)
        .await;

    info!(address = %listener.local_addr().map_or_else(|e| e.to_string(), |a| a.to_string()),
        role = ?config.role, data_dir = %config.data_dir.display(), "serving");
    router
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), shutdown)
        .await?;
    info!("stopped");
    Ok(())
}

async fn serving<S: NamedService>(health: &HealthReporter, _service: &S) {
    health.set_serving::<S>().await;
}
