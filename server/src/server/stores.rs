//! The stores and read models a process opens, by configuration: KurrentDB or the embedded
//! event store, MongoDB or the embedded read store, and every context's upcasters.

use std::sync::Arc;

use tracing::info;

use super::ServerError;
use crate::{
    config::Config,
    fulfilment, identity, inventory,
    kernel::Upcasters,
    orders,
    projection::Projection,
    readstore::{ReadStore, ReadStoreError, embedded::EmbeddedReadStore},
    store::{EventStore, StoreError, embedded::EmbeddedEventStore},
};

/// Every upcaster of every context, for anything that reads events.
pub fn upcasters() -> Upcasters {
    let contexts = orders::register_upcasters(inventory::register_upcasters(Upcasters::default()));
    fulfilment::register_upcasters(contexts)
}

/// Every read model the platform keeps.
pub fn read_models(upcasters: &Arc<Upcasters>) -> Vec<Arc<dyn Projection>> {
    vec![
        Arc::new(orders::projection::OrdersProjection::new(upcasters.clone())),
        Arc::new(inventory::projection::ProductsProjection::new(
            upcasters.clone(),
        )),
        Arc::new(identity::projection::UsersProjection::new(
            upcasters.clone(),
        )),
    ]
}

/// Opens the event store the configuration names: KurrentDB when `kurrentdb_url` is set (without
/// contacting it, so a server that is not up yet only makes the services NOT_SERVING until it
/// answers), else the embedded store under the data directory.
pub async fn open_event_store(config: &Config) -> Result<Arc<dyn EventStore>, ServerError> {
    if let Some(url) = &config.kurrentdb_url {
        #[cfg(feature = "kurrentdb")]
        {
            let store = crate::store::kurrentdb::KurrentDbEventStore::connect(url.expose())?;
            info!("events are stored in KurrentDB");
            return Ok(Arc::new(store));
        }
        #[cfg(not(feature = "kurrentdb"))]
        {
            let _ = url;
            return Err(StoreError::Invalid(
                "KURRENTDB_URL is set but this build has no KurrentDB support \
                 (cargo feature `kurrentdb`)"
                    .into(),
            )
            .into());
        }
    }
    let dir = config.data_dir.clone();
    let durability = config.durability.into();
    let store = tokio::task::spawn_blocking(move || EmbeddedEventStore::open(&dir, durability))
        .await
        .map_err(|e| StoreError::Unavailable(format!("store open task failed: {e}")))??;
    Ok(Arc::new(store))
}

/// Opens the read store the configuration names: MongoDB when `MONGODB_URL` is set, else the
/// embedded SQLite file. Only a process that runs the projections finishes batches a crash left
/// pending on a standalone MongoDB (see `readstore::mongodb`).
pub async fn open_read_store(config: &Config) -> Result<Arc<dyn ReadStore>, ServerError> {
    if let Some(url) = &config.mongodb_url {
        #[cfg(feature = "mongodb")]
        {
            use crate::readstore::mongodb::{MongoReadStore, MongoSettings};
            let settings = MongoSettings::new(&config.mongodb_database)
                .with_finishing_batches(config.role.projections());
            let store = MongoReadStore::connect(url.expose(), settings).await?;
            return Ok(Arc::new(store));
        }
        #[cfg(not(feature = "mongodb"))]
        {
            let _ = url;
            return Err(ReadStoreError::Invalid(
                "MONGODB_URL is set but this build has no MongoDB support (feature `mongodb`)"
                    .to_owned(),
            )
            .into());
        }
    }
    let dir = config.data_dir.clone();
    let store = tokio::task::spawn_blocking(move || EmbeddedReadStore::open(&dir))
        .await
        .map_err(|e| ReadStoreError::Unavailable(format!("read store open task failed: {e}")))??;
    Ok(Arc::new(store))
}
