//! The process's log and span filter: `level` or `target=level` directives (`info`,
//! `causeway_server=debug,h2=warn`, `off`), replaceable while the process runs. It decides per
//! callsite, once: tracing keeps the answer until the filter is replaced, so opening,
//! entering and closing a span never consult it. That is why it is not `EnvFilter` behind
//! `reload`, which take a lock on every span entry and exit (scenario 9 of the benchmark
//! measured it); what it gives up is `EnvFilter`'s span and field directives.

use std::sync::{Arc, RwLock};

use tracing::{Metadata, Subscriber, level_filters::LevelFilter, subscriber::Interest};
use tracing_subscriber::{filter::Targets, layer::Context};

use crate::logs::TelemetryError;

/// The filter layer, and the handle that replaces its directives (a clone).
#[derive(Clone)]
pub(crate) struct Switch {
    directives: Arc<RwLock<Targets>>,
}

impl Switch {
    /// A filter from `filter`.
    pub(crate) fn new(filter: &str) -> Result<Self, TelemetryError> {
        Ok(Self {
            directives: Arc::new(RwLock::new(parse(filter)?)),
        })
    }

    /// Replaces the directives; every callsite's cached decision is made again.
    pub(crate) fn set(&self, filter: &str) -> Result<(), TelemetryError> {
        let parsed = parse(filter)?;
        *self.directives.write().unwrap_or_else(|e| e.into_inner()) = parsed;
        tracing::callsite::rebuild_interest_cache();
        Ok(())
    }

    fn enables(&self, metadata: &Metadata<'_>) -> bool {
        self.directives
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .would_enable(metadata.target(), metadata.level())
    }
}

fn parse(filter: &str) -> Result<Targets, TelemetryError> {
    filter.parse().map_err(|e| TelemetryError::Filter {
        filter: filter.to_owned(),
        reason: format!("{e}"),
    })
}

impl<S: Subscriber> tracing_subscriber::Layer<S> for Switch {
    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        if self.enables(metadata) {
            Interest::always()
        } else {
            Interest::never()
        }
    }

    fn enabled(&self, metadata: &Metadata<'_>, _: Context<'_, S>) -> bool {
        self.enables(metadata)
    }

    /// The most verbose level any directive enables, so tracing skips the rest before asking.
    fn max_level_hint(&self) -> Option<LevelFilter> {
        let directives = self.directives.read().unwrap_or_else(|e| e.into_inner());
        let levels = directives.iter().map(|(_, level)| level);
        Some(
            directives
                .default_level()
                .into_iter()
                .chain(levels)
                .max()
                .unwrap_or(LevelFilter::OFF),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directives_decide_by_target_and_level_and_can_be_replaced() {
        let switch = Switch::new("causeway_telemetry=info").unwrap();
        let subscriber = tracing_subscriber::layer::SubscriberExt::with(
            tracing_subscriber::registry(),
            switch.clone(),
        );
        tracing::subscriber::with_default(subscriber, || {
            assert!(tracing::enabled!(tracing::Level::INFO));
            assert!(!tracing::enabled!(tracing::Level::DEBUG));
            assert!(!tracing::enabled!(target: "h2", tracing::Level::ERROR));
            switch.set("off").unwrap();
            assert!(!tracing::enabled!(tracing::Level::ERROR));
            switch.set("debug,h2=off").unwrap();
            assert!(tracing::enabled!(tracing::Level::DEBUG));
            assert!(!tracing::enabled!(target: "h2", tracing::Level::ERROR));
        });
    }

    #[test]
    fn a_filter_that_does_not_parse_is_refused_with_the_reason() {
        let refused = Switch::new("causeway=loud").err().expect("refused");
        let message = refused.to_string();
        assert!(message.contains("causeway=loud"), "{message}");
    }
}
