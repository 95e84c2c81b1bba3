//! The stricter rule for stored events, on copies of `proto/`: a change that stored JSON may not
//! read under needs a schema-version bump and an upcaster from the version before.

use causeway_server::server::upcasters;
use causeway_tests::contract::{
    EventFinding, EventProblem, EventRule, EventVersions, breaking_changes, events::event_messages,
    fixtures::has_upcaster, stored_event_findings,
};

use super::{Checkout, ORDER_EVENTS, ORDERS};

const PLACED: &str = "causeway.orders.v1.OrderPlaced";
const PLACED_MSG: &str = "message OrderPlaced {";

/// Runs the rule on `edit` of a copy, with the baseline's versions as released in 0.1.0 and
/// today's versions `bumped` from them; `upcaster` says which (type, version) steps exist.
fn rule(
    edit: impl FnOnce(&Checkout),
    bumped: &[(&str, u32)],
    upcaster: impl Fn(&str, u32) -> bool,
) -> Vec<EventFinding> {
    let copy = Checkout::fresh();
    let baseline = copy.compile();
    edit(&copy);
    let current = copy.compile();
    let released: EventVersions = event_messages(&baseline.pool)
        .iter()
        .map(|m| (m.full_name().to_owned(), 1))
        .collect();
    let mut today: EventVersions = event_messages(&current.pool)
        .iter()
        .map(|m| (m.full_name().to_owned(), 1))
        .collect();
    for (event_type, version) in bumped {
        today.insert((*event_type).to_owned(), *version);
    }
    let findings = breaking_changes(&baseline.pool, &current.pool);
    stored_event_findings(
        &EventRule {
            baseline: &baseline.pool,
            baseline_versions: &released,
            current: &current.pool,
            current_versions: &today,
            has_upcaster: &upcaster,
        },
        &findings,
    )
}

fn rename_currency(c: &Checkout) {
    c.edit(
        ORDER_EVENTS,
        PLACED_MSG,
        "string currency = 3;",
        "string currency_code = 3;",
    );
}

#[test]
fn a_renamed_event_field_without_a_version_bump_is_refused() {
    let findings = rule(rename_currency, &[], |_, _| false);
    assert_eq!(findings.len(), 1, "{findings:#?}");
    let EventProblem::ChangedWithoutBump { version, changes } = &findings[0].problem else {
        panic!("{findings:#?}");
    };
    assert_eq!((findings[0].event_type.as_str(), *version), (PLACED, 1));
    assert!(changes[0].contains("currency_code"), "{changes:?}");
}

#[test]
fn a_change_to_a_message_an_event_contains_counts_as_a_change_to_the_event() {
    let findings = rule(
        |c| {
            c.edit(
                ORDERS,
                "message OrderLine {",
                "uint32 quantity = 2;",
                "string quantity = 2;",
            );
        },
        &[],
        |_, _| false,
    );
    assert!(
        findings.iter().any(|f| f.event_type == PLACED
            && matches!(&f.problem, EventProblem::ChangedWithoutBump { changes, .. }
                if changes[0].contains("causeway.orders.v1.OrderLine"))),
        "{findings:#?}"
    );
}

#[test]
fn a_bump_needs_an_upcaster_from_the_version_before() {
    let upcast = rule(rename_currency, &[(PLACED, 2)], |t, v| {
        (t, v) == (PLACED, 1)
    });
    assert!(upcast.is_empty(), "{upcast:#?}");
    let missing = rule(rename_currency, &[(PLACED, 2)], |_, _| false);
    let wanted = EventFinding {
        event_type: PLACED.into(),
        problem: EventProblem::NoUpcaster { from: 1 },
    };
    assert_eq!(missing, vec![wanted]);
}

#[test]
fn changes_invisible_in_stored_json_need_no_bump() {
    let renumbered = rule(
        |c| {
            c.edit(
                ORDER_EVENTS,
                PLACED_MSG,
                "string currency = 3;",
                "string currency = 7;",
            );
        },
        &[],
        |_, _| false,
    );
    assert!(
        renumbered.is_empty(),
        "JSON has no field numbers: {renumbered:#?}"
    );
    let added = rule(
        |c| {
            c.edit(
                ORDER_EVENTS,
                PLACED_MSG,
                "bool awaits_fulfilment = 6;",
                "bool awaits_fulfilment = 6; string channel = 7;",
            );
        },
        &[],
        |_, _| false,
    );
    assert!(
        added.is_empty(),
        "old payloads lack the new field: {added:#?}"
    );
}

#[test]
fn a_removed_event_message_or_a_lowered_version_is_refused() {
    let removed = rule(
        |c| {
            c.remove_block(ORDER_EVENTS, "", "message OrderShipped {");
        },
        &[],
        |_, _| false,
    );
    let wanted = EventFinding {
        event_type: "causeway.orders.v1.OrderShipped".into(),
        problem: EventProblem::Removed,
    };
    assert_eq!(removed, vec![wanted]);
    let lowered = rule(|_| {}, &[(PLACED, 0)], |_, _| false);
    let wanted = EventFinding {
        event_type: PLACED.into(),
        problem: EventProblem::VersionLowered { from: 1, to: 0 },
    };
    assert_eq!(lowered, vec![wanted]);
}

#[test]
fn the_servers_upcasters_are_found_where_they_are() {
    let registry = upcasters();
    let product = "causeway.inventory.v1.ProductRegistered";
    assert!(has_upcaster(&registry, product, 1));
    assert!(!has_upcaster(&registry, product, 2));
    assert!(!has_upcaster(&registry, PLACED, 1));
}
