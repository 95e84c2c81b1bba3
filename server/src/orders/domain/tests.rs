//! Given past events, when a command is decided, then these events (or this refusal).

use super::*;

/// The state after `events`, ready for a decision.
fn given(events: impl IntoIterator<Item = OrderEvent>) -> Given {
    let events: Vec<OrderEvent> = events.into_iter().collect();
    Given(Order::fold(&events))
}

struct Given(Order);

impl Given {
    fn when(self, decide: impl FnOnce(&Order) -> Result<Vec<OrderEvent>, OrderError>) -> Then {
        let decision = decide(&self.0);
        Then(self.0, decision)
    }
}

struct Then(Order, Result<Vec<OrderEvent>, OrderError>);

impl Then {
    /// Asserts the decision and returns the state after applying it.
    fn then(self, expected: impl IntoIterator<Item = OrderEvent>) -> Order {
        let events = self.1.expect("the command should have been accepted");
        assert_eq!(events, expected.into_iter().collect::<Vec<_>>());
        let mut state = self.0;
        events.iter().for_each(|e| state.apply(e));
        state
    }

    fn then_error(self, expected: OrderError) {
        assert_eq!(self.1, Err(expected));
    }
}

const ID: &str = "o-1";

fn line(sku: &str, quantity: u32, unit_price_minor: i64) -> OrderLine {
    OrderLine {
        sku: sku.into(),
        quantity,
        unit_price_minor,
    }
}

fn place(lines: Vec<OrderLine>) -> PlaceOrder {
    PlaceOrder {
        order_id: ID.into(),
        customer_id: "c-1".into(),
        currency: "EUR".into(),
        lines,
    }
}

fn placed() -> OrderEvent {
    OrderEvent::Placed(OrderPlaced {
        order_id: ID.into(),
        customer_id: "c-1".into(),
        currency: "EUR".into(),
        lines: vec![line("a", 2, 250), line("b", 1, 100)],
        total_minor: 600,
    })
}

fn confirmed() -> OrderEvent {
    OrderEvent::Confirmed(OrderConfirmed {
        order_id: ID.into(),
    })
}

fn rejected() -> OrderEvent {
    OrderEvent::Rejected(OrderRejected {
        order_id: ID.into(),
        reason: "no stock".into(),
    })
}

fn cancelled() -> OrderEvent {
    OrderEvent::Cancelled(OrderCancelled {
        order_id: ID.into(),
        reason: "changed mind".into(),
    })
}

fn shipped() -> OrderEvent {
    OrderEvent::Shipped(OrderShipped {
        order_id: ID.into(),
    })
}

fn confirm() -> ConfirmOrder {
    ConfirmOrder {
        order_id: ID.into(),
    }
}

fn reject() -> RejectOrder {
    RejectOrder {
        order_id: ID.into(),
        reason: "no stock".into(),
    }
}

fn cancel() -> CancelOrder {
    CancelOrder {
        order_id: ID.into(),
        reason: "changed mind".into(),
    }
}

fn ship() -> ShipOrder {
    ShipOrder {
        order_id: ID.into(),
    }
}

fn wrong(action: &'static str, status: OrderStatus) -> OrderError {
    OrderError::WrongStatus { action, status }
}

#[test]
fn placing_records_the_lines_and_their_total() {
    let state = given([])
        .when(|s| place_order(s, place(vec![line("a", 2, 250), line("b", 1, 100)])))
        .then([placed()]);
    assert_eq!(state.status, Some(OrderStatus::Placed));
    assert_eq!(state.total_minor, 600);
    assert_eq!(state.customer_id, "c-1");
}

#[test]
fn free_items_are_allowed() {
    let mut expected = placed();
    if let OrderEvent::Placed(p) = &mut expected {
        p.lines = vec![line("gift", 1, 0)];
        p.total_minor = 0;
    }
    given([])
        .when(|s| place_order(s, place(vec![line("gift", 1, 0)])))
        .then([expected]);
}

#[test]
fn no_order_without_lines() {
    given([])
        .when(|s| place_order(s, place(vec![])))
        .then_error(OrderError::NoLines);
}

#[test]
fn quantities_must_be_greater_than_zero() {
    given([])
        .when(|s| place_order(s, place(vec![line("a", 1, 1), line("b", 0, 1)])))
        .then_error(OrderError::ZeroQuantity { line: 1 });
}

#[test]
fn unit_prices_must_not_be_negative() {
    given([])
        .when(|s| place_order(s, place(vec![line("a", 1, -1)])))
        .then_error(OrderError::NegativeUnitPrice { line: 0 });
}

#[test]
fn a_total_that_overflows_is_refused_not_a_panic() {
    given([])
        .when(|s| place_order(s, place(vec![line("a", 2, i64::MAX / 2 + 1)])))
        .then_error(OrderError::TotalOverflow);
    given([])
        .when(|s| place_order(s, place(vec![line("a", 1, i64::MAX), line("b", 1, 1)])))
        .then_error(OrderError::TotalOverflow);
}

#[test]
fn an_order_is_placed_once() {
    given([placed()])
        .when(|s| place_order(s, place(vec![line("a", 1, 1)])))
        .then_error(OrderError::AlreadyPlaced(ID.into()));
}

#[test]
fn confirming_a_placed_order() {
    let state = given([placed()])
        .when(|s| confirm_order(s, confirm()))
        .then([confirmed()]);
    assert_eq!(state.status, Some(OrderStatus::Confirmed));
}

#[test]
fn confirming_only_from_placed() {
    given([placed(), confirmed()])
        .when(|s| confirm_order(s, confirm()))
        .then_error(wrong("confirm", OrderStatus::Confirmed));
    given([placed(), rejected()])
        .when(|s| confirm_order(s, confirm()))
        .then_error(wrong("confirm", OrderStatus::Rejected));
    given([placed(), cancelled()])
        .when(|s| confirm_order(s, confirm()))
        .then_error(wrong("confirm", OrderStatus::Cancelled));
}

#[test]
fn rejecting_a_placed_order() {
    let state = given([placed()])
        .when(|s| reject_order(s, reject()))
        .then([rejected()]);
    assert_eq!(state.status, Some(OrderStatus::Rejected));
}

#[test]
fn rejecting_only_from_placed() {
    given([placed(), confirmed()])
        .when(|s| reject_order(s, reject()))
        .then_error(wrong("reject", OrderStatus::Confirmed));
    given([placed(), rejected()])
        .when(|s| reject_order(s, reject()))
        .then_error(wrong("reject", OrderStatus::Rejected));
}

#[test]
fn cancelling_a_placed_or_confirmed_order() {
    let state = given([placed()])
        .when(|s| cancel_order(s, cancel()))
        .then([cancelled()]);
    assert_eq!(state.status, Some(OrderStatus::Cancelled));
    given([placed(), confirmed()])
        .when(|s| cancel_order(s, cancel()))
        .then([cancelled()]);
}

#[test]
fn a_shipped_order_cannot_be_cancelled() {
    given([placed(), confirmed(), shipped()])
        .when(|s| cancel_order(s, cancel()))
        .then_error(OrderError::CancelAfterShipping);
}

#[test]
fn cancelling_twice_is_refused() {
    given([placed(), cancelled()])
        .when(|s| cancel_order(s, cancel()))
        .then_error(OrderError::AlreadyCancelled);
}

#[test]
fn a_rejected_order_cannot_be_cancelled() {
    given([placed(), rejected()])
        .when(|s| cancel_order(s, cancel()))
        .then_error(wrong("cancel", OrderStatus::Rejected));
}

#[test]
fn shipping_a_confirmed_order() {
    let state = given([placed(), confirmed()])
        .when(|s| ship_order(s, ship()))
        .then([shipped()]);
    assert_eq!(state.status, Some(OrderStatus::Shipped));
}

#[test]
fn shipping_only_from_confirmed() {
    given([placed()])
        .when(|s| ship_order(s, ship()))
        .then_error(wrong("ship", OrderStatus::Placed));
    given([placed(), confirmed(), shipped()])
        .when(|s| ship_order(s, ship()))
        .then_error(wrong("ship", OrderStatus::Shipped));
    given([placed(), cancelled()])
        .when(|s| ship_order(s, ship()))
        .then_error(wrong("ship", OrderStatus::Cancelled));
}

#[test]
fn commands_on_an_order_that_does_not_exist_are_not_found() {
    let unknown = || OrderError::UnknownOrder(ID.into());
    given([])
        .when(|s| confirm_order(s, confirm()))
        .then_error(unknown());
    given([])
        .when(|s| reject_order(s, reject()))
        .then_error(unknown());
    given([])
        .when(|s| cancel_order(s, cancel()))
        .then_error(unknown());
    given([])
        .when(|s| ship_order(s, ship()))
        .then_error(unknown());
}

#[test]
fn errors_map_to_not_found_or_rejected() {
    let not_found = CommandError::from(OrderError::UnknownOrder(ID.into()));
    assert!(matches!(not_found, CommandError::NotFound(what) if what == "order o-1"));
    let rejected = CommandError::from(OrderError::CancelAfterShipping);
    assert!(
        matches!(rejected, CommandError::Rejected(why) if why == "a shipped order cannot be cancelled")
    );
    let rejected = CommandError::from(OrderError::NoLines);
    assert!(matches!(rejected, CommandError::Rejected(_)));
}
