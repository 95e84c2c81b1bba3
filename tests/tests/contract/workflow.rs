//! Making a break deliberately, on a copy of the checkout: it passes only once a new baseline of
//! a major release is recorded, announced in `CHANGELOG.md` and matched by the SDK's version;
//! baselines are never rewritten, and stored events still need their bump.

use causeway_server::server::upcasters;
use causeway_tests::contract::{
    Change, ContractError, EventProblem, accept,
    baselines::{self, next_major},
    check,
    report::HistoryProblem,
};
use semver::Version;

use super::{Checkout, ORDER_EVENTS, ORDERS};

/// The newest baseline of the copy.
fn latest(copy: &Checkout) -> Version {
    let all = baselines::load_all(&copy.repo().baselines_dir()).unwrap();
    all.last().expect("a baseline").version.clone()
}

/// Sets `causeway-client`'s version in the copy.
fn set_sdk_version(copy: &Checkout, version: &Version) {
    let manifest = copy.read("client-sdk/Cargo.toml");
    let mut lines: Vec<String> = manifest.lines().map(str::to_owned).collect();
    let line = lines
        .iter_mut()
        .find(|l| l.starts_with("version"))
        .expect("a version line");
    *line = format!("version = \"{version}\"");
    copy.write("client-sdk/Cargo.toml", &(lines.join("\n") + "\n"));
}

fn announce(copy: &Checkout, version: &Version, entry: &str) {
    let changelog = copy.read("CHANGELOG.md");
    let heading = "## Unreleased\n";
    let announced =
        changelog.replacen(heading, &format!("{heading}\n## {version}\n\n{entry}\n"), 1);
    copy.write("CHANGELOG.md", &announced);
}

#[test]
fn a_deliberate_break_passes_with_a_major_baseline_its_changelog_line_and_the_sdk_version() {
    let copy = Checkout::fresh();
    let (repo, registry) = (copy.repo(), upcasters());
    let report = check(&repo, &registry).unwrap();
    assert!(report.passed(), "{report}");

    copy.remove_block(ORDERS, "", "rpc ShipOrder(");
    let report = check(&repo, &registry).unwrap();
    assert!(!report.passed());
    assert!(
        report
            .breaking
            .iter()
            .any(|f| f.change == Change::RpcRemoved),
        "{report}"
    );

    let old = latest(&copy);
    let minor = Version::new(old.major, old.minor, old.patch + 1);
    let refused = accept(&repo, &minor, &registry).unwrap_err();
    assert!(
        matches!(&refused, ContractError::Refused { reason, .. } if reason.contains("major")),
        "{refused}"
    );

    let major = next_major(&old);
    let accepted = accept(&repo, &major, &registry).unwrap();
    assert!(
        accepted
            .breaking
            .iter()
            .any(|f| f.change == Change::RpcRemoved)
    );
    let report = check(&repo, &registry).unwrap();
    assert!(report.breaking.is_empty(), "{report}");
    let sdk = causeway_tests::contract::changelog::sdk_version(&repo.root).unwrap();
    let unannounced = HistoryProblem::NotAnnounced {
        version: major.clone(),
        digest: accepted.baseline.digest.clone(),
    };
    let behind = HistoryProblem::SdkBehind {
        sdk,
        baseline: major.clone(),
    };
    assert_eq!(
        report.history,
        vec![unannounced, behind.clone()],
        "{report}"
    );

    announce(&copy, &major, &accepted.changelog_entry);
    assert_eq!(check(&repo, &registry).unwrap().history, vec![behind]);
    set_sdk_version(&copy, &major);
    let report = check(&repo, &registry).unwrap();
    assert!(report.passed(), "{report}");
}

#[test]
fn a_rewritten_baseline_is_no_longer_announced() {
    let copy = Checkout::fresh();
    let (repo, registry) = (copy.repo(), upcasters());
    let version = latest(&copy);
    let image = repo.baselines_dir().join(format!("{version}.binpb"));
    copy.remove_block(ORDERS, "", "rpc ShipOrder(");
    std::fs::write(&image, copy.compile().encoded).unwrap();
    let report = check(&repo, &registry).unwrap();
    assert!(
        report.history.iter().any(|p| matches!(p,
            HistoryProblem::NotAnnounced { version: v, .. } if *v == version)),
        "{report}"
    );
    let refused = accept(&repo, &version, &registry).unwrap_err();
    assert!(
        matches!(&refused, ContractError::Refused { reason, .. } if reason.contains("never rewritten")),
        "{refused}"
    );
}

#[test]
fn a_baseline_that_breaks_the_one_before_must_be_a_major_release() {
    let copy = Checkout::fresh();
    let (repo, registry) = (copy.repo(), upcasters());
    let old = latest(&copy);
    let released = baselines::load_all(&repo.baselines_dir()).unwrap();
    let events = released.last().unwrap().events.clone();
    copy.remove_block(ORDERS, "", "rpc ShipOrder(");
    let minor = Version::new(old.major, old.minor, old.patch + 1);
    let written = baselines::write(&repo.baselines_dir(), &minor, &copy.compile(), &events);
    let entry = causeway_tests::contract::changelog::entry(&minor, &written.unwrap().digest);
    announce(&copy, &minor, &entry);
    set_sdk_version(&copy, &minor);
    let report = check(&repo, &registry).unwrap();
    assert!(
        report.history.iter().any(|p| matches!(p,
            HistoryProblem::BreakWithoutMajorBump { from, to, changes }
                if *from == old && *to == minor && changes.iter().any(|c| c.change == Change::RpcRemoved))),
        "{report}"
    );
}

/// `int64` -> `string`: old payloads still parse (64-bit integers are JSON strings), so every
/// sample reads, yet the stored values now mean something else.
fn retype_total(copy: &Checkout) {
    copy.edit(
        ORDER_EVENTS,
        "message OrderPlaced {",
        "int64 total_minor = 5;",
        "string total_minor = 5;",
    );
}

#[test]
fn an_event_change_without_a_version_bump_is_refused_even_when_the_samples_still_read() {
    let copy = Checkout::fresh();
    let (repo, registry) = (copy.repo(), upcasters());
    retype_total(&copy);
    let report = check(&repo, &registry).unwrap();
    assert!(report.fixtures.is_empty(), "{report}");
    assert!(
        report
            .events
            .iter()
            .any(|e| e.event_type == "causeway.orders.v1.OrderPlaced"
                && matches!(
                    e.problem,
                    EventProblem::ChangedWithoutBump { version: 1, .. }
                )),
        "{report}"
    );
    let major = next_major(&latest(&copy));
    let refused = accept(&repo, &major, &registry).unwrap_err();
    assert!(
        matches!(&refused, ContractError::Refused { reason, .. } if reason.contains("stored events")),
        "{refused}"
    );

    // Written past `accept`, the baselines themselves show it.
    let released = baselines::load_all(&repo.baselines_dir()).unwrap();
    let events = released.last().unwrap().events.clone();
    baselines::write(&repo.baselines_dir(), &major, &copy.compile(), &events).unwrap();
    let report = check(&repo, &registry).unwrap();
    assert!(
        report.history.iter().any(|p| matches!(p,
            HistoryProblem::StoredEvents { to, finding, .. }
                if *to == major && matches!(finding.problem, EventProblem::ChangedWithoutBump { .. }))),
        "{report}"
    );
}
