//! Scenario 2: `InventoryQueries/GetProduct` by id over gRPC against the bare echo RPC of the
//! same request size on the same server, at 1 and 32 in flight, echo and query interleaved.
//! Queries go round the catalogue's products, all in the caught-up read model.

use std::sync::Arc;

use causeway_client::inventory::{
    GetProductRequest, inventory_queries_client::InventoryQueriesClient,
};
use prost::{Message, bytes::Bytes};
use tonic::transport::Channel;

use super::{Bench, command::echoes, reads::ReadSet};
use crate::bench::{
    BenchError,
    load::{Measurement, Plan, Rounds, closed_loop},
    report::{Outcome, Report},
};

fn get_product(sku: &str) -> GetProductRequest {
    GetProductRequest {
        sku: sku.to_owned(),
        consistency: None,
        ..Default::default()
    }
}

/// `GetProduct` of `skus[i % len]` over gRPC for every operation.
pub(super) async fn queries(
    channel: Channel,
    skus: Arc<Vec<String>>,
    plan: &Plan,
) -> Result<Measurement, BenchError> {
    closed_loop(plan, move |i| {
        let mut client = InventoryQueriesClient::new(channel.clone());
        let request = (!skus.is_empty()).then(|| get_product(&skus[i % skus.len()]));
        async move {
            let request = request.ok_or("no product to query")?;
            let product = client
                .get_product(request)
                .await
                .map_err(|s| s.to_string())?
                .into_inner()
                .product;
            product
                .map(|_| ())
                .ok_or_else(|| "the response has no product".to_owned())
        }
    })
    .await
}

pub(super) async fn run(
    bench: &Bench,
    set: &ReadSet,
    report: &mut Report,
) -> Result<(), BenchError> {
    let scale = &bench.scale;
    let first = set
        .catalogue
        .first()
        .ok_or_else(|| BenchError::new("the catalogue is empty"))?;
    let payload = Bytes::from(get_product(first).encode_to_vec());
    let size = payload.len();
    for (in_flight, count) in [
        (1, scale.requests),
        (scale.in_flight, scale.concurrent_requests),
    ] {
        bench.progress(&format!("scenario 2 at {in_flight} in flight: echo, query"));
        let (mut echo, mut query) = (Rounds::default(), Rounds::default());
        for plan in bench.rounds(in_flight, count) {
            echo.add(echoes(set.server.channel(), payload.clone(), &plan).await?)?;
            let skus = Arc::clone(&set.catalogue);
            query.add(queries(set.server.channel(), skus, &plan).await?)?;
        }
        let (echo, query) = (echo.total()?, query.total()?);
        report.subject(2, "query GetProduct by id over gRPC", &query, "req/s");
        report.baseline(
            2,
            format!("echo RPC, same stack, {size} B payload"),
            &echo,
            "req/s",
        );
        let latency = match (query.p50(), echo.p50()) {
            (Some(q), Some(e)) if !e.is_zero() => Outcome::Value(q.as_secs_f64() / e.as_secs_f64()),
            _ => Outcome::NotAvailable("no samples".into()),
        };
        report.ratio(
            2,
            format!("{in_flight} in flight: query p50 / echo p50"),
            latency,
            None,
        );
        let throughput = match (query.throughput(), echo.throughput()) {
            (Some(q), Some(e)) if e > 0.0 => Outcome::Value(q / e),
            _ => Outcome::NotAvailable("no samples".into()),
        };
        report.ratio(
            2,
            format!("{in_flight} in flight: query throughput / echo throughput"),
            throughput,
            None,
        );
    }
    Ok(())
}
