//! Given past events, when a command is decided, then these events (or this refusal).

use super::*;

/// The state after `events`, ready for a decision.
fn given(events: impl IntoIterator<Item = ProductEvent>) -> Given {
    let events: Vec<ProductEvent> = events.into_iter().collect();
    Given(Product::fold(&events))
}

struct Given(Product);

impl Given {
    fn when(
        self,
        decide: impl FnOnce(&Product) -> Result<Vec<ProductEvent>, InventoryError>,
    ) -> Then {
        let decision = decide(&self.0);
        Then(self.0, decision)
    }
}

struct Then(Product, Result<Vec<ProductEvent>, InventoryError>);

impl Then {
    /// Asserts the decision and returns the state after applying it.
    fn then(self, expected: impl IntoIterator<Item = ProductEvent>) -> Product {
        let events = self.1.expect("the command should have been accepted");
        assert_eq!(events, expected.into_iter().collect::<Vec<_>>());
        let mut state = self.0;
        events.iter().for_each(|e| state.apply(e));
        state
    }

    fn then_error(self, expected: InventoryError) {
        assert_eq!(self.1, Err(expected));
    }
}

const SKU: &str = "sku-1";

fn sku() -> Sku {
    Sku::parse(SKU).unwrap()
}

fn rid(id: &str) -> ReservationId {
    ReservationId::parse(id).unwrap()
}

/// A quantity as events hold it (any positive count).
fn units(n: u64) -> Quantity {
    Quantity::recorded(n).unwrap()
}

fn registered() -> ProductEvent {
    ProductEvent::Registered {
        sku: sku(),
        name: ProductName::parse("Widget").unwrap(),
    }
}

fn received(quantity: u64) -> ProductEvent {
    ProductEvent::StockReceived {
        sku: sku(),
        quantity: units(quantity),
    }
}

fn reserved(reservation_id: &str, quantity: u64) -> ProductEvent {
    ProductEvent::StockReserved {
        sku: sku(),
        quantity: units(quantity),
        reservation_id: rid(reservation_id),
    }
}

fn released(reservation_id: &str, quantity: u64) -> ProductEvent {
    ProductEvent::StockReleased {
        sku: sku(),
        quantity: units(quantity),
        reservation_id: rid(reservation_id),
    }
}

fn committed(reservation_id: &str, quantity: u64) -> ProductEvent {
    ProductEvent::ReservationCommitted {
        sku: sku(),
        quantity: units(quantity),
        reservation_id: rid(reservation_id),
    }
}

fn commit(reservation_id: &str) -> CommitReservation {
    CommitReservation {
        sku: sku(),
        reservation_id: rid(reservation_id),
    }
}

fn register() -> RegisterProduct {
    RegisterProduct {
        sku: sku(),
        name: ProductName::parse("Widget").unwrap(),
    }
}

fn receive(quantity: u64) -> ReceiveStock {
    ReceiveStock {
        sku: sku(),
        quantity: Quantity::parse(quantity).unwrap(),
    }
}

fn reserve(reservation_id: &str, quantity: u64) -> ReserveStock {
    ReserveStock {
        sku: sku(),
        quantity: Quantity::parse(quantity).unwrap(),
        reservation_id: rid(reservation_id),
    }
}

fn release(reservation_id: &str, quantity: Release) -> ReleaseStock {
    ReleaseStock {
        sku: sku(),
        quantity,
        reservation_id: rid(reservation_id),
    }
}

fn part(n: u64) -> Release {
    Release::Units(Quantity::parse(n).unwrap())
}

#[test]
fn registering_a_product() {
    let state = given([])
        .when(|s| register_product(s, &register()))
        .then([registered()]);
    assert!(state.registered());
    assert_eq!((state.on_hand(), state.available()), (0, 0));
}

#[test]
fn a_product_is_registered_once() {
    given([registered()])
        .when(|s| register_product(s, &register()))
        .then_error(InventoryError::AlreadyRegistered(sku()));
}

#[test]
fn receiving_stock_adds_to_on_hand_and_available() {
    let state = given([registered(), received(3)])
        .when(|s| receive_stock(s, &receive(4)))
        .then([received(4)]);
    assert_eq!(
        (state.on_hand(), state.reserved(), state.available()),
        (7, 0, 7)
    );
}

#[test]
fn receiving_needs_a_quantity_that_fits() {
    given([registered(), received(u64::MAX)])
        .when(|s| receive_stock(s, &receive(1)))
        .then_error(InventoryError::StockOverflow);
}

#[test]
fn reserving_stock_moves_it_from_available_to_reserved() {
    let state = given([registered(), received(10)])
        .when(|s| reserve_stock(s, &reserve("r-1", 4)))
        .then([reserved("r-1", 4)]);
    assert_eq!(
        (state.on_hand(), state.reserved(), state.available()),
        (10, 4, 6)
    );
}

#[test]
fn stock_cannot_be_reserved_beyond_available() {
    given([registered(), received(10), reserved("r-1", 4)])
        .when(|s| reserve_stock(s, &reserve("r-2", 7)))
        .then_error(InventoryError::InsufficientStock {
            requested: 7,
            available: 6,
        });
    given([registered(), received(10), reserved("r-1", 4)])
        .when(|s| reserve_stock(s, &reserve("r-2", 6)))
        .then([reserved("r-2", 6)]);
}

#[test]
fn a_reservation_id_is_used_once() {
    given([registered(), received(10), reserved("r-1", 1)])
        .when(|s| reserve_stock(s, &reserve("r-1", 1)))
        .then_error(InventoryError::ReservationExists(rid("r-1")));
    given([
        registered(),
        received(10),
        reserved("r-1", 1),
        released("r-1", 1),
    ])
    .when(|s| reserve_stock(s, &reserve("r-1", 1)))
    .then_error(InventoryError::ReservationExists(rid("r-1")));
}

#[test]
fn releasing_everything_the_reservation_holds() {
    let state = given([
        registered(),
        received(10),
        reserved("r-1", 4),
        released("r-1", 1),
    ])
    .when(|s| release_stock(s, &release("r-1", Release::Everything)))
    .then([released("r-1", 3)]);
    assert_eq!(
        (state.on_hand(), state.reserved(), state.available()),
        (10, 0, 10)
    );
}

#[test]
fn releasing_part_of_a_reservation() {
    let state = given([registered(), received(10), reserved("r-1", 4)])
        .when(|s| release_stock(s, &release("r-1", part(4))))
        .then([released("r-1", 4)]);
    assert_eq!(state.available(), 10);
    given([registered(), received(10), reserved("r-1", 4)])
        .when(|s| release_stock(s, &release("r-1", part(1))))
        .then([released("r-1", 1)]);
}

#[test]
fn a_release_cannot_exceed_what_the_reservation_holds() {
    given([
        registered(),
        received(10),
        reserved("r-1", 4),
        released("r-1", 2),
    ])
    .when(|s| release_stock(s, &release("r-1", part(3))))
    .then_error(InventoryError::ReleaseExceedsHeld {
        requested: 3,
        held: 2,
    });
}

#[test]
fn a_reservation_is_released_once() {
    given([
        registered(),
        received(10),
        reserved("r-1", 4),
        released("r-1", 4),
    ])
    .when(|s| release_stock(s, &release("r-1", Release::Everything)))
    .then_error(InventoryError::AlreadyReleased(rid("r-1")));
    given([
        registered(),
        received(10),
        reserved("r-1", 4),
        released("r-1", 4),
    ])
    .when(|s| release_stock(s, &release("r-1", part(1))))
    .then_error(InventoryError::AlreadyReleased(rid("r-1")));
}

#[test]
fn releasing_an_unknown_reservation_is_not_found() {
    given([registered(), received(10)])
        .when(|s| release_stock(s, &release("r-9", Release::Everything)))
        .then_error(InventoryError::UnknownReservation {
            sku: sku(),
            reservation_id: rid("r-9"),
        });
}

#[test]
fn committing_a_reservation_takes_what_it_holds_out_of_stock() {
    let state = given([
        registered(),
        received(10),
        reserved("r-1", 4),
        reserved("r-2", 3),
        released("r-1", 1),
    ])
    .when(|s| commit_reservation(s, &commit("r-1")))
    .then([committed("r-1", 3)]);
    assert_eq!(
        (state.on_hand(), state.reserved(), state.available()),
        (7, 3, 4)
    );
    assert_eq!(state.held_by(&rid("r-1")), Some(0));
}

#[test]
fn a_reservation_is_committed_once_and_never_after_its_release() {
    let expected = || InventoryError::AlreadyReleased(rid("r-1"));
    given([
        registered(),
        received(10),
        reserved("r-1", 4),
        committed("r-1", 4),
    ])
    .when(|s| commit_reservation(s, &commit("r-1")))
    .then_error(expected());
    given([
        registered(),
        received(10),
        reserved("r-1", 4),
        released("r-1", 4),
    ])
    .when(|s| commit_reservation(s, &commit("r-1")))
    .then_error(expected());
    given([
        registered(),
        received(10),
        reserved("r-1", 4),
        committed("r-1", 4),
    ])
    .when(|s| release_stock(s, &release("r-1", Release::Everything)))
    .then_error(expected());
}

#[test]
fn committing_an_unknown_reservation_is_not_found() {
    given([registered(), received(10)])
        .when(|s| commit_reservation(s, &commit("r-9")))
        .then_error(InventoryError::UnknownReservation {
            sku: sku(),
            reservation_id: rid("r-9"),
        });
}

#[test]
fn commands_on_an_unknown_sku_are_not_found() {
    let unknown = || InventoryError::UnknownProduct(sku());
    given([])
        .when(|s| receive_stock(s, &receive(1)))
        .then_error(unknown());
    given([])
        .when(|s| reserve_stock(s, &reserve("r-1", 1)))
        .then_error(unknown());
    given([])
        .when(|s| release_stock(s, &release("r-1", Release::Everything)))
        .then_error(unknown());
    given([])
        .when(|s| commit_reservation(s, &commit("r-1")))
        .then_error(unknown());
}

#[test]
fn errors_map_to_not_found_or_rejected() {
    let not_found = CommandError::from(InventoryError::UnknownProduct(sku()));
    assert!(matches!(not_found, CommandError::NotFound(what) if what == "product sku-1"));
    let unknown_reservation = CommandError::from(InventoryError::UnknownReservation {
        sku: sku(),
        reservation_id: rid("r-9"),
    });
    assert!(matches!(unknown_reservation, CommandError::NotFound(_)));
    let rule = CommandError::from(InventoryError::AlreadyReleased(rid("r-1")));
    assert!(
        matches!(rule, CommandError::Rejected(why) if why.starts_with("a reservation is released once"))
    );
    let rule = CommandError::from(InventoryError::InsufficientStock {
        requested: 2,
        available: 1,
    });
    assert!(matches!(rule, CommandError::Rejected(_)));
}
