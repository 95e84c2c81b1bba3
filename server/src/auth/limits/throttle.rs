//! The rate-limit layer: after authentication (it needs the caller), before authorization (a
//! caller that keeps calling what it may not call still spends its budget).

use std::{
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

use super::{Class, RateLimits};
use crate::{auth::Caller, connection::ConnectionInfo};

/// Paths never limited: probes must answer whatever a caller does.
const EXEMPT: &[&str] = &["/grpc.health.v1.Health/"];
/// How often buckets that have refilled (callers gone quiet) are dropped.
const SWEEP_INTERVAL: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ClassLabel {
    class: &'static str,
}

/// One bucket per caller of each class with a rate, and the count of calls refused.
struct Buckets {
    classes: Vec<(Class, DefaultKeyedRateLimiter<String>)>,
    throttled: Family<ClassLabel, Counter>,
    swept: Mutex<Instant>,
}

impl Buckets {
    /// Takes one call from `caller`'s bucket: `Err` with the refusal when it is empty.
    fn take(&self, caller: &Caller, connection: Option<&ConnectionInfo>) -> Result<(), Status> {
        let Some(class) = Class::of(caller) else {
            return Ok(());
        };
        let Some((_, limiter)) = self.classes.iter().find(|(c, _)| *c == class) else {
            return Ok(());
        };
        self.sweep();
        let refused = match limiter.check_key(&key(caller, connection)) {
            Ok(()) => return Ok(()),
            Err(refused) => refused,
        };
        let wait = refused.wait_time_from(limiter.clock().now());
        self.throttled
            .get_or_create(&ClassLabel {
                class: class.as_str(),
            })
            .inc();
        let mut details = ErrorDetails::new();
        details.set_retry_info(Some(wait));
        Err(Status::with_error_details(
            Code::ResourceExhausted,
            format!(
                "too many calls: the {} rate limit is used up; retry in {} ms",
                class.as_str(),
                wait.as_millis().max(1)
            ),
            details,
        ))
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
    /// `causeway_throttled_calls_total{class}`.
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
            "Calls refused by the per-caller rate limits, by the caller's class.",
            Family::default(),
        );
        Self {
            buckets: Arc::new(Buckets {
                classes,
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
    type Future = Either<Ready<Result<http::Response<Body>, S::Error>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let path = request.uri().path();
        if EXEMPT.iter().any(|prefix| path.starts_with(prefix)) {
            return Either::Right(self.inner.call(request));
        }
        let caller = request
            .extensions()
            .get::<Caller>()
            .cloned()
            .unwrap_or_default();
        let connection = request.extensions().get::<ConnectionInfo>();
        match self.buckets.take(&caller, connection) {
            Ok(()) => Either::Right(self.inner.call(request)),
            Err(status) => Either::Left(ready(Ok(status.into_http()))),
        }
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
}
