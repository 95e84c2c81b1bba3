//! The closed loop: `in_flight` workers, each issuing its next operation as soon as the last one
//! answered, so exactly that many operations are outstanding at any time. Every latency goes
//! into an HdrHistogram (nanoseconds, 3 significant digits), one per worker, merged at the end;
//! throughput is completed operations over the wall time of the measured phase.
//!
//! Operations are numbered from the plan's `offset`: warm-up takes the first `warmup` numbers,
//! the measured phase the next `count`, so a scenario can give every operation its own stream
//! (a command that loads exactly 20 events must not find the event an earlier command appended).
//!
//! On a shared machine the load changes from one minute to the next, so scenarios measure in
//! rounds: subject and baselines take turns, round after round, and [`Rounds`] merges each one's
//! rounds. A burst of outside load then lands on all of them alike instead of on one.

use std::{
    future::Future,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use hdrhistogram::Histogram;

use super::BenchError;

/// Longest latency the histogram holds (longer ones are clamped to it).
const MAX_LATENCY_NANOS: u64 = 120_000_000_000;

/// How one measured phase runs.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Number of the first operation (its warm-up included).
    pub offset: usize,
    /// Operations outstanding at any time.
    pub in_flight: usize,
    /// Unmeasured operations first.
    pub warmup: usize,
    /// Measured operations.
    pub count: usize,
    /// The phase stops taking new operations after this long (and says it was cut short).
    pub limit: Duration,
    /// The phase also stops when this is set (e.g. a projection rebuild ended).
    pub stop: Option<Arc<AtomicBool>>,
    /// Items one operation moves (events per append), for items/s.
    pub items_per_op: u64,
}

impl Plan {
    /// `count` measured operations after `warmup` others, `in_flight` at a time.
    pub fn new(in_flight: usize, warmup: usize, count: usize, limit: Duration) -> Self {
        Self {
            offset: 0,
            in_flight: in_flight.max(1),
            warmup,
            count,
            limit,
            stop: None,
            items_per_op: 1,
        }
    }

    /// `rounds` plans that together make this one: the first keeps the warm-up, each takes the
    /// next operation numbers, the last takes what does not divide evenly.
    pub fn split(&self, rounds: usize) -> Vec<Plan> {
        let rounds = rounds.clamp(1, self.count.max(1));
        let per_round = self.count / rounds;
        let mut offset = self.offset;
        (0..rounds)
            .map(|round| {
                let warmup = if round == 0 { self.warmup } else { 0 };
                let count = if round + 1 == rounds {
                    self.count - per_round * (rounds - 1)
                } else {
                    per_round
                };
                let plan = Plan {
                    offset,
                    warmup,
                    count,
                    ..self.clone()
                };
                offset += warmup + count;
                plan
            })
            .collect()
    }

    /// The same plan counting `items` per operation.
    pub fn items_per_op(mut self, items: u64) -> Self {
        self.items_per_op = items.max(1);
        self
    }

    /// The same plan, also stopping when `stop` is set.
    pub fn until(mut self, stop: Arc<AtomicBool>) -> Self {
        self.stop = Some(stop);
        self
    }
}

/// What one measured phase recorded.
#[derive(Debug, Clone)]
pub struct Measurement {
    /// Operations outstanding at any time.
    pub in_flight: usize,
    /// Latency of every completed operation, in nanoseconds.
    pub histogram: Histogram<u64>,
    /// Wall time of the measured phase.
    pub elapsed: Duration,
    /// Items one operation moves.
    pub items_per_op: u64,
    /// Stopped by the time limit before `count` operations.
    pub cut_short: bool,
}

impl Measurement {
    /// A measurement of a single timed run of `items` items (catch-up, replay): no
    /// distribution, only a rate.
    pub fn single(elapsed: Duration, items: u64) -> Self {
        let mut histogram = new_histogram();
        histogram.saturating_record(nanos(elapsed));
        Self {
            in_flight: 1,
            histogram,
            elapsed,
            items_per_op: items.max(1),
            cut_short: false,
        }
    }

    /// Completed operations.
    pub fn count(&self) -> u64 {
        self.histogram.len()
    }

    /// Median latency, `None` without samples.
    pub fn p50(&self) -> Option<Duration> {
        self.quantile(0.50)
    }

    /// 99th-percentile latency, `None` without samples.
    pub fn p99(&self) -> Option<Duration> {
        self.quantile(0.99)
    }

    fn quantile(&self, q: f64) -> Option<Duration> {
        (!self.histogram.is_empty())
            .then(|| Duration::from_nanos(self.histogram.value_at_quantile(q)))
    }

    /// Items per second over the phase, `None` without samples.
    pub fn throughput(&self) -> Option<f64> {
        let seconds = self.elapsed.as_secs_f64();
        (self.count() > 0 && seconds > 0.0)
            .then(|| (self.count() * self.items_per_op) as f64 / seconds)
    }
}

/// The rounds of one subject, merged.
#[derive(Debug, Clone, Default)]
pub struct Rounds(Option<Measurement>);

impl Rounds {
    /// Adds one round: its latencies join the others', its wall time adds to theirs.
    pub fn add(&mut self, round: Measurement) -> Result<(), BenchError> {
        match &mut self.0 {
            None => self.0 = Some(round),
            Some(total) => {
                total
                    .histogram
                    .add(&round.histogram)
                    .map_err(|e| BenchError::new(format!("merging rounds: {e}")))?;
                total.elapsed += round.elapsed;
                total.cut_short |= round.cut_short;
            }
        }
        Ok(())
    }

    /// Every round together; an error when no round ran.
    pub fn total(self) -> Result<Measurement, BenchError> {
        self.0
            .ok_or_else(|| BenchError::new("no round was measured"))
    }
}

fn new_histogram() -> Histogram<u64> {
    // Bounds are constants that satisfy the constructor's preconditions.
    Histogram::new_with_bounds(1, MAX_LATENCY_NANOS, 3).expect("valid histogram bounds")
}

fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

/// Runs `plan` with `op(index)` as the operation, on the runtime this is called on. Any failed
/// operation fails the phase with its message: a benchmark of errors measures nothing.
pub async fn closed_loop<F, Fut>(plan: &Plan, op: F) -> Result<Measurement, BenchError>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    let op = Arc::new(op);
    let started = Instant::now();
    if plan.warmup > 0 {
        phase(plan, &op, plan.offset, plan.warmup, started).await?;
    }
    let started = Instant::now();
    let first = plan.offset + plan.warmup;
    let (histogram, cut_short) = phase(plan, &op, first, plan.count, started).await?;
    Ok(Measurement {
        in_flight: plan.in_flight,
        histogram,
        elapsed: started.elapsed(),
        items_per_op: plan.items_per_op,
        cut_short,
    })
}

/// Operations `first..first + count`, `plan.in_flight` at a time.
async fn phase<F, Fut>(
    plan: &Plan,
    op: &Arc<F>,
    first: usize,
    count: usize,
    started: Instant,
) -> Result<(Histogram<u64>, bool), BenchError>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    let next = Arc::new(AtomicUsize::new(0));
    let cut = Arc::new(AtomicBool::new(false));
    let halt = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::with_capacity(plan.in_flight);
    for _ in 0..plan.in_flight.min(count) {
        let (op, next) = (Arc::clone(op), Arc::clone(&next));
        let (cut, halt) = (Arc::clone(&cut), Arc::clone(&halt));
        let (limit, stop) = (plan.limit, plan.stop.clone());
        workers.push(tokio::spawn(async move {
            let mut histogram = new_histogram();
            loop {
                if halt.load(Ordering::Relaxed)
                    || stop.as_ref().is_some_and(|s| s.load(Ordering::Relaxed))
                {
                    break;
                }
                if started.elapsed() > limit {
                    cut.store(true, Ordering::Relaxed);
                    break;
                }
                let index = next.fetch_add(1, Ordering::Relaxed);
                if index >= count {
                    break;
                }
                let begun = Instant::now();
                if let Err(e) = op(first + index).await {
                    // The others stop too: the phase has failed whatever they measure.
                    halt.store(true, Ordering::Relaxed);
                    return Err(BenchError::new(format!("operation {}: {e}", first + index)));
                }
                histogram.saturating_record(nanos(begun.elapsed()));
            }
            Ok::<_, BenchError>(histogram)
        }));
    }
    let mut merged = new_histogram();
    let mut failure = None;
    for worker in workers {
        match worker.await {
            Ok(Ok(histogram)) => merged
                .add(&histogram)
                .map_err(|e| BenchError::new(format!("merging histograms: {e}")))?,
            Ok(Err(e)) => failure = failure.or(Some(e)),
            Err(e) => failure = failure.or(Some(BenchError::new(format!("worker ended: {e}")))),
        }
    }
    match failure {
        Some(e) => Err(e),
        None => Ok((merged, cut.load(Ordering::Relaxed))),
    }
}
