//! Any sequence of commands, decided and applied the way the kernel does (decide on the state,
//! apply the accepted events), keeps each aggregate's invariants after every step.

use std::collections::HashMap;

use proptest::prelude::*;

use crate::{
    identity::domain::{Email, EmailReservation, UserId, reserve_email},
    inventory::domain::{
        Product, ProductName, Quantity, ReceiveStock, RegisterProduct, Release, ReleaseStock,
        ReservationId, ReserveStock, Sku,
    },
    kernel::{Aggregate, Decision, ids::derived_id},
    orders::domain::{
        CancelOrder, ConfirmOrder, Confirmer, Currency, CustomerId, Money, Order, OrderId,
        OrderLine, OrderStatus, PlaceOrder, Reason, RejectOrder, ShipOrder,
    },
};

/// Decides `command` on `state` and applies what it records; whether it was accepted.
fn step<D: Decision>(state: &mut D::Aggregate, command: &D) -> bool {
    match command.decide(state) {
        Ok(events) => {
            events.iter().for_each(|e| state.apply(e));
            true
        }
        Err(_) => false,
    }
}

#[derive(Debug, Clone)]
enum StockCommand {
    Register,
    Receive(u64),
    Reserve(u64, u8),
    Release(Option<u64>, u8),
}

fn stock_command() -> impl Strategy<Value = StockCommand> {
    let units = prop_oneof![1u64..20, Just(crate::values::MAX_QUANTITY)];
    prop_oneof![
        1 => Just(StockCommand::Register),
        3 => units.clone().prop_map(StockCommand::Receive),
        4 => (units.clone(), 0u8..6).prop_map(|(q, r)| StockCommand::Reserve(q, r)),
        3 => (prop::option::of(units), 0u8..6).prop_map(|(q, r)| StockCommand::Release(q, r)),
    ]
}

fn sku() -> Sku {
    Sku::parse("kettle").unwrap()
}

fn reservation(r: u8) -> ReservationId {
    ReservationId::parse(&format!("r-{r}")).unwrap()
}

fn decide_stock(product: &mut Product, command: &StockCommand) -> bool {
    let quantity = |n: u64| Quantity::parse(n).unwrap();
    match command {
        StockCommand::Register => step(
            product,
            &RegisterProduct {
                sku: sku(),
                name: ProductName::parse("Kettle").unwrap(),
            },
        ),
        StockCommand::Receive(n) => step(
            product,
            &ReceiveStock {
                sku: sku(),
                quantity: quantity(*n),
            },
        ),
        StockCommand::Reserve(n, r) => step(
            product,
            &ReserveStock {
                sku: sku(),
                quantity: quantity(*n),
                reservation_id: reservation(*r),
            },
        ),
        StockCommand::Release(n, r) => step(
            product,
            &ReleaseStock {
                sku: sku(),
                quantity: n.map_or(Release::Everything, |n| Release::Units(quantity(n))),
                reservation_id: reservation(*r),
            },
        ),
    }
}

proptest! {
    #[test]
    fn reserved_stock_never_exceeds_stock_on_hand(commands in prop::collection::vec(stock_command(), 0..60)) {
        let mut product = Product::default();
        for command in &commands {
            let before = product.clone();
            let accepted = decide_stock(&mut product, command);
            prop_assert!(product.reserved() <= product.on_hand(), "{command:?} on {before:?}");
            prop_assert_eq!(product.available(), product.on_hand() - product.reserved());
            let held: u64 = (0..6).filter_map(|r| product.held_by(&reservation(r))).sum();
            prop_assert_eq!(held, product.reserved(), "reservations add up to what is reserved");
            if !product.registered() {
                prop_assert!(!accepted || matches!(command, StockCommand::Register));
            }
            if !accepted {
                prop_assert_eq!(&product, &before, "a refusal changes nothing");
            }
        }
    }

    #[test]
    fn a_release_gives_back_at_most_what_its_reservation_held(
        commands in prop::collection::vec(stock_command(), 0..60),
    ) {
        let mut product = Product::default();
        for command in &commands {
            let before = product.clone();
            decide_stock(&mut product, command);
            if let StockCommand::Release(_, r) = command {
                let held_before = before.held_by(&reservation(*r)).unwrap_or(0);
                let held_after = product.held_by(&reservation(*r)).unwrap_or(0);
                prop_assert!(held_after <= held_before);
                prop_assert_eq!(before.reserved() - product.reserved(), held_before - held_after);
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum OrderCommand {
    Place,
    Confirm,
    Reject,
    Cancel,
    Ship,
}

fn order_command() -> impl Strategy<Value = OrderCommand> {
    prop_oneof![
        Just(OrderCommand::Place),
        Just(OrderCommand::Confirm),
        Just(OrderCommand::Reject),
        Just(OrderCommand::Cancel),
        Just(OrderCommand::Ship),
    ]
}

fn order_line() -> impl Strategy<Value = OrderLine> {
    ("[a-z]{1,8}", 1u64..1000, 0i64..1_000_000).prop_map(|(sku, quantity, price)| OrderLine {
        sku: Sku::parse(&sku).unwrap(),
        quantity: Quantity::parse(quantity).unwrap(),
        unit_price: Money::parse(price).unwrap(),
    })
}

fn decide_order(order: &mut Order, command: OrderCommand, lines: &[OrderLine]) -> bool {
    let order_id = || OrderId::parse("o-1").unwrap();
    let reason = || Reason::parse("because").unwrap();
    match command {
        OrderCommand::Place => step(
            order,
            &PlaceOrder {
                order_id: order_id(),
                customer_id: CustomerId::parse("ada").unwrap(),
                currency: Currency::parse("EUR").unwrap(),
                lines: lines.to_vec(),
                awaits_fulfilment: false,
            },
        ),
        OrderCommand::Confirm => step(
            order,
            &ConfirmOrder {
                order_id: order_id(),
                by: Confirmer::Staff,
            },
        ),
        OrderCommand::Reject => step(
            order,
            &RejectOrder {
                order_id: order_id(),
                reason: reason(),
            },
        ),
        OrderCommand::Cancel => step(
            order,
            &CancelOrder {
                order_id: order_id(),
                reason: reason(),
                requested_by: None,
            },
        ),
        OrderCommand::Ship => step(
            order,
            &ShipOrder {
                order_id: order_id(),
            },
        ),
    }
}

proptest! {
    #[test]
    fn a_final_order_never_changes_again_and_its_total_is_its_lines(
        lines in prop::collection::vec(order_line(), 0..5),
        commands in prop::collection::vec(order_command(), 0..30),
    ) {
        let mut order = Order::default();
        let mut finished: Option<Order> = None;
        for command in commands {
            let before = order.clone();
            let accepted = decide_order(&mut order, command, &lines);
            if let Some(final_state) = &finished {
                prop_assert!(!accepted, "{command:?} accepted on a final order");
                prop_assert_eq!(&order, final_state);
            }
            if !accepted {
                prop_assert_eq!(&order, &before, "a refusal changes nothing");
            }
            if let Some(status) = order.status() {
                prop_assert!(!order.lines().is_empty(), "no order without lines");
                let total = order.lines().iter().map(|l| l.unit_price.minor() * l.quantity.get() as i64).sum::<i64>();
                prop_assert_eq!(order.total().minor(), total);
                if matches!(status, OrderStatus::Shipped | OrderStatus::Cancelled | OrderStatus::Rejected) {
                    finished.get_or_insert_with(|| order.clone());
                }
            }
        }
    }
}

fn email_spelling() -> impl Strategy<Value = (String, String)> {
    (0usize..4, any::<bool>(), any::<bool>(), 0u8..6).prop_map(|(n, upper, padded, user)| {
        let local = ["ada", "grace", "alan", "edsger"][n];
        let mut email = format!("{local}@Example.com");
        if upper {
            email = email.to_uppercase();
        }
        if padded {
            email = format!("  {email} ");
        }
        (email, derived_id(&format!("register-{user}"), "user"))
    })
}

proptest! {
    #[test]
    fn one_email_address_belongs_to_at_most_one_user(
        registrations in prop::collection::vec(email_spelling(), 0..40),
    ) {
        let mut streams: HashMap<String, EmailReservation> = HashMap::new();
        let mut owners: HashMap<String, UserId> = HashMap::new();
        for (raw, user) in registrations {
            let email = Email::parse(&raw).unwrap();
            let user = UserId::parse(&user).unwrap();
            let key = EmailReservation::key(&email);
            let stream = streams.entry(key).or_default();
            let holder_before = stream.held_by().cloned();
            match reserve_email(&*stream, &email, &user) {
                Ok(events) => {
                    events.iter().for_each(|e| stream.apply(e));
                    prop_assert!(holder_before.is_none() || holder_before.as_ref() == Some(&user));
                }
                Err(_) => prop_assert!(holder_before.is_some() && holder_before.as_ref() != Some(&user)),
            }
            let holder = stream.held_by().cloned().expect("held after any attempt");
            let owner = owners.entry(email.as_str().to_owned()).or_insert_with(|| holder.clone());
            prop_assert_eq!(&holder, owner, "an address never changes hands");
        }
    }
}
