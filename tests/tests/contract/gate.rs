//! The gate itself: this checkout's contracts against its newest baseline. An unannounced break
//! of `proto/`, a stored event changed without its bump and upcaster, a fixture that no longer
//! reads, or a baseline without its changelog line fails here, and so in CI.

use causeway_server::server::upcasters;
use causeway_tests::contract::{Repository, check};

#[test]
fn this_checkout_passes_the_contract_gate() {
    let report = check(&Repository::workspace(), &upcasters()).expect("the gate runs");
    assert!(
        report.passed(),
        "{report}\nA deliberate break needs a new baseline: see README \"Changing the contracts\"."
    );
    assert!(report.baseline.is_some(), "{report}");
}
