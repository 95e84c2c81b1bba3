//! The `FulfilmentQueries` gRPC service: one order's fulfilment, read from its own stream (so
//! always current, or as of a past point of it) and shown with every step it took. Served by the processes that run
//! fulfilment (role `projection` or `all`).

use std::sync::Arc;

use causeway_proto::fulfilment::{
    self as proto, GetFulfilmentRequest, GetFulfilmentResponse,
    fulfilment_queries_server::{FulfilmentQueries, FulfilmentQueriesServer},
};
use tonic::{Request, Response, Status};

use super::domain::{Fulfilment, FulfilmentEvent, LineState, Status as Stage};
use super::values::OrderId;
use crate::{
    feed::Point,
    grpc::validation::{both, single},
    kernel::{Aggregate, CommandError, Upcasters},
    store::EventStore,
};

/// Serves `causeway.fulfilment.v1.FulfilmentQueries` from the event store.
pub struct FulfilmentQueriesService {
    events: Arc<dyn EventStore>,
    upcasters: Arc<Upcasters>,
}

/// The gRPC server for fulfilment queries over `events`, ready to add to a tonic router.
pub fn query_service(
    events: Arc<dyn EventStore>,
    upcasters: Arc<Upcasters>,
) -> FulfilmentQueriesServer<FulfilmentQueriesService> {
    FulfilmentQueriesServer::new(FulfilmentQueriesService { events, upcasters })
}

#[tonic::async_trait]
impl FulfilmentQueries for FulfilmentQueriesService {
    async fn get_fulfilment(
        &self,
        request: Request<GetFulfilmentRequest>,
    ) -> Result<Response<GetFulfilmentResponse>, Status> {
        let req = request.get_ref();
        let (order_id, point) = both(
            single("orderId", OrderId::parse(&req.order_id)),
            Point::of(req.as_of.as_ref(), "asOf"),
        )?;
        let stream = Fulfilment::stream_id(order_id.as_str());
        let mut records = self
            .events
            .read_stream(&stream, 0)
            .await
            .map_err(CommandError::from)?;
        if let Some(point) = point {
            records.retain(|record| point.includes(record));
        }
        if records.is_empty() {
            return Err(CommandError::NotFound(format!("fulfilment of order {order_id}")).into());
        }
        let mut state = Fulfilment::default();
        let mut steps = Vec::with_capacity(records.len());
        for record in &records {
            let event: FulfilmentEvent = self
                .upcasters
                .decode(record)
                .map_err(|e| CommandError::Corrupt(format!("{stream}@{}: {e}", record.revision)))?;
            state.apply(&event);
            steps.push(proto::FulfilmentStep {
                revision: record.revision,
                position: record.position,
                event_type: record.event_type.clone(),
                summary: summary(&event),
                recorded_at: recorded_at(record.created_micros),
            });
        }
        let last = records.last().map_or((0, 0), |r| (r.revision, r.position));
        Ok(Response::new(GetFulfilmentResponse {
            fulfilment: Some(proto::Fulfilment {
                order_id: order_id.to_string(),
                status: state
                    .status()
                    .map_or(proto::FulfilmentStatus::Unspecified, stage)
                    as i32,
                lines: (0u32..)
                    .zip(state.lines())
                    .map(|(n, line)| proto::FulfilmentLine {
                        line: n,
                        sku: line.plan.sku.to_string(),
                        quantity: line.plan.quantity.get(),
                        reservation_id: line.plan.reservation_id.to_string(),
                        status: line_status(line.state) as i32,
                        reason: line
                            .refusal
                            .as_ref()
                            .map(ToString::to_string)
                            .unwrap_or_default(),
                    })
                    .collect(),
                deadline: state.deadline().to_string(),
                reason: state.reason().map(ToString::to_string).unwrap_or_default(),
                steps,
                revision: last.0,
                position: last.1,
            }),
        }))
    }
}

/// What an event says, for people.
fn summary(event: &FulfilmentEvent) -> String {
    match event {
        FulfilmentEvent::Started {
            lines, deadline, ..
        } => {
            format!("started: {} line(s) to reserve by {deadline}", lines.len())
        }
        FulfilmentEvent::LineReserved { line, plan, .. } => format!(
            "line {line}: reserved {} x {} ({})",
            plan.quantity, plan.sku, plan.reservation_id
        ),
        FulfilmentEvent::LineRefused { line, reason, .. } => format!("line {line}: {reason}"),
        FulfilmentEvent::LineReleased {
            line,
            sku,
            quantity,
            reservation_id,
            ..
        } => format!("line {line}: released {quantity} x {sku} ({reservation_id})"),
        FulfilmentEvent::LineCommitted { line, plan, .. } => format!(
            "line {line}: {} x {} left stock ({})",
            plan.quantity, plan.sku, plan.reservation_id
        ),
        FulfilmentEvent::Confirmed { .. } => "confirmed the order".to_owned(),
        FulfilmentEvent::Rejected { reason, .. } => format!("rejected the order: {reason}"),
        FulfilmentEvent::DeadlinePassed { deadline, .. } => {
            format!("the deadline {deadline} passed before every line was reserved")
        }
        FulfilmentEvent::WithdrawalNoticed {
            rejected, reason, ..
        } => {
            let how = if *rejected { "rejected" } else { "cancelled" };
            format!("the order was {how}: {reason}")
        }
        FulfilmentEvent::ShipmentNoticed { .. } => "the order shipped".to_owned(),
        FulfilmentEvent::StepRefused { step, reason, .. } => {
            format!("{step} was refused: {reason}")
        }
    }
}

fn recorded_at(created_micros: i64) -> String {
    let millis = u64::try_from(created_micros / 1000).unwrap_or(0);
    super::values::Timestamp::from_millis(millis).to_string()
}

fn stage(status: Stage) -> proto::FulfilmentStatus {
    use proto::FulfilmentStatus as P;
    match status {
        Stage::Reserving => P::Reserving,
        Stage::Confirmed => P::Confirmed,
        Stage::Rejecting => P::Rejecting,
        Stage::Rejected => P::Rejected,
        Stage::Releasing => P::Releasing,
        Stage::Released => P::Released,
        Stage::Shipping => P::Shipping,
        Stage::Shipped => P::Shipped,
        Stage::Waiting => P::Waiting,
    }
}

fn line_status(state: LineState) -> proto::LineStatus {
    use proto::LineStatus as P;
    match state {
        LineState::Pending => P::Pending,
        LineState::Reserved => P::Reserved,
        LineState::Refused => P::Refused,
        LineState::Uncertain => P::Uncertain,
        LineState::Skipped => P::Skipped,
        LineState::Released => P::Released,
        LineState::Committed => P::Committed,
    }
}
