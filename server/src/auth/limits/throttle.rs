//! The rate-limit layer: after authentication (it needs the caller), before authorization (a
//! caller that keeps calling what it may not call still spends its budget). A call must find
//! room among its caller's calls in flight, then a token in its caller's bucket.

use std::{
    future::Future,
    pin::Pin,
    sync::{Arc, Mutex},
    task::{Context, Poll},
    time::{Duration, Instant},
};

use causeway_telemetry::Metrics;
use futures::future::{Either, Ready, ready};
use governor::{DefaultKeyedRateLimiter, RateLimiter, clock::Clock};
use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family},
};
use tonic::{Code, Status, body::Body};
use tonic_types::{ErrorDetails, StatusExt};
use tower::{Layer, Service};

use super::{
    Class, RateLimits,
    in_flight::{InFlight, Open},
};
use crate::{auth::Caller, connection::ConnectionInfo};

/// Paths never limited: probes must answer whatever a caller does.
const EXEMPT: &[&str] = &["/grpc.health.v1.Health/"];
/// How often buckets that have refilled (callers gone quiet) are dropped.
const SWEEP_INTERVAL: Duration = Duration::from_secs(60);
/// When to try again after too many calls in flight: nothing says when one ends, so a pause
/// long enough for most calls.
const IN_FLIGHT_RETRY: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ThrottledLabels {
    class: &'static str,
    /// `rate` or `in_flight`.
    limit: &'static str,
}

/// One bucket per caller of each class with a rate, the calls in flight per caller, and the
/// count of calls refused.
struct Buckets {
    classes: Vec<(Class, DefaultKeyedRateLimiter<String>)>,
    in_flight: Option<Arc<InFlight>>,
    throttled: Family<ThrottledLabels, Counter>,
    swept: Mutex<Instant>,
}

impl Buckets {
    /// Admits one call from `caller`: `Ok` with its place among the caller's calls in flight
    /// (to hold until it ends), `Err` with the refusal.
    fn take(
        &self,
        caller: &Caller,
        connection: Option<&ConnectionInfo>,
    ) -> Result<Option<Open>, Status> {
        let Some(class) = Class::of(caller) else {
            return Ok(None);
        };
        let limiter = self.classes.iter().find(|(c, _)| *c == class);
        if limiter.is_none() && self.in_flight.is_none() {
            return Ok(None);
        }
        let key = key(caller, connection);
        let open = match &self.in_flight {
            None => None,
            Some(in_flight) => match in_flight.enter(key.clone()) {
                Some(open) => Some(open),
                None => {
                    return Err(self.refuse(
                        class,
                        "in_flight",
                        IN_FLIGHT_RETRY,
                        "too many calls at once",
                    ));
                }
            },
        };
        let Some((_, limiter)) = limiter else {
            return Ok(open);
        };
        self.sweep();
        match limiter.check_key(&key) {
            Ok(()) => Ok(open),
            Err(refused) => {
                let wait = refused.wait_time_from(limiter.clock().now());
                Err(self.refuse(class, "rate", wait, "too many calls"))
            }
        }
    }

    /// Counts a refusal and says when to try again.
    fn refuse(&self, class: Class, limit: &'static str, wait: Duration, what: &str) -> Status {
        self.throttled
            .get_or_create(&ThrottledLabels {
                class: class.as_str(),
                limit,
            })
            .inc();
        let mut details = ErrorDetails::new();
        details.set_retry_info(Some(wait));
        let which = match limit {
            "rate" => "rate limit is used up",
            _ => "limit of calls in flight is reached",
        };
        Status::with_error_details(
            Code::ResourceExhausted,
            format!(
                "{what}: the {} {which}; retry in {} ms",
                class.as_str(),
                wait.as_millis().max(1)
            ),
            details,
        )
    }

    /// Drops the buckets of callers gone quiet, at most every [`SWEEP_INTERVAL`] (whoever finds
    /// it due does it; the others do not wait).
    fn sweep(&self) {
        let Ok(mut swept) = self.swept.try_lock() else {
            return;
        };
        if swept.elapsed() < SWEEP_INTERVAL {
            return;
        }
        *swept = Instant::now();
        for (_, limiter) in &self.classes {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

/// The bucket key of a caller: its subject when verified; when anonymous, its connection's
/// client certificate name, else its address.
fn key(caller: &Caller, connection: Option<&ConnectionInfo>) -> String {
    if let Some(principal) = caller.principal() {
        return principal.subject.clone();
    }
    let peer = connection.and_then(|c| c.peer.as_deref()?.primary().map(str::to_owned));
    let address = || {
        connection
            .and_then(|c| c.remote)
            .map(|a| a.ip().to_string())
    };
    peer.or_else(address).unwrap_or_default()
}

/// Limits calls per caller; see the module docs of `auth::limits`.
#[derive(Clone)]
pub struct RateLimitLayer {
    buckets: Arc<Buckets>,
}

impl RateLimitLayer {
    /// Buckets sized by `limits`, counting refused calls in `metrics` as
    /// `causeway_throttled_calls_total{class, limit}`.
    pub fn new(limits: &RateLimits, metrics: &Metrics) -> Self {
        let classes = Class::ALL
            .into_iter()
            .filter_map(|class| {
                let quota = limits.of(class).quota()?;
                Some((class, RateLimiter::keyed(quota)))
            })
            .collect();
        let throttled = metrics.register(
            "throttled_calls",
            "Calls refused by the per-caller limits, by the caller's class and the limit \
             (rate, in_flight).",
            Family::default(),
        );
        Self {
            buckets: Arc::new(Buckets {
                classes,
                in_flight: limits.max_in_flight_per_caller.0.map(InFlight::new),
                throttled,
                swept: Mutex::new(Instant::now()),
            }),
        }
    }
}

impl<S> Layer<S> for RateLimitLayer {
    type Service = Throttle<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Throttle {
            inner,
            buckets: self.buckets.clone(),
        }
    }
}

/// The service [`RateLimitLayer`] wraps around the routes.
#[derive(Clone)]
pub struct Throttle<S> {
    inner: S,
    buckets: Arc<Buckets>,
}

impl<S, B> Service<http::Request<B>> for Throttle<S>
where
    S: Service<http::Request<B>, Response = http::Response<Body>>,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = Either<Ready<Result<http::Response<Body>, S::Error>>, Holding<S::Future>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let path = request.uri().path();
        if EXEMPT.iter().any(|prefix| path.starts_with(prefix)) {
            return Either::Right(Holding::new(self.inner.call(request), None));
        }
        let caller = request
            .extensions()
            .get::<Caller>()
            .cloned()
            .unwrap_or_default();
        let connection = request.extensions().get::<ConnectionInfo>();
        match self.buckets.take(&caller, connection) {
            Ok(open) => Either::Right(Holding::new(self.inner.call(request), open)),
            Err(status) => Either::Left(ready(Ok(status.into_http()))),
        }
    }
}

/// A call holding its place among its caller's calls in flight until it has answered.
pub struct Holding<F> {
    call: Pin<Box<F>>,
    _open: Option<Open>,
}

impl<F> Holding<F> {
    fn new(call: F, open: Option<Open>) -> Self {
        Self {
            call: Box::pin(call),
            _open: open,
        }
    }
}

impl<F: Future> Future for Holding<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.call.as_mut().poll(cx)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::auth::{Principal, limits::Rate};

    fn customer(subject: &str) -> Caller {
        Caller::Verified(Principal {
            subject: subject.into(),
            roles: BTreeSet::from(["customer".to_owned()]),
            tenant: None,
            issuer: "causeway".into(),
        })
    }

    fn buckets(limits: RateLimits) -> Arc<Buckets> {
        RateLimitLayer::new(&limits, &Metrics::default()).buckets
    }

    #[test]
    fn each_caller_has_its_own_bucket_and_an_empty_one_says_when_to_retry() {
        let limits = RateLimits {
            rate_limit_customer: "2/h".parse().unwrap(),
            ..RateLimits::OFF
        };
        let buckets = buckets(limits);
        let (ada, bob) = (customer("ada"), customer("bob"));
        assert!(buckets.take(&ada, None).is_ok());
        assert!(buckets.take(&ada, None).is_ok());
        let refused = buckets.take(&ada, None).unwrap_err();
        assert_eq!(refused.code(), Code::ResourceExhausted);
        let wait = refused
            .get_details_retry_info()
            .unwrap()
            .retry_delay
            .unwrap();
        // One call comes back every 30 minutes.
        assert!(wait > Duration::from_secs(29 * 60) && wait <= Duration::from_secs(1800));
        assert!(buckets.take(&bob, None).is_ok(), "bob's bucket is his own");
        // A class without a rate, and callers nobody checks, are never limited.
        for _ in 0..100 {
            assert!(buckets.take(&Caller::Anonymous, None).is_ok());
            assert!(buckets.take(&Caller::Unchecked, None).is_ok());
        }
    }

    #[test]
    fn anonymous_callers_are_limited_too() {
        let buckets = buckets(RateLimits {
            rate_limit_anonymous: Rate::per_second(1),
            ..RateLimits::OFF
        });
        assert!(buckets.take(&Caller::Anonymous, None).is_ok());
        assert!(buckets.take(&Caller::Anonymous, None).is_err());
        assert_eq!(key(&customer("ada"), None), "ada");
    }

    /// The gRPC status a response carries in its headers (`0` when it passed through).
    fn grpc_status(response: &http::Response<Body>) -> String {
        response
            .headers()
            .get("grpc-status")
            .map_or("0".into(), |v| v.to_str().unwrap().to_owned())
    }

    #[tokio::test]
    async fn calls_in_flight_are_bounded_per_caller_until_they_answer() {
        let limits = RateLimits {
            max_in_flight_per_caller: "1".parse().unwrap(),
            ..RateLimits::OFF
        };
        // Every call answers once the test says so.
        let (release, released) = tokio::sync::watch::channel(false);
        let routes = tower::service_fn(move |_: http::Request<()>| {
            let mut released = released.clone();
            async move {
                let _ = released.wait_for(|go| *go).await;
                Ok::<_, std::convert::Infallible>(http::Response::new(Body::empty()))
            }
        });
        let mut throttle = RateLimitLayer::new(&limits, &Metrics::default()).layer(routes);
        let call = |caller: Caller| {
            let mut request = http::Request::new(());
            request.extensions_mut().insert(caller);
            request
        };
        let open = throttle.call(call(customer("ada")));
        let refused = throttle.call(call(customer("ada"))).await.unwrap();
        assert_eq!(grpc_status(&refused), "8", "a second call of Ada's at once");
        let bob = throttle.call(call(customer("bob")));
        release.send(true).unwrap();
        assert_eq!(
            grpc_status(&bob.await.unwrap()),
            "0",
            "Bob's calls are his own"
        );
        assert_eq!(grpc_status(&open.await.unwrap()), "0");
        let again = throttle.call(call(customer("ada"))).await.unwrap();
        assert_eq!(
            grpc_status(&again),
            "0",
            "Ada's call ended: her slot came back"
        );
    }
}
