//! Events through their stored form: any event round-trips through proto3 JSON (directly and
//! through the upcasting reader at its current schema version); any payload under any type and
//! version is decoded or refused, never a panic; and every version a stored event ever had
//! (one fixture each, `tests/fixtures/events/`) upcasts, step by step, to the version today's
//! server writes.

use std::{collections::BTreeMap, path::PathBuf};

use proptest::prelude::*;
use serde_json::Value;

use crate::{
    fulfilment::domain::FulfilmentEvent,
    identity::domain::{
        DisplayName, Email, EmailEvent, PasswordHash, Reason as UserReason, Role, UserEvent, UserId,
    },
    inventory::domain::{ProductEvent, ProductName, Quantity, ReservationId, Sku},
    kernel::{DomainEvent, Upcasters},
    orders::domain::{Currency, CustomerId, Money, OrderEvent, OrderId, OrderLine, Reason},
    server::upcasters,
    store::RecordedEvent,
};

/// Text as a store may hold it: anything, including what callers may no longer send.
fn text() -> BoxedStrategy<String> {
    prop_oneof![
        "[a-z0-9-]{1,12}",
        "\\PC{1,24}",
        Just("ket\u{202E}tle".to_owned()),
        Just("\"quoted\" \\ and \n lines".to_owned()),
    ]
    .boxed()
}

fn quantity() -> impl Strategy<Value = Quantity> {
    (1u64..=crate::values::MAX_QUANTITY).prop_map(|q| Quantity::parse(q).unwrap())
}

fn order_event() -> impl Strategy<Value = OrderEvent> {
    let line = (text(), quantity(), 0i64..1_000_000).prop_map(|(sku, quantity, price)| OrderLine {
        sku: Sku::recorded(&sku).unwrap(),
        quantity,
        unit_price: Money::parse(price).unwrap(),
    });
    let id = text()
        .prop_map(|id| OrderId::recorded(&id).unwrap())
        .boxed();
    prop_oneof![
        (
            id.clone(),
            text(),
            "[A-Z]{3}",
            prop::collection::vec(line, 1..4),
            any::<bool>()
        )
            .prop_map(|(order_id, customer, currency, lines, awaits_fulfilment)| {
                let total = lines
                    .iter()
                    .map(|l| l.unit_price.times(l.quantity).unwrap())
                    .fold(Money::default(), |a, b| a.plus(b).unwrap());
                OrderEvent::Placed {
                    order_id,
                    customer_id: CustomerId::recorded(&customer),
                    currency: Currency::recorded(&currency),
                    lines,
                    total,
                    awaits_fulfilment,
                }
            }),
        id.clone()
            .prop_map(|order_id| OrderEvent::Confirmed { order_id }),
        (id.clone(), text()).prop_map(|(order_id, r)| OrderEvent::Rejected {
            order_id,
            reason: Reason::recorded(&r),
        }),
        (id.clone(), text()).prop_map(|(order_id, r)| OrderEvent::Cancelled {
            order_id,
            reason: Reason::recorded(&r),
        }),
        id.prop_map(|order_id| OrderEvent::Shipped { order_id }),
    ]
}

fn product_event() -> impl Strategy<Value = ProductEvent> {
    let sku = text().prop_map(|s| Sku::recorded(&s).unwrap()).boxed();
    let reservation = text()
        .prop_map(|r| ReservationId::recorded(&r).unwrap())
        .boxed();
    prop_oneof![
        (sku.clone(), text()).prop_map(|(sku, name)| ProductEvent::Registered {
            sku,
            name: ProductName::recorded(&name),
        }),
        (sku.clone(), quantity())
            .prop_map(|(sku, quantity)| ProductEvent::StockReceived { sku, quantity }),
        (sku.clone(), quantity(), reservation.clone()).prop_map(|(sku, quantity, r)| {
            ProductEvent::StockReserved {
                sku,
                quantity,
                reservation_id: r,
            }
        }),
        (sku, quantity(), reservation).prop_map(|(sku, quantity, r)| {
            ProductEvent::StockReleased {
                sku,
                quantity,
                reservation_id: r,
            }
        }),
    ]
}

fn user_event() -> impl Strategy<Value = UserEvent> {
    let user = "[a-z0-9]{1,8}"
        .prop_map(|c| UserId::for_command(&c))
        .boxed();
    let role = "[a-z][a-z.:_-]{0,20}"
        .prop_map(|r| Role::parse(&r).unwrap())
        .boxed();
    prop_oneof![
        (
            user.clone(),
            "[a-z]{1,8}",
            "[A-Za-z ]{1,20}",
            "[a-zA-Z0-9$=,+/]{1,40}"
        )
            .prop_map(|(user_id, local, name, hash)| UserEvent::Registered {
                user_id,
                email: Email::parse(&format!("{local}@example.com")).unwrap(),
                display_name: DisplayName::parse(&format!("n{name}")).unwrap(),
                password_hash: PasswordHash::from_phc(format!("$argon2id${hash}")).unwrap(),
            }),
        (user.clone(), role.clone())
            .prop_map(|(user_id, role)| UserEvent::RoleGranted { user_id, role }),
        (user.clone(), role).prop_map(|(user_id, role)| UserEvent::RoleRevoked { user_id, role }),
        (user, text()).prop_map(|(user_id, r)| UserEvent::Disabled {
            user_id,
            reason: UserReason::recorded(&r),
        }),
    ]
}

fn email_event() -> impl Strategy<Value = EmailEvent> {
    (text(), "[a-z0-9]{1,8}").prop_map(|(email, c)| EmailEvent::Reserved {
        email: Email::recorded(&email).unwrap(),
        user_id: UserId::for_command(&c),
    })
}

/// `event` as the store holds it, with metadata naming its current schema version.
fn stored<E: DomainEvent>(event: &E) -> RecordedEvent {
    RecordedEvent {
        id: uuid::Uuid::nil(),
        stream: "s-1".into(),
        revision: 0,
        position: 1,
        event_type: event.event_type().into(),
        data: event.encode(),
        metadata: format!(
            r#"{{"eventType":"{}","schemaVersion":{}}}"#,
            event.event_type(),
            event.schema_version()
        )
        .into_bytes(),
        created_micros: 0,
    }
}

fn round_trips<E: DomainEvent + PartialEq + std::fmt::Debug>(
    registry: &Upcasters,
    event: &E,
) -> Result<(), TestCaseError> {
    let record = stored(event);
    match E::decode(event.event_type(), &record.data) {
        Ok(direct) => prop_assert_eq!(&direct, event),
        Err(e) => prop_assert!(false, "{event:?} does not read back: {e}"),
    }
    match registry.decode::<E>(&record) {
        Ok(upcast) => prop_assert_eq!(&upcast, event),
        Err(e) => prop_assert!(false, "{event:?} does not read through the upcasters: {e}"),
    }
    Ok(())
}

proptest! {
    #[test]
    fn every_event_round_trips_through_its_stored_form(
        order in order_event(),
        product in product_event(),
        user in user_event(),
        email in email_event(),
    ) {
        let registry = upcasters();
        round_trips(&registry, &order)?;
        round_trips(&registry, &product)?;
        round_trips(&registry, &user)?;
        round_trips(&registry, &email)?;
    }

    #[test]
    fn any_payload_under_any_type_and_version_is_read_or_refused(
        kind in 0usize..14,
        version in 0u32..4,
        payload in json(),
    ) {
        let event_type = fixtures().keys().nth(kind).cloned().unwrap_or_default();
        let record = RecordedEvent {
            event_type: event_type.clone(),
            data: serde_json::to_vec(&payload).unwrap(),
            metadata: format!(r#"{{"schemaVersion":{version}}}"#).into_bytes(),
            ..stored(&OrderEvent::Shipped { order_id: OrderId::recorded("o").unwrap() })
        };
        let registry = upcasters();
        let _ = registry.decode::<OrderEvent>(&record);
        let _ = registry.decode::<ProductEvent>(&record);
        let _ = registry.decode::<UserEvent>(&record);
        let _ = registry.decode::<EmailEvent>(&record);
    }
}

/// Any JSON value, objects and arrays nested a few levels.
fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        text().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("[a-zA-Z]{1,10}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// One stored event as its fixture holds it: (metadata, data).
type Stored = (Vec<u8>, Vec<u8>);

/// Every stored fixture by event type, then by schema version.
fn fixtures() -> BTreeMap<String, BTreeMap<u32, Stored>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/events");
    let mut all: BTreeMap<String, BTreeMap<u32, Stored>> = BTreeMap::new();
    for dir in std::fs::read_dir(&root).expect("fixtures").flatten() {
        for file in std::fs::read_dir(dir.path())
            .expect("fixture dir")
            .flatten()
        {
            let fixture: Value =
                serde_json::from_slice(&std::fs::read(file.path()).unwrap()).unwrap();
            let version = fixture["metadata"]["schemaVersion"].as_u64().unwrap() as u32;
            let event_type = fixture["metadata"]["eventType"]
                .as_str()
                .unwrap()
                .to_owned();
            let metadata = serde_json::to_vec(&fixture["metadata"]).unwrap();
            let data = serde_json::to_vec(&fixture["data"]).unwrap();
            all.entry(event_type)
                .or_default()
                .insert(version, (metadata, data));
        }
    }
    all
}

/// Decodes `record` as whichever context's event its type belongs to, and says which schema
/// version today's server would write it at.
fn written_version(registry: &Upcasters, record: &RecordedEvent) -> Result<u32, String> {
    let t = record.event_type.as_str();
    if t.starts_with("causeway.orders.") {
        let e = registry
            .decode::<OrderEvent>(record)
            .map_err(|e| e.to_string())?;
        return Ok(e.schema_version());
    }
    if t.starts_with("causeway.inventory.") {
        let e = registry
            .decode::<ProductEvent>(record)
            .map_err(|e| e.to_string())?;
        return Ok(e.schema_version());
    }
    if t.starts_with("causeway.fulfilment.") {
        let e = registry
            .decode::<FulfilmentEvent>(record)
            .map_err(|e| e.to_string())?;
        return Ok(e.schema_version());
    }
    if t.ends_with("EmailReserved") {
        let e = registry
            .decode::<EmailEvent>(record)
            .map_err(|e| e.to_string())?;
        return Ok(e.schema_version());
    }
    let e = registry
        .decode::<UserEvent>(record)
        .map_err(|e| e.to_string())?;
    Ok(e.schema_version())
}

#[test]
fn every_stored_version_of_every_event_type_upcasts_to_todays() {
    let registry = upcasters();
    let fixtures = fixtures();
    assert_eq!(fixtures.len(), 26, "one fixture folder per event type");
    for (event_type, versions) in &fixtures {
        let newest = *versions.keys().max().unwrap();
        assert_eq!(
            versions.keys().copied().collect::<Vec<_>>(),
            (1..=newest).collect::<Vec<_>>(),
            "{event_type}: a fixture for every version, no gaps"
        );
        for (version, (metadata, data)) in versions {
            let record = RecordedEvent {
                event_type: event_type.clone(),
                data: data.clone(),
                metadata: metadata.clone(),
                ..stored(&OrderEvent::Shipped {
                    order_id: OrderId::recorded("o").unwrap(),
                })
            };
            let written = written_version(&registry, &record)
                .unwrap_or_else(|e| panic!("{event_type} v{version} does not read: {e}"));
            assert_eq!(
                written, newest,
                "{event_type} v{version} reads as today's version"
            );
            if *version < newest {
                let upcast = registry.upcast(event_type, *version, data).unwrap();
                assert!(
                    matches!(upcast, std::borrow::Cow::Owned(_)),
                    "{event_type} v{version} has an upcaster"
                );
            }
        }
    }
}
