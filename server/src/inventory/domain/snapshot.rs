//! A product's state as a snapshot (see `kernel::snapshot`): product streams are the ones that
//! grow long (every reservation of every order is one or two events on them).
//!
//! Stored form, version 1: JSON `{"registered":…,"onHand":…,"reserved":…,"reservations":
//! [["<reservation id>",<units held>],…]}`. Bump [`VERSION`] whenever `Product` or its fold
//! changes meaning; older snapshots are then ignored and the streams refolded.

use serde::{Deserialize, Serialize};

use super::{Product, ReservationId};
use crate::kernel::snapshot::SnapshotCodec;

/// The version of the stored form.
pub(super) const VERSION: u32 = 1;

/// How [`Product`] states are snapshotted.
pub(super) const CODEC: SnapshotCodec<Product> = SnapshotCodec {
    version: VERSION,
    encode,
    decode,
};

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Stored {
    registered: bool,
    on_hand: u64,
    reserved: u64,
    reservations: Vec<(String, u64)>,
}

fn encode(product: &Product) -> Vec<u8> {
    let stored = Stored {
        registered: product.registered,
        on_hand: product.on_hand,
        reserved: product.reserved,
        reservations: product
            .reservations
            .iter()
            .map(|(id, held)| (id.as_str().to_owned(), *held))
            .collect(),
    };
    // A struct of plain fields always serializes.
    serde_json::to_vec(&stored).unwrap_or_default()
}

fn decode(bytes: &[u8]) -> Result<Product, String> {
    let stored: Stored = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    let reservations = stored
        .reservations
        .into_iter()
        .map(|(id, held)| {
            ReservationId::recorded(&id)
                .map(|id| (id, held))
                .map_err(|e| format!("reservation {id:?}: {e}"))
        })
        .collect::<Result<_, _>>()?;
    Ok(Product {
        registered: stored.registered,
        on_hand: stored.on_hand,
        reserved: stored.reserved,
        reservations,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        inventory::domain::{ProductEvent, Quantity, Sku},
        kernel::Aggregate,
    };

    #[test]
    fn a_product_comes_back_from_its_snapshot_as_it_was() {
        let sku = Sku::parse("kettle").unwrap();
        let quantity = |n| Quantity::parse(n).unwrap();
        let reservation = |r: &str| ReservationId::parse(r).unwrap();
        let product = Product::fold(&[
            ProductEvent::StockReceived {
                sku: sku.clone(),
                quantity: quantity(10),
            },
            ProductEvent::StockReserved {
                sku: sku.clone(),
                quantity: quantity(3),
                reservation_id: reservation("r-1"),
            },
            ProductEvent::StockReserved {
                sku: sku.clone(),
                quantity: quantity(2),
                reservation_id: reservation("r-2"),
            },
            ProductEvent::StockReleased {
                sku,
                quantity: quantity(3),
                reservation_id: reservation("r-1"),
            },
        ]);
        let back = decode(&encode(&product)).unwrap();
        assert_eq!(back, product);
        assert_eq!(
            back.held_by(&reservation("r-1")),
            Some(0),
            "a spent id stays known"
        );
        assert_eq!(back.available(), 8);
    }

    #[test]
    fn what_is_not_a_product_snapshot_does_not_decode() {
        for bad in [
            &b""[..],
            b"{}",
            b"not json",
            br#"{"registered":true,"onHand":1,"reserved":0,"reservations":[],"extra":1}"#,
            br#"{"registered":true,"onHand":1,"reserved":0,"reservations":[["",1]]}"#,
        ] {
            assert!(decode(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }
}
