//! Given events, when they are folded into a real embedded read store, then the user document is
//! exactly this (or the fold fails the way the runner needs it to).

use serde_json::json;

use super::*;
use crate::{
    identity::{
        events::ROLE_GRANTED,
        values::{DisplayName, Email, PasswordHash, Reason, Role, UserId},
    },
    kernel::DecodeError,
    projection::testing::{document, fold, read_store, recorded},
    readstore::ReadStoreError,
};

const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA";

fn projection() -> UsersProjection {
    UsersProjection::new(Arc::new(Upcasters::default()))
}

fn ada() -> UserId {
    UserId::for_command("cmd-ada")
}

fn stream(user: &UserId) -> String {
    format!("user-{user}")
}

fn registered(user: &UserId, email: &str) -> UserEvent {
    UserEvent::Registered {
        user_id: user.clone(),
        email: Email::parse(email).unwrap(),
        display_name: DisplayName::parse("Ada Lovelace").unwrap(),
        password_hash: PasswordHash::from_phc(HASH.into()).unwrap(),
    }
}

fn granted(role: &str) -> UserEvent {
    UserEvent::RoleGranted {
        user_id: ada(),
        role: Role::parse(role).unwrap(),
    }
}

fn revoked(role: &str) -> UserEvent {
    UserEvent::RoleRevoked {
        user_id: ada(),
        role: Role::parse(role).unwrap(),
    }
}

fn disabled() -> UserEvent {
    UserEvent::Disabled {
        user_id: ada(),
        reason: Reason::parse("left").unwrap(),
    }
}

/// Ada's stream: event `i` at revision `i` and position `first_position + i`.
fn history(first_position: u64, events: &[UserEvent]) -> Vec<RecordedEvent> {
    events
        .iter()
        .enumerate()
        .map(|(i, e)| recorded(&stream(&ada()), i as u64, first_position + i as u64, e))
        .collect()
}

fn ada_document(roles: &[&str], disabled: bool, revision: u64) -> serde_json::Value {
    json!({
        "userId": ada().to_string(),
        "email": "ada@example.com",
        "displayName": "Ada Lovelace",
        "roles": roles,
        "disabled": disabled,
        "revision": revision,
    })
}

#[test]
fn it_reads_user_streams_only_and_indexes_email_uniquely() {
    let p = projection();
    assert_eq!(p.name(), "users");
    assert_eq!(
        p.categories(),
        &["user"],
        "useremail reservations are not projected"
    );
    assert_eq!(
        p.indexes(),
        vec![IndexSpec {
            collection: "users".into(),
            fields: vec!["email".into()],
            unique: true,
        }]
    );
}

#[tokio::test]
async fn a_registered_user_becomes_a_document_with_no_roles() {
    let (reads, _dir) = read_store();
    let events = history(1, &[registered(&ada(), "Ada@Example.com")]);
    fold(&projection(), &*reads, &events).await.unwrap();
    let doc = document(&*reads, USERS, ada().as_str()).await;
    assert_eq!(doc, Some(ada_document(&[], false, 0)));
}

#[tokio::test]
async fn granted_roles_are_added_and_kept_sorted() {
    let (reads, _dir) = read_store();
    let events = history(
        1,
        &[
            registered(&ada(), "ada@example.com"),
            granted("orders:admin"),
            granted("billing"),
        ],
    );
    fold(&projection(), &*reads, &events).await.unwrap();
    let doc = document(&*reads, USERS, ada().as_str()).await;
    assert_eq!(
        doc,
        Some(ada_document(&["billing", "orders:admin"], false, 2))
    );
}

#[tokio::test]
async fn a_revoked_role_is_removed() {
    let (reads, _dir) = read_store();
    let events = history(
        1,
        &[
            registered(&ada(), "ada@example.com"),
            granted("a"),
            granted("b"),
            revoked("a"),
        ],
    );
    fold(&projection(), &*reads, &events).await.unwrap();
    let doc = document(&*reads, USERS, ada().as_str()).await;
    assert_eq!(doc, Some(ada_document(&["b"], false, 3)));
}

#[tokio::test]
async fn a_disabled_user_is_marked_and_keeps_its_roles() {
    let (reads, _dir) = read_store();
    let events = history(
        1,
        &[
            registered(&ada(), "ada@example.com"),
            granted("a"),
            disabled(),
        ],
    );
    fold(&projection(), &*reads, &events).await.unwrap();
    let doc = document(&*reads, USERS, ada().as_str()).await;
    assert_eq!(doc, Some(ada_document(&["a"], true, 2)));
}

#[tokio::test]
async fn replayed_events_are_skipped_by_the_revision_guard() {
    let (reads, _dir) = read_store();
    let all = history(
        1,
        &[
            registered(&ada(), "ada@example.com"),
            granted("a"),
            revoked("a"),
            disabled(),
        ],
    );
    // First batch up to the revocation; the second re-delivers the grant (and the registration)
    // before the new event, as a subscription resumed from an older position would.
    fold(&projection(), &*reads, &all[..3]).await.unwrap();
    let replay = [
        all[0].clone(),
        all[1].clone(),
        all[2].clone(),
        all[3].clone(),
    ];
    fold(&projection(), &*reads, &replay).await.unwrap();
    let doc = document(&*reads, USERS, ada().as_str()).await;
    assert_eq!(
        doc,
        Some(ada_document(&[], true, 3)),
        "the replayed grant came back"
    );

    // Within one batch too: a duplicate right after the original changes nothing.
    let (fresh, _dir2) = read_store();
    let doubled = [
        all[0].clone(),
        all[1].clone(),
        all[0].clone(),
        all[1].clone(),
    ];
    fold(&projection(), &*fresh, &doubled).await.unwrap();
    let doc = document(&*fresh, USERS, ada().as_str()).await;
    assert_eq!(doc, Some(ada_document(&["a"], false, 1)));
}

#[tokio::test]
async fn an_event_for_a_user_without_a_document_is_inconsistent() {
    let (reads, _dir) = read_store();
    let orphan = recorded(&stream(&ada()), 1, 7, &granted("a"));
    let err = fold(&projection(), &*reads, &[orphan]).await.unwrap_err();
    assert!(
        matches!(&err, ProjectionError::Inconsistent(m) if m.contains(ada().as_str())),
        "{err}"
    );
    assert_eq!(document(&*reads, USERS, ada().as_str()).await, None);
}

#[tokio::test]
async fn an_event_filed_under_another_users_stream_is_inconsistent() {
    let (reads, _dir) = read_store();
    let bob = UserId::for_command("cmd-bob");
    let misfiled = recorded(&stream(&bob), 0, 1, &registered(&ada(), "ada@example.com"));
    let err = fold(&projection(), &*reads, &[misfiled]).await.unwrap_err();
    assert!(matches!(err, ProjectionError::Inconsistent(_)), "{err}");
}

#[tokio::test]
async fn an_undecodable_payload_is_a_decode_error() {
    let (reads, _dir) = read_store();
    let mut poison = recorded(&stream(&ada()), 1, 2, &granted("a"));
    poison.data = b"not json".to_vec();
    let events = [
        history(1, &[registered(&ada(), "ada@example.com")]).remove(0),
        poison,
    ];
    let err = fold(&projection(), &*reads, &events).await.unwrap_err();
    assert!(
        matches!(&err, ProjectionError::Decode(DecodeError::Malformed { event_type, .. }) if event_type == ROLE_GRANTED),
        "{err}"
    );
}

#[tokio::test]
async fn the_password_hash_never_reaches_the_read_model() {
    let (reads, _dir) = read_store();
    let events = history(1, &[registered(&ada(), "ada@example.com")]);
    assert!(
        String::from_utf8_lossy(&events[0].data).contains(HASH),
        "the event carries it"
    );
    fold(&projection(), &*reads, &events).await.unwrap();
    let stored = document(&*reads, USERS, ada().as_str()).await.unwrap();
    let text = stored.to_string();
    assert!(!text.contains(HASH), "{text}");
    assert!(!text.contains("argon2"), "{text}");
    assert!(!text.to_lowercase().contains("password"), "{text}");
}

#[tokio::test]
async fn a_second_user_with_the_same_email_is_refused_by_the_unique_index() {
    let (reads, _dir) = read_store();
    let bob = UserId::for_command("cmd-bob");
    fold(
        &projection(),
        &*reads,
        &history(1, &[registered(&ada(), "ada@example.com")]),
    )
    .await
    .unwrap();
    let twin = recorded(&stream(&bob), 0, 2, &registered(&bob, "ADA@example.com"));
    let err = fold(&projection(), &*reads, &[twin]).await.unwrap_err();
    assert!(
        matches!(err, ProjectionError::Store(ReadStoreError::Rejected(_))),
        "{err}"
    );
    assert_eq!(document(&*reads, USERS, bob.as_str()).await, None);
}
