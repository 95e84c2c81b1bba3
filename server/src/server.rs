//! Wires one server process: opens the stores its role needs, builds the services and
//! projection runners of that role, and serves them with health and reflection on a listener
//! the caller bound, until `shutdown` resolves. Taking a bound listener lets tests start real
//! servers on port 0.
//!
//! Layout: [`run_with`] here; `stores` (opening the stores and read models a configuration
//! names); `probes` (readiness, projection and authentication health names);
//! `authentication` (tokens or none); `reflection` (the role's services).

use std::{future::Future, sync::Arc, time::Duration};

use tokio::{net::TcpListener, sync::watch, task::JoinSet};
use tonic::{service::Routes, transport::Server};
use tonic_health::ServingStatus;
use tower::ServiceBuilder;
use tracing::{info, warn};

use causeway_telemetry::{Metrics, Protocol, RequestsLayer, metrics::serve as serve_metrics};

use crate::{
    auth::{
        AccessTable, Auth, Authentication, AuthenticationLayer, AuthorizationLayer, Refusals,
        access::PUBLIC_SERVICES,
        certificates::{CertificateRoles, MappingError},
        keys_service::service as keys_service,
        limits::RateLimitLayer,
    },
    config::{AuthMode, Config, FulfilmentMode},
    connection::{ActivityLayer, MAX_HEADER_LIST_BYTES},
    feed::{self, Converter, FeedMetrics, History, Readers},
    fulfilment,
    grpc::{DecodeFailureLayer, RequestContextLayer, ServedElsewhereLayer, roles::SERVICES},
    health::StoreHealth,
    identity::{self, login::Login, sessions::sessions_service},
    inventory,
    kernel::{CommandHandler, metrics::KernelMetrics},
    lease::{self, LeaseMetrics, Leasing},
    orders,
    projection::{
        ProjectionRunner, Projections, admin::admin_service, admission::LagLimit,
        consistency::ReadYourWrites,
    },
    query::ReadModel,
    readstore::ReadStoreError,
    store::{StoreError, metered::MeteredEventStore},
};

mod authentication;
mod probes;
mod reflection;
mod stores;

use self::{
    authentication::authentication,
    probes::{report_health, report_readiness},
    reflection::{reflection_v1, reflection_v1alpha},
};
pub use self::{
    probes::{AUTHENTICATION, READINESS, projection_health_name},
    stores::{open_event_store, open_read_store, read_models, upcasters},
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
    /// The TLS certificate, key or client CA cannot be used.
    #[error("TLS: {0}")]
    Tls(#[from] causeway_tls::TlsError),
    /// The roles of client certificate identities cannot be read.
    #[error("client certificate roles: {0}")]
    CertificateRoles(#[from] MappingError),
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
    let tls = config.tls.load()?;
    let certified = CertificateRoles::load(
        &config.tls.tls_client_roles,
        config.tls.tls_client_roles_file.as_deref(),
    )?;
    let metrics = Metrics::default();
    let observe = !extras.uninstrumented;
    // Every role reads events: commands decide from them, projections fold them, queries serve
    // the event feed and answer history and `asOf` from them.
    let events = match open_event_store(&config).await? {
        store if observe => MeteredEventStore::wrap(store, &metrics),
        store => store,
    };
    let converter = Converter::new(upcasters.clone(), causeway_proto::FILE_DESCRIPTOR_SET)?;
    let history = History::new(events.clone(), converter.clone());
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
    let checked = match authentication {
        Authentication::Tokens { .. } => ServingStatus::Serving,
        Authentication::Disabled => ServingStatus::NotServing,
    };
    health.set_service_status(AUTHENTICATION, checked).await;
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
        .layer(
            AuthenticationLayer::new(authentication, refusals.clone()).with_certificates(certified),
        )
        .layer(RateLimitLayer::new(&config.rate_limits, &metrics))
        .layer(AuthorizationLayer::new(access, refusals));
    let mut router = extras
        .routes
        .add_service(health_service)
        .add_service(reflection_v1(role)?)
        .add_service(reflection_v1alpha(role)?);
    let mut stores = StoreHealth::new(health.clone(), Some(events.clone()), reads.clone());
    // Subscriptions never end by themselves: they are ended when shutdown begins, so that the
    // graceful drain below does not wait for them forever.
    // The in-process REST routes likewise stop taking requests then, and drain theirs.
    let (feed_closing, closing) = watch::channel(false);
    let (rest_closing, rest_closed) = watch::channel(false);
    let shutdown = async move {
        shutdown.await;
        let _ = feed_closing.send(true);
        let _ = rest_closing.send(true);
    };
    // One handler (and aggregate cache) for the command services and fulfilment alike.
    let commands = {
        let commands = CommandHandler::new(events.clone(), upcasters.clone())
            .with_cache(config.aggregate_cache)
            .with_snapshots(config.snapshot_every);
        match observe {
            true => commands.with_metrics(KernelMetrics::new(&metrics)),
            false => commands,
        }
    };
    let fulfilling = config.fulfilment == FulfilmentMode::Enabled;

    if role.commands() {
        let commands = commands.clone();
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
    let mut leases_held = None;
    if let (true, Some(reads)) = (role.projections(), &reads) {
        let mut handles = Vec::new();
        // One replica at a time runs each projection and fulfilment (see `crate::lease`).
        let leasing = Leasing::new(
            reads.leases(),
            lease::holder_name(),
            config.lease_ttl,
            LeaseMetrics::register(&metrics),
        );
        leases_held = Some(leasing.clone());
        for projection in read_models(&upcasters) {
            let name = projection.name();
            projections.set_categories(name, projection.categories());
            let (runner, handle) =
                ProjectionRunner::new(events.clone(), reads.clone(), projection, &projections);
            background.spawn(runner.with_lease(leasing.tenure(name)).run());
            background.spawn(report_health(health.clone(), projections.clone(), name));
            handles.push((name, handle));
        }
        if fulfilling {
            let deadlines = fulfilment::start(
                events.clone(),
                reads.clone(),
                commands,
                upcasters.clone(),
                &fulfilment::Setup {
                    timeout: config.fulfilment_timeout,
                    leasing,
                },
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
            .add_service(
                stores.needs_reads(orders::queries::query_service(orders, history.clone())),
            )
            .add_service(
                stores.needs_reads(inventory::queries::query_service(products, history.clone())),
            )
            .add_service(stores.needs_reads(identity::queries::query_service(users, history)))
            .add_service(stores.needs_events(feed::service(
                events.clone(),
                converter,
                Readers::from_descriptors(causeway_proto::FILE_DESCRIPTOR_SET)?,
                config.feed,
                closing,
                FeedMetrics::new(&metrics),
            )));
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

    let rest = extras.rest.map(|listener| {
        let services = layers.service(router.clone().prepare());
        let metrics = metrics.clone();
        let mut closed = rest_closed.clone();
        tokio::spawn(async move {
            let stopped = async move {
                let _ = closed.wait_for(|closing| *closing).await;
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
        role = ?role, data_dir = %config.data_dir.display(), transport = transport(&config),
        "serving");
    let served = Server::builder()
        .timeout(DEFAULT_REQUEST_TIMEOUT)
        .http2_keepalive_interval(Some(connections.keepalive_interval))
        .http2_keepalive_timeout(Some(connections.keepalive_timeout))
        .http2_max_header_list_size(MAX_HEADER_LIST_BYTES)
        .layer(layers)
        .add_routes(router)
        .serve_with_incoming_shutdown(connections.guard(listener, tls), shutdown)
        .await;
    if let Some(rest) = rest {
        match rest.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => warn!(error = %e, "the REST routes stopped with an error"),
            Err(e) => warn!(error = %e, "the REST routes' task failed"),
        }
    }
    background.shutdown().await;
    // The runners have stopped: their leases go to a standby (or a restart) at once.
    if let Some(leasing) = leases_held {
        leasing.release_all().await;
    }
    served?;
    info!("stopped");
    Ok(())
}

/// How connections are secured, for the start-up log line.
fn transport(config: &Config) -> &'static str {
    match (&config.tls.tls_cert, &config.tls.tls_client_ca) {
        (None, _) => "plaintext",
        (Some(_), None) => "tls",
        (Some(_), Some(_)) => "mtls",
    }
}
