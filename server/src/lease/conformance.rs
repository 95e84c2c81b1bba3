//! The lease conformance suite: what every read store's lease adapter must do, run unchanged
//! against each (as `readstore::conformance` is for documents), so that a replica set on
//! MongoDB and replicas on one embedded data directory fence the same way.
//!
//! Every case is a `pub async fn(Arc<dyn ReadStore>)` that panics on failure and uses its own
//! uuid-suffixed lease and checkpoint names. Time is passed to the store, so the cases move it
//! forward without waiting. [`lease_conformance!`](crate::lease_conformance) makes the tests:
//!
//! ```ignore
//! causeway_server::lease_conformance!(async { (Arc::new(store) as Arc<dyn ReadStore>, guard) });
//! ```

use std::{
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use serde_json::json;

use super::{Claim, Grant, LeaseError, Leases};
use crate::readstore::{
    ReadStore, ReadStoreError,
    conformance::{unique_name, upsert},
};

/// Expands to one `#[tokio::test(flavor = "multi_thread")]` per lease conformance case; the
/// factory is as for [`readstore_conformance!`](crate::readstore_conformance).
#[macro_export]
macro_rules! lease_conformance {
    ($factory:expr) => {
        $crate::lease_conformance!(@cases $factory;
            a_free_lease_is_granted_under_epoch_one,
            a_held_lease_is_refused_naming_its_holder,
            renewal_extends_the_lease_and_keeps_its_epoch,
            a_lapsed_lease_is_taken_over_under_the_next_epoch,
            renewal_after_a_take_over_is_lost,
            a_lapsed_lease_nobody_took_can_be_renewed,
            release_lets_a_standby_take_over_at_once,
            concurrent_claims_grant_exactly_one,
            fenced_commit_applies_under_the_current_epoch,
            fenced_commit_is_refused_after_a_take_over,
            fenced_commit_without_any_grant_is_refused,
            invalid_lease_requests_are_refused,
        );
    };
    (@cases $factory:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread")]
            async fn $case() {
                let fixture = $factory.await;
                $crate::lease::conformance::$case(::std::sync::Arc::clone(&fixture.0)).await;
            }
        )*
    };
}

const TTL: Duration = Duration::from_secs(10);

/// A fixed moment plus `seconds`, so expiry does not depend on when the test runs.
fn at(seconds: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_800_000_000 + seconds)
}

async fn granted(leases: &dyn Leases, lease: &str, holder: &str, now: SystemTime) -> Grant {
    match leases
        .acquire(lease, holder, now, TTL)
        .await
        .expect("acquire")
    {
        Claim::Granted(grant) => grant,
        Claim::Held(record) => panic!("{lease} expected free, held by {record:?}"),
    }
}

async fn held_by(leases: &dyn Leases, lease: &str, holder: &str, now: SystemTime) -> String {
    match leases
        .acquire(lease, holder, now, TTL)
        .await
        .expect("acquire")
    {
        Claim::Held(record) => record.holder,
        Claim::Granted(grant) => panic!("{lease} expected held, granted {grant:?}"),
    }
}

/// The first grant of a lease has epoch 1, expires `ttl` later and is what `current` shows.
pub async fn a_free_lease_is_granted_under_epoch_one(store: Arc<dyn ReadStore>) {
    let leases = store.leases();
    let lease = unique_name("lease");
    assert_eq!(leases.current(&lease).await.expect("current"), None);
    let grant = granted(&*leases, &lease, "a", at(0)).await;
    assert_eq!((grant.holder.as_str(), grant.epoch), ("a", 1));
    assert_eq!(grant.expires_ms, super::millis(at(10)));
    assert_eq!(leases.current(&lease).await.expect("current"), Some(grant));
}

/// While the holder's lease runs, another replica is told who has it; the holder itself asking
/// again is granted a new epoch, which fences off its earlier tenure.
pub async fn a_held_lease_is_refused_naming_its_holder(store: Arc<dyn ReadStore>) {
    let leases = store.leases();
    let lease = unique_name("lease");
    let first = granted(&*leases, &lease, "a", at(0)).await;
    assert_eq!(held_by(&*leases, &lease, "b", at(9)).await, "a");
    let again = granted(&*leases, &lease, "a", at(5)).await;
    assert_eq!(again.epoch, first.epoch + 1);
    let refused = leases.renew(&first, at(6), TTL).await;
    assert!(
        matches!(refused, Err(LeaseError::Lost { .. })),
        "{refused:?}"
    );
    assert_eq!(held_by(&*leases, &lease, "b", at(14)).await, "a");
}

/// A renewal moves the expiry and keeps the epoch, so the holder's commits stay valid.
pub async fn renewal_extends_the_lease_and_keeps_its_epoch(store: Arc<dyn ReadStore>) {
    let leases = store.leases();
    let lease = unique_name("lease");
    let grant = granted(&*leases, &lease, "a", at(0)).await;
    let renewed = leases.renew(&grant, at(8), TTL).await.expect("renew");
    assert_eq!(renewed.epoch, grant.epoch);
    assert_eq!(renewed.expires_ms, super::millis(at(18)));
    assert_eq!(held_by(&*leases, &lease, "b", at(15)).await, "a");
}

/// Once the lease lapsed, a standby gets it under the next epoch.
pub async fn a_lapsed_lease_is_taken_over_under_the_next_epoch(store: Arc<dyn ReadStore>) {
    let leases = store.leases();
    let lease = unique_name("lease");
    let first = granted(&*leases, &lease, "a", at(0)).await;
    let second = granted(&*leases, &lease, "b", at(10)).await;
    assert_eq!(
        (second.holder.as_str(), second.epoch),
        ("b", first.epoch + 1)
    );
    let third = granted(&*leases, &lease, "a", at(25)).await;
    assert_eq!(third.epoch, second.epoch + 1);
}

/// The former holder's renewal after a take-over is refused as lost, and changes nothing.
pub async fn renewal_after_a_take_over_is_lost(store: Arc<dyn ReadStore>) {
    let leases = store.leases();
    let lease = unique_name("lease");
    let old = granted(&*leases, &lease, "a", at(0)).await;
    let new = granted(&*leases, &lease, "b", at(11)).await;
    let refused = leases.renew(&old, at(12), TTL).await;
    assert!(
        matches!(refused, Err(LeaseError::Lost { epoch: 1, .. })),
        "{refused:?}"
    );
    assert_eq!(leases.current(&lease).await.expect("current"), Some(new));
}

/// A holder that renews late, when nobody took the lease over meanwhile, keeps it: its epoch
/// is still the current one, so nobody else can have written.
pub async fn a_lapsed_lease_nobody_took_can_be_renewed(store: Arc<dyn ReadStore>) {
    let leases = store.leases();
    let lease = unique_name("lease");
    let grant = granted(&*leases, &lease, "a", at(0)).await;
    let renewed = leases.renew(&grant, at(30), TTL).await.expect("renew");
    assert_eq!(renewed.epoch, grant.epoch);
    assert_eq!(held_by(&*leases, &lease, "b", at(35)).await, "a");
}

/// A released lease goes to the next claimant at once; releasing a lost grant does nothing.
pub async fn release_lets_a_standby_take_over_at_once(store: Arc<dyn ReadStore>) {
    let leases = store.leases();
    let lease = unique_name("lease");
    let grant = granted(&*leases, &lease, "a", at(0)).await;
    leases.release(&grant).await.expect("release");
    let next = granted(&*leases, &lease, "b", at(1)).await;
    assert_eq!(next.epoch, 2);
    leases
        .release(&grant)
        .await
        .expect("releasing a lost grant");
    assert_eq!(leases.current(&lease).await.expect("current"), Some(next));
}

/// Replicas claiming a free lease at the same moment: exactly one is granted it.
pub async fn concurrent_claims_grant_exactly_one(store: Arc<dyn ReadStore>) {
    let leases = store.leases();
    let lease = unique_name("lease");
    let claims = (0..8).map(|n| {
        let (leases, lease) = (leases.clone(), lease.clone());
        tokio::spawn(async move {
            leases
                .acquire(&lease, &format!("replica-{n}"), at(0), TTL)
                .await
        })
    });
    let mut granted = Vec::new();
    for claim in claims {
        match claim.await.expect("claim task") {
            Ok(Claim::Granted(grant)) => granted.push(grant),
            Ok(Claim::Held(_)) => {}
            Err(e) => panic!("a claim failed: {e}"),
        }
    }
    assert_eq!(granted.len(), 1, "{granted:?}");
    assert_eq!(granted[0].epoch, 1);
}

/// A commit under the current epoch writes its documents and checkpoint as `apply` does.
pub async fn fenced_commit_applies_under_the_current_epoch(store: Arc<dyn ReadStore>) {
    let leases = store.leases();
    let (lease, collection) = (unique_name("lease"), unique_name("docs"));
    let grant = granted(&*leases, &lease, "a", at(0)).await;
    let ops = vec![upsert(&collection, "x", json!({"n": 1}))];
    store
        .apply_fenced(&lease, ops, 5, &grant.fence())
        .await
        .expect("fenced commit");
    assert_eq!(store.checkpoint(&lease).await.expect("checkpoint"), Some(5));
    let doc = store.get(&collection, "x").await.expect("get");
    assert_eq!(doc.map(|d| d.body), Some(json!({"n": 1})));
}

/// The heart of fencing: once a standby took over, the former holder's commit is refused as
/// `Fenced` and nothing of it lands (documents nor checkpoint), while the new holder commits.
pub async fn fenced_commit_is_refused_after_a_take_over(store: Arc<dyn ReadStore>) {
    let leases = store.leases();
    let (lease, collection) = (unique_name("lease"), unique_name("docs"));
    let old = granted(&*leases, &lease, "a", at(0)).await;
    store
        .apply_fenced(
            &lease,
            vec![upsert(&collection, "x", json!({"by": "a"}))],
            1,
            &old.fence(),
        )
        .await
        .expect("commit before the take-over");
    let new = granted(&*leases, &lease, "b", at(10)).await;
    let refused = store
        .apply_fenced(
            &lease,
            vec![
                upsert(&collection, "x", json!({"by": "a", "late": true})),
                upsert(&collection, "y", json!({"by": "a"})),
            ],
            2,
            &old.fence(),
        )
        .await;
    assert!(
        matches!(refused, Err(ReadStoreError::Fenced(_))),
        "{refused:?}"
    );
    assert_eq!(store.checkpoint(&lease).await.expect("checkpoint"), Some(1));
    let x = store.get(&collection, "x").await.expect("get x");
    assert_eq!(x.map(|d| d.body), Some(json!({"by": "a"})));
    assert_eq!(store.get(&collection, "y").await.expect("get y"), None);
    store
        .apply_fenced(
            &lease,
            vec![upsert(&collection, "x", json!({"by": "b"}))],
            2,
            &new.fence(),
        )
        .await
        .expect("the new holder commits");
    assert_eq!(store.checkpoint(&lease).await.expect("checkpoint"), Some(2));
}

/// A fence naming a lease that was never granted (or a made-up epoch) commits nothing.
pub async fn fenced_commit_without_any_grant_is_refused(store: Arc<dyn ReadStore>) {
    let leases = store.leases();
    let (lease, collection) = (unique_name("lease"), unique_name("docs"));
    let made_up = super::Fence {
        lease: lease.clone(),
        epoch: 1,
    };
    let ops = vec![upsert(&collection, "x", json!({}))];
    let refused = store.apply_fenced(&lease, ops.clone(), 1, &made_up).await;
    assert!(
        matches!(refused, Err(ReadStoreError::Fenced(_))),
        "{refused:?}"
    );
    let grant = granted(&*leases, &lease, "a", at(0)).await;
    let ahead = super::Fence {
        lease: lease.clone(),
        epoch: grant.epoch + 1,
    };
    let refused = store.apply_fenced(&lease, ops, 1, &ahead).await;
    assert!(
        matches!(refused, Err(ReadStoreError::Fenced(_))),
        "{refused:?}"
    );
    assert_eq!(store.checkpoint(&lease).await.expect("checkpoint"), None);
    assert_eq!(store.get(&collection, "x").await.expect("get"), None);
}

/// Empty or oversized names and holders are refused before they reach the store.
pub async fn invalid_lease_requests_are_refused(store: Arc<dyn ReadStore>) {
    let leases = store.leases();
    let long = "x".repeat(201);
    for (lease, holder) in [("", "a"), ("lease", ""), (long.as_str(), "a")] {
        let refused = leases.acquire(lease, holder, at(0), TTL).await;
        assert!(
            matches!(refused, Err(LeaseError::Invalid(_))),
            "{lease:?}/{holder:?}: {refused:?}"
        );
    }
}
