//! What leases tell operators: `causeway_lease_held{lease}` is 1 in the replica that holds the
//! lease and 0 in its standbys, so a dashboard shows who is active and alerts when no replica
//! (or, by a bug, two) report 1; `causeway_lease_fenced_commits_total{lease}` counts commits the
//! store refused because the lease had been granted again, the trace of a former leader that
//! woke up after a pause.

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family, gauge::Gauge},
};

use causeway_telemetry::Metrics;

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct LeaseLabel {
    lease: String,
}

/// The lease families; [`LeaseMetrics::default`] records into families nobody scrapes (tests).
#[derive(Debug, Clone, Default)]
pub struct LeaseMetrics {
    held: Family<LeaseLabel, Gauge>,
    fenced: Family<LeaseLabel, Counter>,
}

impl LeaseMetrics {
    /// The families, registered in `metrics`.
    pub fn register(metrics: &Metrics) -> Self {
        let families = Self::default();
        metrics.register(
            "lease_held",
            "1 while this replica holds the lease (runs the projection or saga), 0 while it \
             stands by.",
            families.held.clone(),
        );
        metrics.register(
            "lease_fenced_commits",
            "Commits refused because the lease had been granted to another replica since.",
            families.fenced.clone(),
        );
        families
    }

    /// Records whether this replica holds `lease`.
    pub fn set_held(&self, lease: &str, held: bool) {
        self.held.get_or_create(&label(lease)).set(i64::from(held));
    }

    /// Counts a commit under `lease` that the store refused.
    pub fn fenced(&self, lease: &str) {
        self.fenced.get_or_create(&label(lease)).inc();
    }

    /// How many commits under `lease` were refused so far.
    pub fn fenced_count(&self, lease: &str) -> u64 {
        self.fenced.get_or_create(&label(lease)).get()
    }
}

fn label(lease: &str) -> LeaseLabel {
    LeaseLabel {
        lease: lease.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_holder_and_refused_commits_show_in_the_exposition() {
        let metrics = Metrics::default();
        let leases = LeaseMetrics::register(&metrics);
        leases.set_held("orders", true);
        leases.set_held("products", false);
        leases.fenced("products");
        let text = metrics.encode();
        assert!(
            text.contains(r#"causeway_lease_held{lease="orders"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"causeway_lease_held{lease="products"} 0"#),
            "{text}"
        );
        assert!(
            text.contains(r#"causeway_lease_fenced_commits_total{lease="products"} 1"#),
            "{text}"
        );
        assert_eq!(leases.fenced_count("products"), 1);
    }
}
