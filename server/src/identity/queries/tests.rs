//! The query handlers over the real embedded read store, filled by the real `users` projection:
//! lookups, validation by proto field name, and read-your-writes within the caller's deadline.

use std::{sync::Arc, time::Duration};

use causeway_proto::common::Consistency;
use serde_json::json;
use tempfile::TempDir;
use tonic::Code;
use tonic_types::StatusExt;

use super::*;
use crate::{
    identity::{
        domain::UserEvent,
        projection::UsersProjection,
        values::{DisplayName, PasswordHash, Role},
    },
    kernel::Upcasters,
    projection::{
        Projections,
        consistency::ReadYourWrites,
        generation,
        testing::{fold, read_store, recorded},
    },
    readstore::{Document, ReadStore, WriteOp},
    store::RecordedEvent,
};

fn ada() -> UserId {
    UserId::for_command("cmd-ada")
}

/// Ada registered (position 1) and granted two roles (positions 2 and 3).
fn ada_history() -> Vec<RecordedEvent> {
    let stream = format!("user-{}", ada());
    let grant = |role: &str| UserEvent::RoleGranted {
        user_id: ada(),
        role: Role::parse(role).unwrap(),
    };
    let events = [
        UserEvent::Registered {
            user_id: ada(),
            email: Email::parse("ada@example.com").unwrap(),
            display_name: DisplayName::parse("Ada Lovelace").unwrap(),
            password_hash: PasswordHash::from_phc("$argon2id$v=19$secret".into()).unwrap(),
        },
        grant("orders:admin"),
        grant("billing"),
    ];
    events
        .iter()
        .enumerate()
        .map(|(i, e)| recorded(&stream, i as u64, i as u64 + 1, e))
        .collect()
}

fn projection() -> UsersProjection {
    UsersProjection::new(Arc::new(Upcasters::default()))
}

/// The service over a read store holding Ada's history (checkpoint 3).
async fn service() -> (IdentityQueriesService, Arc<dyn ReadStore>, TempDir) {
    let (reads, dir) = read_store();
    fold(&projection(), &*reads, &ada_history()).await.unwrap();
    let consistency = ReadYourWrites::new(Projections::default(), reads.clone());
    let model = ReadModel::new("users", reads.clone(), consistency);
    let history = crate::feed::testing::history_of(dir.path(), &ada_history()).await;
    (IdentityQueriesService { model, history }, reads, dir)
}

fn expected_ada() -> ProtoUser {
    ProtoUser {
        user_id: ada().to_string(),
        email: "ada@example.com".into(),
        display_name: "Ada Lovelace".into(),
        roles: vec!["billing".into(), "orders:admin".into()],
        disabled: false,
        revision: 2,
    }
}

fn get(user_id: &str, min_position: u64) -> Request<GetUserRequest> {
    Request::new(GetUserRequest {
        user_id: user_id.into(),
        consistency: Some(Consistency { min_position }),
        ..Default::default()
    })
}

fn find(email: &str) -> Request<FindUserByEmailRequest> {
    Request::new(FindUserByEmailRequest {
        email: email.into(),
        consistency: None,
    })
}

/// The one field `status` reports as violated.
fn violated_field(status: &Status) -> String {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let details = status
        .get_details_bad_request()
        .expect("BadRequest details");
    assert_eq!(details.field_violations.len(), 1, "{details:?}");
    details.field_violations[0].field.clone()
}

#[tokio::test]
async fn get_user_returns_the_projected_user() {
    let (svc, _reads, _dir) = service().await;
    // Any spelling of the id names the same user.
    let id = ada().to_string().to_uppercase();
    let response = svc.get_user(get(&id, 3)).await.unwrap().into_inner();
    assert_eq!(response.user, Some(expected_ada()));
}

#[tokio::test]
async fn get_user_of_an_unknown_id_is_not_found() {
    let (svc, _reads, _dir) = service().await;
    let bob = UserId::for_command("cmd-bob");
    let status = svc.get_user(get(bob.as_str(), 0)).await.unwrap_err();
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
}

#[tokio::test]
async fn get_user_with_a_malformed_id_names_user_id() {
    let (svc, _reads, _dir) = service().await;
    for bad in ["", "42", "not-a-uuid"] {
        let status = svc.get_user(get(bad, 0)).await.unwrap_err();
        assert_eq!(violated_field(&status), "userId", "{bad:?}");
    }
    let status = svc.get_user(get("42", 0)).await.unwrap_err();
    assert_eq!(
        status.message(),
        "userId: must be a user id (a UUID) as returned by RegisterUser"
    );
}

#[tokio::test]
async fn find_user_by_email_ignores_case_and_padding() {
    let (svc, _reads, _dir) = service().await;
    let response = svc
        .find_user_by_email(find("  ADA@Example.COM "))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(response.user, Some(expected_ada()));
}

#[tokio::test]
async fn find_user_by_an_unknown_email_is_not_found_without_echoing_it() {
    let (svc, _reads, _dir) = service().await;
    let status = svc
        .find_user_by_email(find("bob@example.com"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    assert!(!status.message().contains("bob@"), "{status:?}");
}

#[tokio::test]
async fn find_user_by_a_malformed_email_names_email() {
    let (svc, _reads, _dir) = service().await;
    for bad in ["", "ada", "ada@localhost", "a@b@c.com"] {
        let status = svc.find_user_by_email(find(bad)).await.unwrap_err();
        assert_eq!(violated_field(&status), "email", "{bad:?}");
    }
}

#[tokio::test]
async fn a_position_not_reached_within_the_deadline_is_deadline_exceeded_naming_the_reached_one() {
    let (svc, _reads, _dir) = service().await;
    let mut request = get(ada().as_str(), 10);
    request
        .metadata_mut()
        .insert("grpc-timeout", "200m".parse().unwrap());
    let started = std::time::Instant::now();
    let status = svc.get_user(request).await.unwrap_err();
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    assert!(status.message().contains("position 3"), "{status:?}");
    assert!(status.message().contains("requested 10"), "{status:?}");
    // It did wait (most of its budget) rather than give up at once; the upper bound, 90% of
    // the caller's deadline, is `wait_budget`'s and tested there.
    assert!(
        started.elapsed() >= Duration::from_millis(100),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_query_waits_for_the_projection_to_reach_its_position() {
    let (svc, reads, _dir) = service().await;
    let stream = format!("user-{}", ada());
    let disabled = UserEvent::Disabled {
        user_id: ada(),
        reason: Default::default(),
    };
    let later = recorded(&stream, 3, 4, &disabled);
    let writer = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(30)).await;
        fold(&projection(), &*reads, &[later]).await.unwrap();
    });
    let mut request = get(ada().as_str(), 4);
    request
        .metadata_mut()
        .insert("grpc-timeout", "5S".parse().unwrap());
    let user = svc
        .get_user(request)
        .await
        .unwrap()
        .into_inner()
        .user
        .unwrap();
    assert!(user.disabled && user.revision == 3, "{user:?}");
    writer.await.unwrap();
}

#[tokio::test]
async fn a_document_that_is_not_a_user_is_a_server_fault_not_a_panic() {
    let (svc, reads, _dir) = service().await;
    let bob = UserId::for_command("cmd-bob");
    let broken = WriteOp::Upsert {
        collection: generation::collection(USERS, 1),
        document: Document {
            id: bob.to_string(),
            body: json!({ "userId": bob.to_string(), "email": "bob@example.com" }),
        },
    };
    reads
        .apply(&generation::checkpoint_key("users", 1), vec![broken], 9)
        .await
        .unwrap();
    // INTERNAL, not UNAVAILABLE: retrying cannot fix a document the projection wrote wrong,
    // and the caller learns nothing of its content.
    let status = svc.get_user(get(bob.as_str(), 0)).await.unwrap_err();
    assert_eq!(status.code(), Code::Internal, "{status:?}");
    assert!(!status.message().contains("bob"), "{status:?}");
    let status = svc
        .find_user_by_email(find("bob@example.com"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Internal, "{status:?}");
}
