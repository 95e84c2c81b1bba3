//! Wires one server process: opens the stores its role needs, builds the services and
//! projection runners of that role, and serves them with health and reflection on a listener
//! the caller bound, until `shutdown` resolves. Taking a bound listener lets tests start real
//! servers on port 0.

use std::{future::Future, sync::Arc, time::Duration};

use tokio::{net::TcpListener, sync::watch, task::JoinSet};
use tonic::{service::Routes, transport::Server};
use tonic_health::{ServingStatus, server::HealthReporter};
use tower::ServiceBuilder;
use tracing::{info, warn};

use causeway_telemetry::{Metrics, Protocol, RequestsLayer, metrics::serve as serve_metrics};

use crate::{
    auth::{
        AccessTable, Auth, Authentication, AuthenticationLayer, AuthorizationLayer, Refusals,
        access::PUBLIC_SERVICES, keys_service::service as keys_service,
    },
    config::{AuthMode, Config, FulfilmentMode, Role},
    connection::{ActivityLayer, MAX_HEADER_LIST_BYTES},
    fulfilment,
    grpc::{DecodeFailureLayer, RequestContextLayer, ServedElsewhereLayer, roles::SERVICES},
    health::StoreHealth,
    identity::{self, login::Login, revocations::DisabledUsers, sessions::sessions_service},
    inventory,
    kernel::{CommandHandler, Upcasters, metrics::KernelMetrics},
    orders,
    projection::{
        Projection, ProjectionRunner, ProjectionState, Projections, admin::admin_service,
        admission::LagLimit, consistency::ReadYourWrites,
    },
    query::ReadModel,
    readstore::{ReadStore, ReadStoreError, embedded::EmbeddedReadStore},
    store::{EventStore, StoreError, embedded::EmbeddedEventStore, metered::MeteredEventStore},
};

/// How long one request may take when the caller sets no `grpc-timeout`.
const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The event store could not be opened.
    #[error("cannot open the event store: {0}")]
    Store(#[from] StoreError),
    /// The read store could not be opened.
    #[error("cannot open the read store: {0}")]
    ReadStore(#[from] ReadStoreError),
    /// Reflection could not be built from the descriptor set.
    #[error("cannot build gRPC reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    /// The access rules could not be read from the descriptor set.
    #[error(transparent)]
    Access(#[from] crate::auth::access::AccessError),
    /// The signing keys could not be read or created.
    #[error("{0}")]
    Keys(String),
    /// The transport failed while serving.
    #[error("gRPC transport failed: {0}")]
    Transport(#[from] tonic::transport::Error),
}

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

/// Serves the configured role on `listener` until `shutdown` completes, then drains in-flight
/// requests, stops the projection runners (each batch is atomic, so stopping is always safe)
/// and returns.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServerError> {
    run_with(listener, config, shutdown, Extras::default()).await
}

/// What an embedder adds to a server: services mounted beside the platform's, and the
/// `/metrics` listener it bound.
#[derive(Default)]
pub struct Extras {
    /// Services mounted on the same stack (same layers, same connection handling), open to any
    /// caller: how the benchmark measures a bare echo RPC beside the real ones.
    pub routes: Routes,
    /// The names of those services, for the authorization layer and the metric labels.
    pub public: Vec<&'static str>,
    /// Where to serve `/metrics` (the binary binds `--metrics-listen`; tests port 0); none: no
    /// endpoint, the metrics are still kept.
    pub metrics: Option<TcpListener>,
    /// `false` serves without metrics, spans or access log: only the benchmark's baseline for
    /// what the instrumentation costs.
    pub uninstrumented: bool,
    /// Where to serve the REST routes in-process (the binary binds `--rest-listen`; tests
    /// port 0); none: no REST here.
    pub rest: Option<TcpListener>,
}

/// [`run`] with [`Extras`].
pub async fn run_with(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send,
    extras: Extras,
) -> Result<(), ServerError> {
    let role = config.role;
    let upcasters = Arc::new(upcasters());
    let auth = Auth::from_config(&config);
    let metrics = Metrics::default();
    let observe = !extras.uninstrumented;
    let events = if role.commands() || role.projections() {
        let store = open_event_store(&config).await?;
        Some(match observe {
            true => MeteredEventStore::wrap(store, &metrics),
            false => store,
        })
    } else {
        None
    };
    // Every process reads the users read model when it checks tokens (disabled users).
    let needs_reads = role.queries() || role.projections() || auth.mode == AuthMode::Enabled;
    let reads = if needs_reads {
        Some(open_read_store(&config).await?)
    } else {
        None
    };

    let (health, health_service) = tonic_health::server::health_reporter();
    let mut background = JoinSet::new();
    let projections = Projections::with_lag_slo(Some(config.projection_lag_slo));
    projections.register_metrics(&metrics);
    let refusals = Refusals::new(&metrics);
    let consistency = reads
        .as_ref()
        .map(|reads| ReadYourWrites::new(projections.clone(), reads.clone()));
    let model = |name| {
        reads
            .clone()
            .zip(consistency.clone())
            .map(|(reads, consistency)| ReadModel::new(name, reads, consistency))
    };
    let authentication =
        authentication(&auth, model(identity::projection::USERS), &mut background).await?;
    let access = AccessTable::from_descriptors(causeway_proto::FILE_DESCRIPTOR_SET)?
        .with_public_services(&extras.public);
    let labelled: Vec<&'static str> = SERVICES
        .iter()
        .map(|(name, _)| *name)
        .chain(PUBLIC_SERVICES.iter().copied())
        .chain(extras.public.iter().copied())
        .collect();
    let connections = config.connections;
    // The layers every call goes through, on the gRPC listener and on the in-process REST
    // routes alike.
    let layers = ServiceBuilder::new()
        .layer(match observe {
            true => RequestsLayer::new(Protocol::Grpc, &metrics, &labelled),
            false => RequestsLayer::inactive(Protocol::Grpc),
        })
        .layer(DecodeFailureLayer)
        .layer(ActivityLayer)
        .layer(ServedElsewhereLayer::new(role))
        .layer(RequestContextLayer)
        .layer(AuthenticationLayer::new(authentication, refusals.clone()))
        .layer(AuthorizationLayer::new(access, refusals));
    let mut router = extras
        .routes
        .add_service(health_service)
        .add_service(reflection_v1(role)?)
        .add_service(reflection_v1alpha(role)?);
    let mut stores = StoreHealth::new(health.clone(), events.clone(), reads.clone());
    // One handler (and aggregate cache) for the command services and fulfilment alike.
    let commands = events.as_ref().map(|events| {
        let commands = CommandHandler::new(events.clone(), upcasters.clone())
            .with_cache(config.aggregate_cache)
            .with_snapshots(config.snapshot_every);
        match observe {
            true => commands.with_metrics(KernelMetrics::new(&metrics)),
            false => commands,
        }
    });
    let fulfilling = config.fulfilment == FulfilmentMode::Enabled;

    if let (true, Some(commands)) = (role.commands(), commands.clone()) {
        // Callers are held back while projections lag too far; fulfilment, which settles
        // what they placed, is not.
        let commands = match config.max_projection_lag.0 {
            Some(limit) => {
                commands.with_admission(Arc::new(LagLimit::new(projections.clone(), limit)))
            }
            None => commands,
        };
        let passwords = identity::password::PasswordHashing::default();
        let login = Login::new(
            commands.clone(),
            passwords.clone(),
            auth.issuer.clone(),
            config.token_ttl,
            config.tenant.clone(),
        );
        router = router
            .add_service(stores.needs_events(orders::service_with(commands.clone(), fulfilling)))
            .add_service(stores.needs_events(inventory::service(commands.clone())))
            .add_service(stores.needs_events(identity::service(commands, passwords)))
            .add_service(stores.needs_events(sessions_service(login)))
            .add_service(keys_service(auth.issuer.ring().clone()));
    }
    if let (true, Some(events), Some(reads), Some(commands)) =
        (role.projections(), &events, &reads, commands)
    {
        let mut handles = Vec::new();
        for projection in read_models(&upcasters) {
            let name = projection.name();
            projections.set_categories(name, projection.categories());
            let (runner, handle) =
                ProjectionRunner::new(events.clone(), reads.clone(), projection, &projections);
            background.spawn(runner.run());
            background.spawn(report_health(health.clone(), projections.clone(), name));
            handles.push((name, handle));
        }
        if fulfilling {
            let deadlines = fulfilment::start(
                events.clone(),
                reads.clone(),
                commands,
                upcasters.clone(),
                config.fulfilment_timeout,
                &projections,
                &mut background,
            );
            handles.push((fulfilment::deadlines::NAME, deadlines));
            for name in [fulfilment::runner::NAME, fulfilment::deadlines::NAME] {
                background.spawn(report_health(health.clone(), projections.clone(), name));
            }
        }
        let fulfilments = fulfilment::grpc::query_service(events.clone(), upcasters.clone());
        router = router
            .add_service(stores.needs_both(admin_service(projections.clone(), handles)))
            .add_service(stores.needs_events(fulfilments));
        background.spawn(report_readiness(health.clone(), projections.clone()));
    }
    if let (true, Some(orders), Some(products), Some(users)) = (
        role.queries(),
        model(orders::projection::NAME),
        model(inventory::projection::NAME),
        model(identity::projection::USERS),
    ) {
        router = router
            .add_service(stores.needs_reads(orders::queries::query_service(orders)))
            .add_service(stores.needs_reads(inventory::queries::query_service(products)))
            .add_service(stores.needs_reads(identity::queries::query_service(users)));
    }
    // Statuses are known before the first request is accepted; then they follow the stores.
    stores.probe().await;
    background.spawn(stores.run());
    if let Some(listener) = extras.metrics {
        let metrics = metrics.clone();
        background.spawn(async move {
            if let Err(e) = serve_metrics(listener, metrics, std::future::pending()).await {
                warn!(error = %e, "the metrics endpoint stopped");
            }
        });
    }

    let (stopping, stop) = watch::channel(false);
    let rest = extras.rest.map(|listener| {
        let services = layers.service(router.clone().prepare());
        let metrics = metrics.clone();
        let mut stop = stop.clone();
        tokio::spawn(async move {
            let stopped = async move {
                let _ = stop.wait_for(|stopping| *stopping).await;
            };
            crate::rest::serve(
                listener,
                services,
                DEFAULT_REQUEST_TIMEOUT,
                &metrics,
                stopped,
            )
            .await
        })
    });
    info!(address = %listener.local_addr().map_or_else(|e| e.to_string(), |a| a.to_string()),
        role = ?role, data_dir = %config.data_dir.display(), "serving");
    let shutdown = async move {
        shutdown.await;
        let _ = stopping.send(true);
    };
    let served = Server::builder()
        .timeout(DEFAULT_REQUEST_TIMEOUT)
        .http2_keepalive_interval(Some(connections.keepalive_interval))
        .http2_keepalive_timeout(Some(connections.keepalive_timeout))
        .http2_max_header_list_size(MAX_HEADER_LIST_BYTES)
        .layer(layers)
        .add_routes(router)
        .serve_with_incoming_shutdown(connections.guard(listener), shutdown)
        .await;
    if let Some(rest) = rest {
        match rest.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => warn!(error = %e, "the REST routes stopped with an error"),
            Err(e) => warn!(error = %e, "the REST routes' task failed"),
        }
    }
    background.shutdown().await;
    served?;
    info!("stopped");
    Ok(())
}

/// How this process authenticates: with tokens (its keys created or loaded now, and disabled
/// users followed in the background), or not at all, loudly.
async fn authentication(
    auth: &Auth,
    users: Option<ReadModel>,
    background: &mut JoinSet<()>,
) -> Result<Authentication, ServerError> {
    let Some(verifier) = auth.verifier.clone() else {
        warn!(
            "authentication is DISABLED (--auth disabled): every caller may do anything; \
             use this for local experiments only"
        );
        return Ok(Authentication::Disabled);
    };
    let ring = auth.issuer.ring().clone();
    tokio::task::spawn_blocking(move || ring.load_or_create())
        .await
        .map_err(|e| ServerError::Keys(e.to_string()))?
        .map_err(|e| ServerError::Keys(e.to_string()))?;
    verifier.prime().await;
    let disabled = DisabledUsers::default();
    if let Some(users) = users {
        background.spawn(disabled.clone().follow(users));
    }
    Ok(Authentication::Tokens {
        verifier,
        revocations: Arc::new(disabled),
    })
}

/// The health name a load balancer's readiness probe asks: SERVING while every projection of
/// this process is within its lag objective and making progress, NOT_SERVING while one lags or
/// is stuck, so fresh replicas are preferred; liveness (`""`) stays SERVING meanwhile.
pub const READINESS: &str = "causeway.readiness";

/// Keeps [`READINESS`] in step with the projections of this process.
async fn report_readiness(health: HealthReporter, projections: Projections) {
    let mut statuses: Vec<_> = projections
        .snapshot()
        .into_iter()
        .filter_map(|(name, _)| projections.watch(&name))
        .collect();
    loop {
        let ready = statuses.iter_mut().all(|status| {
            let state = status.borrow_and_update().state(projections.lag_slo());
            matches!(
                state,
                ProjectionState::Serving | ProjectionState::Rebuilding
            )
        });
        let serving = if ready {
            ServingStatus::Serving
        } else {
            ServingStatus::NotServing
        };
        health.set_service_status(READINESS, serving).await;
        if statuses.is_empty() {
            return;
        }
        let changes = statuses.iter_mut().map(|status| Box::pin(status.changed()));
        if futures::future::select_all(changes).await.0.is_err() {
            return;
        }
    }
}

/// The health service name of a projection: `causeway.projection.<name>`.
pub fn projection_health_name(projection: &str) -> String {
    format!("causeway.projection.{projection}")
}

/// Mirrors a projection's health into the health service: NOT_SERVING while it cannot make
/// progress (store down, poison event), SERVING once it commits again.
async fn report_health(health: HealthReporter, projections: Projections, name: &'static str) {
    let service = projection_health_name(name);
    let Some(mut status) = projections.watch(name) else {
        return;
    };
    loop {
        let serving = if status.borrow_and_update().healthy {
            ServingStatus::Serving
        } else {
            ServingStatus::NotServing
        };
        health.set_service_status(&service, serving).await;
        if status.changed().await.is_err() {
            return;
        }
    }
}

/// Reflection over the contracts, listing only the services this role serves (plus health and
/// reflection), so `grpcurl list` shows what this process answers.
fn reflection(role: Role) -> tonic_reflection::server::Builder<'static> {
    let builder = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(causeway_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .with_service_name("grpc.health.v1.Health")
        .with_service_name("grpc.reflection.v1.ServerReflection")
        .with_service_name("grpc.reflection.v1alpha.ServerReflection");
    SERVICES
        .iter()
        .filter(|(_, there)| role.serves(*there))
        .fold(builder, |builder, (name, _)| {
            builder.with_service_name(*name)
        })
}

fn reflection_v1(
    role: Role,
) -> Result<
    tonic_reflection::server::v1::ServerReflectionServer<
        impl tonic_reflection::server::v1::ServerReflection,
    >,
    ServerError,
> {
    Ok(reflection(role).build_v1()?)
}

fn reflection_v1alpha(
    role: Role,
) -> Result<
    tonic_reflection::server::v1alpha::ServerReflectionServer<
        impl tonic_reflection::server::v1alpha::ServerReflection,
    >,
    ServerError,
> {
    Ok(reflection(role).build_v1alpha()?)
}
