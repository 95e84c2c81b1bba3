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

fn id() -> OrderId {
    OrderId::parse(ID).unwrap()
}

fn line(sku: &str, quantity: u64, unit_price_minor: i64) -> OrderLine {
    OrderLine {
        sku: Sku::parse(sku).unwrap(),
        quantity: Quantity::parse(quantity).unwrap(),
        unit_price: Money::parse(unit_price_minor).unwrap(),
    }
}

fn reason(text: &str) -> Reason {
    Reason::parse(text).unwrap()
}

fn place(lines: Vec<OrderLine>) -> PlaceOrder {
    PlaceOrder {
        order_id: id(),
        customer_id: CustomerId::parse("c-1").unwrap(),
        currency: Currency::parse("EUR").unwrap(),
        lines,
        awaits_fulfilment: false,
    }
}

fn placed_with(lines: Vec<OrderLine>, total_minor: i64) -> OrderEvent {
    OrderEvent::Placed {
        order_id: id(),
        customer_id: CustomerId::parse("c-1").unwrap(),
        currency: Currency::parse("EUR").unwrap(),
        lines,
        total: Money::parse(total_minor).unwrap(),
        awaits_fulfilment: false,
    }
}

/// An order placed while the deployment runs fulfilment.
fn placed_for_fulfilment() -> OrderEvent {
    match placed() {
        OrderEvent::Placed {
            order_id,
            customer_id,
            currency,
            lines,
            total,
            ..
        } => OrderEvent::Placed {
            order_id,
            customer_id,
            currency,
            lines,
            total,
            awaits_fulfilment: true,
        },
        other => other,
    }
}

fn placed() -> OrderEvent {
    placed_with(vec![line("a", 2, 250), line("b", 1, 100)], 600)
}

fn confirmed() -> OrderEvent {
    OrderEvent::Confirmed { order_id: id() }
}

fn rejected() -> OrderEvent {
    OrderEvent::Rejected {
        order_id: id(),
        reason: reason("no stock"),
    }
}

fn cancelled() -> OrderEvent {
    OrderEvent::Cancelled {
        order_id: id(),
        reason: reason("changed mind"),
    }
}

fn shipped() -> OrderEvent {
    OrderEvent::Shipped { order_id: id() }
}

fn confirm() -> ConfirmOrder {
    ConfirmOrder {
        order_id: id(),
        by: Confirmer::Staff,
    }
}

fn confirm_by_fulfilment() -> ConfirmOrder {
    ConfirmOrder {
        order_id: id(),
        by: Confirmer::Fulfilment,
    }
}

fn reject() -> RejectOrder {
    RejectOrder {
        order_id: id(),
        reason: reason("no stock"),
    }
}

fn cancel() -> CancelOrder {
    CancelOrder {
        order_id: id(),
        reason: reason("changed mind"),
        requested_by: None,
    }
}

fn ship() -> ShipOrder {
    ShipOrder { order_id: id() }
}

fn wrong(action: &'static str, status: OrderStatus) -> OrderError {
    OrderError::WrongStatus { action, status }
}

#[test]
fn placing_records_the_lines_and_their_total() {
    let state = given([])
        .when(|s| place_order(s, &place(vec![line("a", 2, 250), line("b", 1, 100)])))
        .then([placed()]);
    assert_eq!(state.status(), Some(OrderStatus::Placed));
    assert_eq!(state.total().minor(), 600);
    assert_eq!(state.customer_id().as_str(), "c-1");
}

#[test]
fn free_items_are_allowed() {
    let expected = placed_with(vec![line("gift", 1, 0)], 0);
    given([])
        .when(|s| place_order(s, &place(vec![line("gift", 1, 0)])))
        .then([expected]);
}

#[test]
fn no_order_without_lines() {
    given([])
        .when(|s| place_order(s, &place(vec![])))
        .then_error(OrderError::NoLines);
}

#[test]
fn a_total_that_overflows_is_refused_not_a_panic() {
    given([])
        .when(|s| place_order(s, &place(vec![line("a", 2, i64::MAX / 2 + 1)])))
        .then_error(OrderError::TotalOverflow);
    given([])
        .when(|s| place_order(s, &place(vec![line("a", 1, i64::MAX), line("b", 1, 1)])))
        .then_error(OrderError::TotalOverflow);
}

#[test]
fn an_order_is_placed_once() {
    given([placed()])
        .when(|s| place_order(s, &place(vec![line("a", 1, 1)])))
        .then_error(OrderError::AlreadyPlaced(id()));
}

#[test]
fn confirming_a_placed_order() {
    let state = given([placed()])
        .when(|s| confirm_order(s, &confirm()))
        .then([confirmed()]);
    assert_eq!(state.status(), Some(OrderStatus::Confirmed));
}

#[test]
fn an_order_placed_for_fulfilment_records_it() {
    let command = PlaceOrder {
        awaits_fulfilment: true,
        ..place(vec![line("a", 2, 250), line("b", 1, 100)])
    };
    let state = given([])
        .when(|s| place_order(s, &command))
        .then([placed_for_fulfilment()]);
    assert!(state.awaits_fulfilment());
}

#[test]
fn staff_cannot_confirm_an_order_that_awaits_fulfilment() {
    given([placed_for_fulfilment()])
        .when(|s| confirm_order(s, &confirm()))
        .then_error(OrderError::FulfilmentPending(id()));
    let refusal = OrderError::FulfilmentPending(id()).to_string();
    assert!(
        refusal.starts_with("order o-1 awaits fulfilment"),
        "{refusal}"
    );
}

#[test]
fn fulfilment_confirms_the_orders_it_settles() {
    let state = given([placed_for_fulfilment()])
        .when(|s| confirm_order(s, &confirm_by_fulfilment()))
        .then([confirmed()]);
    assert_eq!(state.status(), Some(OrderStatus::Confirmed));
    given([placed_for_fulfilment(), cancelled()])
        .when(|s| confirm_order(s, &confirm_by_fulfilment()))
        .then_error(wrong("confirm", OrderStatus::Cancelled));
}

#[test]
fn staff_still_reject_and_cancel_orders_that_await_fulfilment() {
    given([placed_for_fulfilment()])
        .when(|s| reject_order(s, &reject()))
        .then([rejected()]);
    given([placed_for_fulfilment(), confirmed()])
        .when(|s| cancel_order(s, &cancel()))
        .then([cancelled()]);
}

#[test]
fn confirming_only_from_placed() {
    given([placed(), confirmed()])
        .when(|s| confirm_order(s, &confirm()))
        .then_error(wrong("confirm", OrderStatus::Confirmed));
    given([placed(), rejected()])
        .when(|s| confirm_order(s, &confirm()))
        .then_error(wrong("confirm", OrderStatus::Rejected));
    given([placed(), cancelled()])
        .when(|s| confirm_order(s, &confirm()))
        .then_error(wrong("confirm", OrderStatus::Cancelled));
}

#[test]
fn rejecting_a_placed_order() {
    let state = given([placed()])
        .when(|s| reject_order(s, &reject()))
        .then([rejected()]);
    assert_eq!(state.status(), Some(OrderStatus::Rejected));
}

#[test]
fn rejecting_only_from_placed() {
    given([placed(), confirmed()])
        .when(|s| reject_order(s, &reject()))
        .then_error(wrong("reject", OrderStatus::Confirmed));
    given([placed(), rejected()])
        .when(|s| reject_order(s, &reject()))
        .then_error(wrong("reject", OrderStatus::Rejected));
}

#[test]
fn cancelling_a_placed_or_confirmed_order() {
    let state = given([placed()])
        .when(|s| cancel_order(s, &cancel()))
        .then([cancelled()]);
    assert_eq!(state.status(), Some(OrderStatus::Cancelled));
    given([placed(), confirmed()])
        .when(|s| cancel_order(s, &cancel()))
        .then([cancelled()]);
}

#[test]
fn a_customer_cancels_its_own_order_and_no_one_elses() {
    let by = |customer: &str| CancelOrder {
        requested_by: Some(CustomerId::parse(customer).unwrap()),
        ..cancel()
    };
    given([placed()])
        .when(|s| cancel_order(s, &by("c-1")))
        .then([cancelled()]);
    given([placed()])
        .when(|s| cancel_order(s, &by("c-2")))
        .then_error(OrderError::UnknownOrder(id()));
    given([])
        .when(|s| cancel_order(s, &by("c-2")))
        .then_error(OrderError::UnknownOrder(id()));
}

#[test]
fn a_shipped_order_cannot_be_cancelled() {
    given([placed(), confirmed(), shipped()])
        .when(|s| cancel_order(s, &cancel()))
        .then_error(OrderError::CancelAfterShipping);
}

#[test]
fn cancelling_twice_is_refused() {
    given([placed(), cancelled()])
        .when(|s| cancel_order(s, &cancel()))
        .then_error(OrderError::AlreadyCancelled);
}

#[test]
fn a_rejected_order_cannot_be_cancelled() {
    given([placed(), rejected()])
        .when(|s| cancel_order(s, &cancel()))
        .then_error(wrong("cancel", OrderStatus::Rejected));
}

#[test]
fn shipping_a_confirmed_order() {
    let state = given([placed(), confirmed()])
        .when(|s| ship_order(s, &ship()))
        .then([shipped()]);
    assert_eq!(state.status(), Some(OrderStatus::Shipped));
}

#[test]
fn shipping_only_from_confirmed() {
    given([placed()])
        .when(|s| ship_order(s, &ship()))
        .then_error(wrong("ship", OrderStatus::Placed));
    given([placed(), confirmed(), shipped()])
        .when(|s| ship_order(s, &ship()))
        .then_error(wrong("ship", OrderStatus::Shipped));
    given([placed(), cancelled()])
        .when(|s| ship_order(s, &ship()))
        .then_error(wrong("ship", OrderStatus::Cancelled));
}

#[test]
fn commands_on_an_order_that_does_not_exist_are_not_found() {
    let unknown = || OrderError::UnknownOrder(id());
    given([])
        .when(|s| confirm_order(s, &confirm()))
        .then_error(unknown());
    given([])
        .when(|s| reject_order(s, &reject()))
        .then_error(unknown());
    given([])
        .when(|s| cancel_order(s, &cancel()))
        .then_error(unknown());
    given([])
        .when(|s| ship_order(s, &ship()))
        .then_error(unknown());
}

#[test]
fn errors_map_to_not_found_or_rejected() {
    let not_found = CommandError::from(OrderError::UnknownOrder(id()));
    assert!(matches!(not_found, CommandError::NotFound(what) if what == "order o-1"));
    let rejected = CommandError::from(OrderError::CancelAfterShipping);
    assert!(
        matches!(rejected, CommandError::Rejected(why) if why == "a shipped order cannot be cancelled")
    );
    let rejected = CommandError::from(OrderError::NoLines);
    assert!(matches!(rejected, CommandError::Rejected(_)));
}
