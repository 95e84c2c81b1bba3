//! Given past events, when news, a clock reading or a step's outcome is decided, then these
//! events; and given a state, the next step. Every branch of every decision.

use super::*;
use crate::fulfilment::domain::{Status, deadline_reason};
use crate::fulfilment::values::{Quantity, ReservationId, Sku};
use crate::kernel::Aggregate;

fn given(events: impl IntoIterator<Item = FulfilmentEvent>) -> Given {
    let events: Vec<FulfilmentEvent> = events.into_iter().collect();
    Given(Fulfilment::fold(&events))
}

struct Given(Fulfilment);

impl Given {
    fn when(self, decide: impl FnOnce(&Fulfilment) -> Decided) -> Then {
        let decision = decide(&self.0);
        Then(self.0, decision)
    }

    /// The step the fulfilment takes next in this state.
    fn next(&self) -> Option<Step> {
        next_step(&self.0)
    }
}

struct Then(Fulfilment, Decided);

impl Then {
    /// Asserts the decision and returns the state after it.
    fn then(self, expected: impl IntoIterator<Item = FulfilmentEvent>) -> Given {
        let events = self.1.expect("fulfilment decisions never refuse");
        assert_eq!(events, expected.into_iter().collect::<Vec<_>>());
        let mut state = self.0;
        events.iter().for_each(|e| state.apply(e));
        Given(state)
    }

    /// Asserts that nothing is decided.
    fn then_nothing(self) -> Given {
        self.then([])
    }
}

fn id() -> OrderId {
    OrderId::parse("o-1").unwrap()
}

fn reason(text: &str) -> Reason {
    Reason::parse(text).unwrap()
}

/// Line `n`: 2 units of `sku-n` under `order-o-1-n`.
fn plan(n: u32) -> PlannedLine {
    PlannedLine {
        sku: Sku::parse(&format!("sku-{n}")).unwrap(),
        quantity: Quantity::parse(2).unwrap(),
        reservation_id: ReservationId::parse(&format!("order-o-1-{n}")).unwrap(),
    }
}

const DEADLINE: u64 = 1_000_000;

fn started(lines: u32) -> FulfilmentEvent {
    FulfilmentEvent::Started {
        order_id: id(),
        lines: (0..lines).map(plan).collect(),
        deadline: Timestamp::from_millis(DEADLINE),
    }
}

fn reserved(n: u32) -> FulfilmentEvent {
    FulfilmentEvent::LineReserved {
        order_id: id(),
        line: n,
        plan: plan(n),
    }
}

fn refused(n: u32, why: &str) -> FulfilmentEvent {
    FulfilmentEvent::LineRefused {
        order_id: id(),
        line: n,
        sku: plan(n).sku,
        reason: reason(why),
    }
}

fn released(n: u32, quantity: u64) -> FulfilmentEvent {
    FulfilmentEvent::LineReleased {
        order_id: id(),
        line: n,
        sku: plan(n).sku,
        quantity,
        reservation_id: plan(n).reservation_id,
    }
}

fn committed(n: u32) -> FulfilmentEvent {
    FulfilmentEvent::LineCommitted {
        order_id: id(),
        line: n,
        plan: plan(n),
    }
}

fn confirmed() -> FulfilmentEvent {
    FulfilmentEvent::Confirmed { order_id: id() }
}

fn rejected(why: Reason) -> FulfilmentEvent {
    FulfilmentEvent::Rejected {
        order_id: id(),
        reason: why,
    }
}

fn withdrawn(rejected: bool, why: &str) -> FulfilmentEvent {
    FulfilmentEvent::WithdrawalNoticed {
        order_id: id(),
        rejected,
        reason: reason(why),
    }
}

fn shipped() -> FulfilmentEvent {
    FulfilmentEvent::ShipmentNoticed { order_id: id() }
}

fn deadline_passed() -> FulfilmentEvent {
    FulfilmentEvent::DeadlinePassed {
        order_id: id(),
        deadline: Timestamp::from_millis(DEADLINE),
    }
}

fn step_refused(step: RefusedStep, why: &str) -> FulfilmentEvent {
    FulfilmentEvent::StepRefused {
        order_id: id(),
        step,
        reason: reason(why),
    }
}

fn start_cmd(lines: u32) -> StartFulfilment {
    StartFulfilment {
        order_id: id(),
        lines: (0..lines).map(plan).collect(),
        deadline: Timestamp::from_millis(DEADLINE),
    }
}

fn news(news: OrderNews) -> NoticeOrder {
    NoticeOrder {
        order_id: id(),
        news,
    }
}

fn cancellation(why: &str) -> NoticeOrder {
    news(OrderNews::Withdrawn {
        rejected: false,
        reason: reason(why),
    })
}

fn rejection(why: Reason) -> NoticeOrder {
    news(OrderNews::Withdrawn {
        rejected: true,
        reason: why,
    })
}

fn at(millis: u64) -> CheckDeadline {
    CheckDeadline {
        order_id: id(),
        now: Timestamp::from_millis(millis),
    }
}

fn outcome(step: Step, outcome: Outcome) -> RecordStep {
    RecordStep {
        order_id: id(),
        step,
        outcome,
    }
}

fn done(step: Step) -> RecordStep {
    outcome(step, Outcome::Done)
}

fn refusal(step: Step, why: &str) -> RecordStep {
    outcome(step, Outcome::Refused(reason(why)))
}

fn states(given: &Given) -> Vec<LineState> {
    given.0.lines().iter().map(|l| l.state).collect()
}

const NOT_ENOUGH: &str = "not enough sku-1: 2 requested, 1 available";

// --- starting -------------------------------------------------------------------------------

#[test]
fn a_placed_order_starts_its_fulfilment_with_one_reservation_per_line() {
    let state = given([])
        .when(|s| start(s, &start_cmd(2)))
        .then([started(2)]);
    assert_eq!(state.0.status(), Some(Status::Reserving));
    assert_eq!(state.next(), Some(Step::Reserve(0)));
}

#[test]
fn a_fulfilment_starts_once() {
    given([started(2)])
        .when(|s| start(s, &start_cmd(2)))
        .then_nothing();
}

#[test]
fn an_order_without_lines_is_not_started() {
    let state = given([]).when(|s| start(s, &start_cmd(0))).then_nothing();
    assert_eq!(state.0.status(), None);
    assert_eq!(state.next(), None);
}

// --- the happy path and its steps -----------------------------------------------------------

#[test]
fn lines_are_reserved_in_order_then_the_order_is_confirmed() {
    let state = given([started(2)])
        .when(|s| record(s, &done(Step::Reserve(0))))
        .then([reserved(0)]);
    assert_eq!(state.next(), Some(Step::Reserve(1)));
    let state = state
        .when(|s| record(s, &done(Step::Reserve(1))))
        .then([reserved(1)]);
    assert_eq!(state.next(), Some(Step::Confirm));
    let state = state
        .when(|s| record(s, &done(Step::Confirm)))
        .then([confirmed()]);
    assert_eq!(state.0.status(), Some(Status::Confirmed));
    assert_eq!(state.next(), None, "waits for shipping or cancellation");
}

#[test]
fn an_answer_to_a_step_not_asked_for_is_stale_and_decides_nothing() {
    given([started(2)])
        .when(|s| record(s, &done(Step::Reserve(1))))
        .then_nothing();
    given([started(2), reserved(0)])
        .when(|s| record(s, &done(Step::Reserve(0))))
        .then_nothing();
    given([started(1), reserved(0), confirmed()])
        .when(|s| record(s, &done(Step::Confirm)))
        .then_nothing();
    given([])
        .when(|s| record(s, &done(Step::Confirm)))
        .then_nothing();
}

// --- a line that cannot be reserved -----------------------------------------------------------

#[test]
fn a_refused_line_releases_what_was_reserved_then_rejects_with_its_reason() {
    let state = given([started(3), reserved(0)])
        .when(|s| record(s, &refusal(Step::Reserve(1), NOT_ENOUGH)))
        .then([refused(1, NOT_ENOUGH)]);
    assert_eq!(
        states(&state),
        [LineState::Reserved, LineState::Refused, LineState::Skipped],
        "the line after the refused one was never tried"
    );
    assert_eq!(state.0.status(), Some(Status::Rejecting));
    assert_eq!(state.next(), Some(Step::Release(0)));
    let state = state
        .when(|s| record(s, &done(Step::Release(0))))
        .then([released(0, 2)]);
    assert_eq!(state.next(), Some(Step::Reject(reason(NOT_ENOUGH))));
    let state = state
        .when(|s| record(s, &done(Step::Reject(reason(NOT_ENOUGH)))))
        .then([rejected(reason(NOT_ENOUGH))]);
    assert_eq!(state.0.status(), Some(Status::Rejected));
    assert_eq!(state.0.reason(), Some(&reason(NOT_ENOUGH)));
    assert_eq!(state.next(), None);
}

#[test]
fn a_first_line_refused_rejects_at_once() {
    let state = given([started(2)])
        .when(|s| record(s, &refusal(Step::Reserve(0), "unknown product sku-0")))
        .then([refused(0, "unknown product sku-0")]);
    assert_eq!(
        state.next(),
        Some(Step::Reject(reason("unknown product sku-0")))
    );
}

#[test]
fn a_release_of_a_reservation_that_held_nothing_records_zero_units() {
    given([started(2), reserved(0), refused(1, NOT_ENOUGH)])
        .when(|s| record(s, &refusal(Step::Release(0), "holds nothing any more")))
        .then([released(0, 0)]);
}

#[test]
fn a_refused_rejection_waits_for_the_orders_news() {
    let state = given([started(1), refused(0, NOT_ENOUGH)])
        .when(|s| {
            record(
                s,
                &refusal(
                    Step::Reject(reason(NOT_ENOUGH)),
                    "cannot reject an order that is cancelled",
                ),
            )
        })
        .then([step_refused(
            RefusedStep::Reject,
            "cannot reject an order that is cancelled",
        )]);
    assert_eq!(state.0.status(), Some(Status::Waiting));
    assert_eq!(state.next(), None);
}

// --- cancellation and withdrawal --------------------------------------------------------------

#[test]
fn news_of_an_order_fulfilment_does_not_handle_decides_nothing() {
    given([])
        .when(|s| notice(s, &cancellation("changed my mind")))
        .then_nothing();
    given([])
        .when(|s| notice(s, &news(OrderNews::Shipped)))
        .then_nothing();
}

#[test]
fn cancelled_after_confirmation_every_reservation_is_released() {
    let state = given([started(2), reserved(0), reserved(1), confirmed()])
        .when(|s| notice(s, &cancellation("changed my mind")))
        .then([withdrawn(false, "changed my mind")]);
    assert_eq!(state.0.status(), Some(Status::Releasing));
    assert_eq!(state.next(), Some(Step::Release(0)));
    let state = state
        .when(|s| record(s, &done(Step::Release(0))))
        .then([released(0, 2)]);
    assert_eq!(state.next(), Some(Step::Release(1)));
    let state = state
        .when(|s| record(s, &done(Step::Release(1))))
        .then([released(1, 2)]);
    assert_eq!(state.0.status(), Some(Status::Released));
    assert_eq!(state.next(), None);
}

#[test]
fn cancelled_while_reserving_releases_the_reserved_lines_and_the_one_perhaps_in_flight() {
    let state = given([started(3), reserved(0)])
        .when(|s| notice(s, &cancellation("changed my mind")))
        .then([withdrawn(false, "changed my mind")]);
    assert_eq!(
        states(&state),
        [
            LineState::Reserved,
            LineState::Uncertain,
            LineState::Skipped
        ]
    );
    assert_eq!(state.next(), Some(Step::Release(0)));
    let state = state
        .when(|s| record(s, &done(Step::Release(0))))
        .then([released(0, 2)]);
    assert_eq!(state.next(), Some(Step::Release(1)));
    let state = state
        .when(|s| record(s, &refusal(Step::Release(1), "reservation not found")))
        .then([released(1, 0)]);
    assert_eq!(state.next(), None);
    assert_eq!(state.0.status(), Some(Status::Released));
}

#[test]
fn a_confirmation_refused_because_the_order_moved_on_waits_for_its_news() {
    let why = "cannot confirm an order that is cancelled";
    let state = given([started(1), reserved(0)])
        .when(|s| record(s, &refusal(Step::Confirm, why)))
        .then([step_refused(RefusedStep::Confirm, why)]);
    assert_eq!(state.0.status(), Some(Status::Waiting));
    assert_eq!(state.next(), None);
    let state = state
        .when(|s| notice(s, &cancellation("changed my mind")))
        .then([withdrawn(false, "changed my mind")]);
    assert_eq!(state.next(), Some(Step::Release(0)));
}

#[test]
fn rejected_by_staff_while_reserving_releases_like_a_cancellation() {
    let state = given([started(2), reserved(0)])
        .when(|s| notice(s, &rejection(reason("fraud suspected"))))
        .then([withdrawn(true, "fraud suspected")]);
    assert_eq!(state.0.status(), Some(Status::Releasing));
    assert_eq!(state.next(), Some(Step::Release(0)));
}

#[test]
fn a_withdrawal_is_noticed_once() {
    given([started(1), reserved(0), confirmed(), withdrawn(false, "x")])
        .when(|s| notice(s, &cancellation("x")))
        .then_nothing();
}

#[test]
fn the_echo_of_fulfilments_own_rejection_decides_nothing() {
    given([
        started(1),
        refused(0, NOT_ENOUGH),
        rejected(reason(NOT_ENOUGH)),
    ])
    .when(|s| notice(s, &rejection(reason(NOT_ENOUGH))))
    .then_nothing();
}

#[test]
fn its_own_rejection_landing_before_it_was_recorded_is_recorded_from_the_news() {
    let state = given([started(1), refused(0, NOT_ENOUGH)])
        .when(|s| notice(s, &rejection(reason(NOT_ENOUGH))))
        .then([rejected(reason(NOT_ENOUGH))]);
    assert_eq!(state.0.status(), Some(Status::Rejected));
    assert_eq!(state.next(), None);
}

#[test]
fn a_staff_rejection_during_fulfilments_own_rejection_turns_it_into_a_release() {
    let state = given([started(2), reserved(0), refused(1, NOT_ENOUGH)])
        .when(|s| notice(s, &rejection(reason("fraud suspected"))))
        .then([withdrawn(true, "fraud suspected")]);
    assert_eq!(state.next(), Some(Step::Release(0)));
    let state = state
        .when(|s| record(s, &done(Step::Release(0))))
        .then([released(0, 2)]);
    assert_eq!(state.next(), None, "no rejection of its own any more");
}

// --- shipping -------------------------------------------------------------------------------

#[test]
fn a_shipped_order_commits_every_reservation() {
    let state = given([started(2), reserved(0), reserved(1), confirmed()])
        .when(|s| notice(s, &news(OrderNews::Shipped)))
        .then([shipped()]);
    assert_eq!(state.0.status(), Some(Status::Shipping));
    assert_eq!(state.next(), Some(Step::Commit(0)));
    let state = state
        .when(|s| record(s, &done(Step::Commit(0))))
        .then([committed(0)]);
    assert_eq!(state.next(), Some(Step::Commit(1)));
    let state = state
        .when(|s| record(s, &done(Step::Commit(1))))
        .then([committed(1)]);
    assert_eq!(state.0.status(), Some(Status::Shipped));
    assert_eq!(state.next(), None);
}

#[test]
fn a_commit_refused_because_the_reservation_holds_nothing_is_recorded_and_passed() {
    let why = "a reservation is released once: order-o-1-0 holds nothing any more";
    let state = given([started(2), reserved(0), reserved(1), confirmed(), shipped()])
        .when(|s| record(s, &refusal(Step::Commit(0), why)))
        .then([step_refused(RefusedStep::Commit(0), why)]);
    assert_eq!(state.next(), Some(Step::Commit(1)));
}

#[test]
fn shipping_is_noticed_once_and_ends_no_other_ending() {
    given([started(1), reserved(0), confirmed(), shipped()])
        .when(|s| notice(s, &news(OrderNews::Shipped)))
        .then_nothing();
    given([started(1), reserved(0), confirmed(), shipped()])
        .when(|s| notice(s, &cancellation("too late")))
        .then_nothing();
    given([started(1), reserved(0), confirmed(), withdrawn(false, "x")])
        .when(|s| notice(s, &news(OrderNews::Shipped)))
        .then_nothing();
}

#[test]
fn an_uncertain_line_of_a_shipped_order_is_released_not_committed() {
    let state = given([started(2), reserved(0), shipped()]);
    assert_eq!(states(&state), [LineState::Reserved, LineState::Uncertain]);
    assert_eq!(state.next(), Some(Step::Commit(0)));
    let state = state
        .when(|s| record(s, &done(Step::Commit(0))))
        .then([committed(0)]);
    assert_eq!(state.next(), Some(Step::Release(1)));
}

// --- the deadline ---------------------------------------------------------------------------

#[test]
fn before_its_deadline_nothing_happens() {
    given([started(2), reserved(0)])
        .when(|s| check_deadline(s, &at(DEADLINE - 1)))
        .then_nothing();
}

#[test]
fn past_its_deadline_an_order_still_reserving_is_released_and_rejected() {
    let state = given([started(3), reserved(0)])
        .when(|s| check_deadline(s, &at(DEADLINE)))
        .then([deadline_passed()]);
    assert_eq!(
        states(&state),
        [
            LineState::Reserved,
            LineState::Uncertain,
            LineState::Skipped
        ],
        "line 1 was next: its reservation may have been made before a crash"
    );
    let why = deadline_reason(Timestamp::from_millis(DEADLINE));
    assert!(why.as_str().contains("by the deadline"), "{why}");
    assert_eq!(state.0.status(), Some(Status::Rejecting));
    assert_eq!(state.next(), Some(Step::Release(0)));
    let state = state
        .when(|s| record(s, &done(Step::Release(0))))
        .then([released(0, 2)]);
    assert_eq!(state.next(), Some(Step::Release(1)));
    let state = state
        .when(|s| record(s, &refusal(Step::Release(1), "reservation not found")))
        .then([released(1, 0)]);
    assert_eq!(state.next(), Some(Step::Reject(why.clone())));
    let state = state
        .when(|s| record(s, &done(Step::Reject(why.clone()))))
        .then([rejected(why)]);
    assert_eq!(state.0.status(), Some(Status::Rejected));
}

#[test]
fn a_deadline_after_every_line_is_reserved_or_the_order_is_settled_is_ignored() {
    let late = || at(DEADLINE + 60_000);
    given([started(2), reserved(0), reserved(1)])
        .when(|s| check_deadline(s, &late()))
        .then_nothing();
    given([started(1), reserved(0), confirmed()])
        .when(|s| check_deadline(s, &late()))
        .then_nothing();
    given([
        started(1),
        refused(0, NOT_ENOUGH),
        rejected(reason(NOT_ENOUGH)),
    ])
    .when(|s| check_deadline(s, &late()))
    .then_nothing();
    given([started(1), withdrawn(false, "x")])
        .when(|s| check_deadline(s, &late()))
        .then_nothing();
    given([started(2), deadline_passed()])
        .when(|s| check_deadline(s, &late()))
        .then_nothing();
    given([
        started(1),
        reserved(0),
        step_refused(RefusedStep::Confirm, "x"),
    ])
    .when(|s| check_deadline(s, &late()))
    .then_nothing();
    given([])
        .when(|s| check_deadline(s, &late()))
        .then_nothing();
}

// --- statuses -------------------------------------------------------------------------------

#[test]
fn every_status_follows_from_the_events() {
    let status = |events: Vec<FulfilmentEvent>| Fulfilment::fold(&events).status();
    assert_eq!(status(vec![]), None);
    assert_eq!(status(vec![started(1)]), Some(Status::Reserving));
    assert_eq!(
        status(vec![started(1), reserved(0), confirmed()]),
        Some(Status::Confirmed)
    );
    assert_eq!(
        status(vec![started(1), deadline_passed()]),
        Some(Status::Rejecting)
    );
    assert_eq!(
        status(vec![
            started(1),
            refused(0, NOT_ENOUGH),
            rejected(reason(NOT_ENOUGH))
        ]),
        Some(Status::Rejected)
    );
    assert_eq!(
        status(vec![started(1), reserved(0), withdrawn(false, "x")]),
        Some(Status::Releasing)
    );
    assert_eq!(
        status(vec![
            started(1),
            reserved(0),
            withdrawn(false, "x"),
            released(0, 2)
        ]),
        Some(Status::Released)
    );
    assert_eq!(
        status(vec![started(1), reserved(0), confirmed(), shipped()]),
        Some(Status::Shipping)
    );
    assert_eq!(
        status(vec![
            started(1),
            reserved(0),
            confirmed(),
            shipped(),
            committed(0)
        ]),
        Some(Status::Shipped)
    );
    assert_eq!(
        status(vec![
            started(1),
            reserved(0),
            step_refused(RefusedStep::Confirm, "x")
        ]),
        Some(Status::Waiting)
    );
}
