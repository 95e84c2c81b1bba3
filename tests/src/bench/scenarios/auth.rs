//! Scenario 8 (issue 15): what checking a bearer token costs per command and per query. Two
//! all-roles servers on data sets of the same shape, one with authentication on (the default)
//! and one with `--auth disabled`, measured in the same run in interleaved rounds, the order
//! of the two swapped every round. Both get the same valid token (`inventory.staff`, signed
//! with the secured server's own key) on every call, so the difference is the verification and
//! the access check alone, not the bytes of a header.
//!
//! The command is `RegisterProduct` of a new product (load an empty stream, append one event,
//! durable); the query is `GetProduct` by id over a caught-up catalogue. At 1 and 32 in flight.

use std::{path::Path, sync::Arc, time::Duration};

use causeway_client::{
    common::{CommandOptions, Consistency},
    inventory::{
        GetProductRequest, RegisterProductRequest,
        inventory_commands_client::InventoryCommandsClient,
        inventory_queries_client::InventoryQueriesClient,
    },
};
use causeway_server::{
    auth::{keys::KeyRing, tokens::TokenIssuer},
    config::{AuthMode, Config, DurabilityArg, Role},
};
use tonic::{Code, metadata::MetadataValue};
use uuid::Uuid;

use super::Bench;
use crate::bench::{
    BenchError,
    error::Context,
    load::{Measurement, Plan, Rounds, closed_loop},
    report::{Outcome, Report, Target},
    seed,
    server::BenchServer,
};

/// The scenario's number in the report.
const N: u8 = 8;
/// Products the queries go round (each a 20-event stream, caught up before measuring).
const CATALOGUE: usize = 1_000;
/// Data-set names (the middle part of each sku).
const PRODUCTS: &str = "authcat";
const NEW: &str = "authnew";
/// The target for each p50 ratio.
const TARGET: f64 = 1.15;

/// The `authorization` value every call carries.
type Bearer = MetadataValue<tonic::metadata::Ascii>;

/// One of the two servers, the token its calls carry and the products it holds. Skus carry
/// the side's tag, so the two data sets never collide, also in a shared KurrentDB.
struct Side {
    tag: &'static str,
    server: BenchServer,
    bearer: Bearer,
    catalogue: Arc<Vec<String>>,
}

/// Runs scenario 8 and adds its rows.
pub(super) async fn run(bench: &Bench, report: &mut Report) -> Result<(), BenchError> {
    let on = start(bench, AuthMode::Enabled, None).await?;
    // The disabled server ignores the header; it gets the same bytes.
    let off = match start(bench, AuthMode::Disabled, Some(on.bearer.clone())).await {
        Ok(off) => off,
        Err(e) => {
            let _ = on.server.stop().await;
            return Err(e);
        }
    };
    let measured = measure(bench, report, [&on, &off]).await;
    let stopped = (on.server.stop().await, off.server.stop().await);
    measured?;
    stopped.0?;
    stopped.1
}

fn catalogue_size(bench: &Bench) -> usize {
    if bench.options.smoke { 20 } else { CATALOGUE }
}

/// Seeds a data set, starts a server on it with `auth`, and waits until its read model holds
/// the catalogue. Its calls carry `bearer`, or (when `None`) a token minted with its own key.
async fn start(bench: &Bench, auth: AuthMode, bearer: Option<Bearer>) -> Result<Side, BenchError> {
    let (label, tag) = match auth {
        AuthMode::Enabled => ("auth on", "on"),
        AuthMode::Disabled => ("--auth disabled", "off"),
    };
    let dir = bench.base.join(format!("auth-{tag}"));
    let catalogue = bench.skus(&format!("{PRODUCTS}{tag}"), catalogue_size(bench));
    bench.progress(&format!(
        "scenario 8: seeding and starting the {label} server"
    ));
    let head = seed_catalogue(bench, &dir, &catalogue).await?;
    let mut config = bench.config(&dir, Role::All);
    config.auth = auth;
    let server = BenchServer::start(&bench.server, config.clone()).await?;
    let bearer = match bearer {
        Some(bearer) => bearer,
        None => token(&config)?,
    };
    let last = catalogue
        .last()
        .ok_or_else(|| BenchError::new("empty catalogue"))?;
    caught_up(bench, &server, &bearer, last, head).await?;
    Ok(Side {
        tag,
        server,
        bearer,
        catalogue,
    })
}

async fn seed_catalogue(
    bench: &Bench,
    dir: &Path,
    catalogue: &Arc<Vec<String>>,
) -> Result<u64, BenchError> {
    let mut seeding = bench.config(dir, Role::All);
    seeding.durability = DurabilityArg::Relaxed;
    let store = bench.open_store(seeding).await?;
    let streams = catalogue
        .iter()
        .map(|sku| (sku.clone(), bench.scale.command_stream_events))
        .collect();
    let seeded = seed::products(&store, streams).await;
    let head = store.head_position().await;
    bench.close_store(store).await?;
    seeded.doing("seeding the catalogue")?;
    head.doing("reading the head position")?
        .ok_or_else(|| BenchError::new("the seeded store is empty"))
}

/// A valid `inventory.staff` token of the server configured by `config`, from its key ring
/// (created now if the server has not yet).
fn token(config: &Config) -> Result<Bearer, BenchError> {
    let issuer = TokenIssuer::new(
        KeyRing::new(config.keys_dir()),
        &config.token_issuer,
        &config.token_audience,
    );
    let minted = issuer
        .mint(
            "bench",
            vec!["inventory.staff".to_owned()],
            None,
            Duration::from_secs(3600),
        )
        .doing("minting the benchmark's token")?;
    format!("Bearer {}", minted.token)
        .parse()
        .doing("the token as a header")
}

/// Returns once the server's products read model has applied `head` (read-your-writes).
async fn caught_up(
    bench: &Bench,
    server: &BenchServer,
    bearer: &Bearer,
    sku: &str,
    head: u64,
) -> Result<(), BenchError> {
    let deadline = std::time::Instant::now() + bench.scale.projection_limit;
    let mut client = InventoryQueriesClient::new(server.channel());
    loop {
        let mut request = tonic::Request::new(GetProductRequest {
            sku: sku.to_owned(),
            consistency: Some(Consistency { min_position: head }),
            ..Default::default()
        });
        request
            .metadata_mut()
            .insert("authorization", bearer.clone());
        request.set_timeout(Duration::from_secs(20));
        match client.get_product(request).await {
            Ok(_) => return Ok(()),
            Err(s)
                if s.code() == Code::DeadlineExceeded && std::time::Instant::now() < deadline => {}
            Err(s) => return Err(BenchError::new(format!("waiting for the catalogue: {s}"))),
        }
    }
}

/// `RegisterProduct` of a new sku per operation (`<run>-authnew<tag><level>-<i>`).
async fn commands(
    side: &Side,
    level: usize,
    run: &str,
    plan: &Plan,
) -> Result<Measurement, BenchError> {
    let (channel, bearer, run) = (side.server.channel(), side.bearer.clone(), run.to_owned());
    let set = format!("{NEW}{}{level}", side.tag);
    closed_loop(plan, move |i| {
        let mut client = InventoryCommandsClient::new(channel.clone());
        let sku = seed::sku(&run, &set, i);
        let mut request = tonic::Request::new(RegisterProductRequest {
            options: Some(CommandOptions {
                command_id: Uuid::now_v7().to_string(),
                ..CommandOptions::default()
            }),
            name: format!("Product {sku}"),
            sku,
        });
        request
            .metadata_mut()
            .insert("authorization", bearer.clone());
        async move {
            let ack = client.register_product(request).await;
            let ack = ack.map_err(|s| s.to_string())?.into_inner().ack;
            match ack {
                Some(ack) if ack.revision == 0 => Ok(()),
                other => Err(format!(
                    "expected a new stream at revision 0, got {other:?}"
                )),
            }
        }
    })
    .await
}

/// `GetProduct` of `catalogue[i % len]`.
async fn queries(side: &Side, plan: &Plan) -> Result<Measurement, BenchError> {
    let (channel, bearer, catalogue) = (
        side.server.channel(),
        side.bearer.clone(),
        side.catalogue.clone(),
    );
    closed_loop(plan, move |i| {
        let mut client = InventoryQueriesClient::new(channel.clone());
        let sku = catalogue.get(i % catalogue.len().max(1)).cloned();
        let bearer = bearer.clone();
        async move {
            let sku = sku.ok_or("empty catalogue")?;
            let mut request = tonic::Request::new(GetProductRequest {
                sku,
                consistency: None,
                ..Default::default()
            });
            request.metadata_mut().insert("authorization", bearer);
            let product = client
                .get_product(request)
                .await
                .map_err(|s| s.to_string())?;
            product
                .into_inner()
                .product
                .map(|_| ())
                .ok_or_else(|| "no product".to_owned())
        }
    })
    .await
}

async fn measure(bench: &Bench, report: &mut Report, sides: [&Side; 2]) -> Result<(), BenchError> {
    let scale = &bench.scale;
    for (in_flight, count) in [
        (1, scale.requests),
        (scale.in_flight, scale.concurrent_requests),
    ] {
        bench.progress(&format!(
            "scenario 8 at {in_flight} in flight: commands and queries, auth on and off"
        ));
        let mut command = [Rounds::default(), Rounds::default()];
        let mut query = [Rounds::default(), Rounds::default()];
        for (round, plan) in bench.rounds(in_flight, count).into_iter().enumerate() {
            let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
            for s in order {
                command[s].add(commands(sides[s], in_flight, &bench.run_id, &plan).await?)?;
            }
            for s in order {
                query[s].add(queries(sides[s], &plan).await?)?;
            }
        }
        let [command_on, command_off] = command;
        let [query_on, query_off] = query;
        rows(
            report,
            in_flight,
            "command RegisterProduct (new stream, durable append)",
            command_on.total()?,
            command_off.total()?,
        );
        rows(
            report,
            in_flight,
            "query GetProduct by id",
            query_on.total()?,
            query_off.total()?,
        );
    }
    Ok(())
}

fn rows(report: &mut Report, in_flight: usize, what: &str, on: Measurement, off: Measurement) {
    report.subject(
        N,
        format!("{what}, {in_flight} in flight, auth on, a valid token per call"),
        &on,
        "req/s",
    );
    report.baseline(
        N,
        format!("{what}, {in_flight} in flight, --auth disabled, same token sent"),
        &off,
        "req/s",
    );
    let latency = match (on.p50(), off.p50()) {
        (Some(a), Some(b)) if !b.is_zero() => Outcome::Value(a.as_secs_f64() / b.as_secs_f64()),
        _ => Outcome::NotAvailable("no samples".into()),
    };
    report.ratio(
        N,
        format!("{in_flight} in flight: {what} p50, auth on / off"),
        latency,
        Some(Target::AtMost(TARGET)),
    );
    let throughput = match (on.throughput(), off.throughput()) {
        (Some(a), Some(b)) if b > 0.0 => Outcome::Value(a / b),
        _ => Outcome::NotAvailable("no samples".into()),
    };
    report.ratio(
        N,
        format!("{in_flight} in flight: {what} throughput, auth on / off"),
        throughput,
        None,
    );
}
