//! Every committed sample of a stored event, at every schema version its type ever had, reads
//! through today's upcasters into today's message, exactly as today's server writes it; and the
//! check notices samples that are missing, mislabelled, incomplete or no longer readable.

use std::collections::BTreeSet;

use causeway_server::{kernel::Upcasters, server::upcasters};
use causeway_tests::contract::{
    Repository, compile_dir,
    events::event_messages,
    fixtures::{FixtureCheck, FixtureProblem, load, verify},
};

use super::{Checkout, ORDER_EVENTS};

const PLACED_V1: &str = "causeway.orders.v1.OrderPlaced/v1.json";
const PRODUCT: &str = "causeway.inventory.v1.ProductRegistered";

fn check(copy: &Checkout, registry: &Upcasters) -> FixtureCheck {
    let repo = copy.repo();
    let fixtures = load(&repo.fixtures_dir()).expect("fixtures load");
    verify(&fixtures, registry, &copy.compile().pool)
}

#[test]
fn every_event_type_at_every_version_decodes_to_todays_message() {
    let repo = Repository::workspace();
    let fixtures = load(&repo.fixtures_dir()).expect("fixtures load");
    let contracts = compile_dir(&repo.proto_dir()).expect("proto/ compiles");
    let check = verify(&fixtures, &upcasters(), &contracts.pool);
    assert!(check.problems.is_empty(), "{:#?}", check.problems);
    assert_eq!(check.decoded.len(), fixtures.len());
    let decoded: BTreeSet<(String, u32)> = check.decoded.iter().cloned().collect();
    for event in event_messages(&contracts.pool) {
        let today = check.versions[event.full_name()];
        for version in 1..=today {
            let sample = (event.full_name().to_owned(), version);
            assert!(decoded.contains(&sample), "{sample:?} has no fixture");
        }
    }
    assert_eq!(
        check.versions[PRODUCT], 2,
        "ProductRegistered is at version 2"
    );
    assert_eq!(check.versions.len(), 26, "{:?}", check.versions);
}

#[test]
fn an_old_version_without_its_upcaster_does_not_read() {
    let check = check(&Checkout::fresh(), &Upcasters::default());
    let problem = check.problems.iter().find(|p| {
        matches!(p, FixtureProblem::Undecodable { fixture, error }
            if fixture == &format!("{PRODUCT}/v1.json") && error.contains("title"))
    });
    assert!(problem.is_some(), "{:#?}", check.problems);
}

#[test]
fn a_renamed_event_field_makes_its_old_samples_unreadable() {
    let copy = Checkout::fresh();
    copy.edit(
        ORDER_EVENTS,
        "message OrderPlaced {",
        "string currency = 3;",
        "string currency_code = 3;",
    );
    let check = check(&copy, &upcasters());
    assert!(
        check.problems.iter().any(|p| matches!(p,
            FixtureProblem::NotTodaysMessage { fixture, reason }
                if fixture == PLACED_V1 && reason.contains("currency"))),
        "{:#?}",
        check.problems
    );
}

#[test]
fn missing_mislabelled_and_incomplete_samples_are_named() {
    let copy = Checkout::fresh();
    let dir = copy.path("tests/fixtures/events");
    std::fs::remove_dir_all(dir.join("causeway.identity.v1.EmailReserved")).unwrap();
    std::fs::remove_file(dir.join(format!("{PRODUCT}/v1.json"))).unwrap();
    let placed = format!("tests/fixtures/events/{PLACED_V1}");
    let text = copy.read(&placed).replace("\"currency\": \"EUR\",", "");
    copy.write(&placed, &text);
    let shipped = "tests/fixtures/events/causeway.orders.v1.OrderShipped/v1.json";
    let text = copy
        .read(shipped)
        .replace("\"schemaVersion\": 1", "\"schemaVersion\": 2");
    copy.write(shipped, &text);
    let problems = check(&copy, &upcasters()).problems;
    for wanted in [
        FixtureProblem::NoFixtures {
            event_type: "causeway.identity.v1.EmailReserved".into(),
        },
        FixtureProblem::MissingVersion {
            event_type: PRODUCT.into(),
            version: 1,
        },
        FixtureProblem::Incomplete {
            fixture: PLACED_V1.into(),
            unset: vec!["currency".into()],
        },
        FixtureProblem::Mislabelled {
            fixture: "causeway.orders.v1.OrderShipped/v1.json".into(),
            reason: "metadata says causeway.orders.v1.OrderShipped version 2".into(),
        },
    ] {
        assert!(problems.contains(&wanted), "{wanted} not in {problems:#?}");
    }
}
