//! Optimistic concurrency and idempotency over the wire: a stale expected revision, and one
//! command id sent again or by several callers at once.

use causeway_client::common::CommandAck;
use tonic::Code;

use super::fixtures::{clients, confirm, options, options_at, place, place_order};
use crate::{EventBackend, TestServer};

/// A client-given expected revision that no longer holds is ABORTED at once.
pub async fn a_stale_expected_revision_is_aborted(backend: &EventBackend) {
    let server = TestServer::start_on(backend).await;
    let mut c = clients(&server).await;
    let order_id = place_order(&mut c).await;
    let status = c
        .orders
        .confirm_order(confirm(&order_id, options_at(5)))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Aborted, "{status:?}");
    let ack = c
        .orders
        .confirm_order(confirm(&order_id, options_at(0)))
        .await
        .expect("current revision applies")
        .into_inner()
        .ack
        .expect("ack");
    assert_eq!(ack.revision, 1);
}

/// The same command id, sent again or by eight callers at once, appends once and replays the
/// original ack.
pub async fn a_repeated_command_id_appends_once_and_replays_the_ack(backend: &EventBackend) {
    let server = TestServer::start_on(backend).await;
    let mut c = clients(&server).await;
    let opts = options();

    let first = c
        .orders
        .place_order(place(opts.clone()))
        .await
        .unwrap()
        .into_inner();
    let again = c
        .orders
        .place_order(place(opts.clone()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        first.order_id, again.order_id,
        "the derived order id is stable"
    );
    let (first_ack, again_ack) = (first.ack.unwrap(), again.ack.unwrap());
    assert!(!first_ack.deduplicated);
    assert!(again_ack.deduplicated);
    assert_eq!(
        (first_ack.stream_id, first_ack.revision, first_ack.position),
        (again_ack.stream_id, again_ack.revision, again_ack.position)
    );

    // The same command id sent by 8 callers at once: one set of events, one original ack.
    let opts = options();
    let calls = (0..8).map(|_| {
        let mut client = c.orders.clone();
        let request = place(opts.clone());
        tokio::spawn(async move { client.place_order(request).await })
    });
    let mut acks = Vec::new();
    for call in calls {
        acks.push(call.await.unwrap().expect("place").into_inner());
    }
    let order_id = acks[0].order_id.clone();
    assert!(acks.iter().all(|r| r.order_id == order_id));
    let acks: Vec<CommandAck> = acks.into_iter().map(|r| r.ack.unwrap()).collect();
    assert_eq!(
        acks.iter().filter(|a| !a.deduplicated).count(),
        1,
        "{acks:?}"
    );
    assert!(
        acks.iter()
            .all(|a| a.revision == 0 && a.position == acks[0].position)
    );
    // Only one OrderPlaced exists: the stream is at revision 0, so confirming at 0 applies.
    let ack = c
        .orders
        .confirm_order(confirm(&order_id, options_at(0)))
        .await
        .expect("stream holds exactly one event")
        .into_inner()
        .ack
        .unwrap();
    assert_eq!(ack.revision, 1);
}
