//! The `users` read model: one document per user, folded from the `user-<id>` streams, so that
//! queries can look users up by id or email without replaying events.
//!
//! What the document holds is fixed by [`UserDocument`], which has no field for a password
//! hash: a read model is copied, cached and exposed far more freely than the event store, so
//! the hash cannot leak through it even by accident. The `useremail-<key>` reservation streams
//! are not projected; uniqueness is decided there, and the unique index on `email` here is
//! only a safety net that makes a broken invariant visible (the runner parks the event).

use std::{collections::BTreeSet, sync::Arc};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::domain::{User, UserEvent};
use crate::{
    kernel::{Aggregate, Upcasters},
    projection::{BatchView, Evolve, Projection, ProjectionError, evolve::apply_to},
    readstore::IndexSpec,
    store::RecordedEvent,
};

/// Logical collection of the user documents; the document id is the user id.
pub const USERS: &str = "users";

/// One user as queries see it, stored as camelCase JSON. Shared by the projection (which
/// writes it) and the query handlers (which read it), so both agree on one shape. It
/// deliberately cannot hold a password hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserDocument {
    /// Canonical user id, also the document id.
    pub user_id: String,
    /// Normalised (lower-case) email; uniquely indexed.
    pub email: String,
    /// How the user is shown to people.
    pub display_name: String,
    /// Roles held, serialised as a sorted array so equal states give equal documents.
    pub roles: BTreeSet<String>,
    /// Whether the account was disabled.
    pub disabled: bool,
    /// Revision of the last event of the user's stream folded in: the idempotence guard, and
    /// what a client passes as `expected_revision` to its next command.
    pub revision: u64,
}

/// Folds user events into [`UserDocument`]s.
pub struct UsersProjection {
    upcasters: Arc<Upcasters>,
}

impl UsersProjection {
    /// A projection decoding stored events through `upcasters`, so old schema versions read
    /// the same way the command side reads them.
    pub fn new(upcasters: Arc<Upcasters>) -> Self {
        Self { upcasters }
    }
}

/// The user an event is about.
fn user_of(event: &UserEvent) -> &str {
    match event {
        UserEvent::Registered { user_id, .. }
        | UserEvent::RoleGranted { user_id, .. }
        | UserEvent::RoleRevoked { user_id, .. }
        | UserEvent::Disabled { user_id, .. } => user_id.as_str(),
    }
}

#[async_trait]
impl Projection for UsersProjection {
    fn name(&self) -> &'static str {
        "users"
    }

    fn categories(&self) -> &'static [&'static str] {
        &[User::CATEGORY]
    }

    fn indexes(&self) -> Vec<IndexSpec> {
        vec![IndexSpec {
            collection: USERS.to_owned(),
            fields: vec!["email".to_owned()],
            unique: true,
        }]
    }

    async fn apply(
        &self,
        event: &RecordedEvent,
        view: &mut BatchView<'_>,
    ) -> Result<(), ProjectionError> {
        let decoded: UserEvent = self.upcasters.decode(event)?;
        let id = user_of(&decoded).to_owned();
        // The revision guard is only sound if a document follows exactly one stream.
        if event.stream != format!("{}-{id}", User::CATEGORY) {
            return Err(ProjectionError::Inconsistent(format!(
                "event {}@{} is about user {id}, not its stream's user",
                event.stream, event.revision
            )));
        }
        apply_to::<UserDocument>(view, USERS, &id, decoded, event).await
    }
}

impl Evolve for UserDocument {
    type Event = UserEvent;

    fn evolve(
        current: Option<Self>,
        event: UserEvent,
        recorded: &RecordedEvent,
    ) -> Result<Self, String> {
        let mut doc = match (event, current) {
            (
                UserEvent::Registered {
                    user_id,
                    email,
                    display_name,
                    password_hash: _, // never projected
                },
                None,
            ) => UserDocument {
                user_id: user_id.to_string(),
                email: email.to_string(),
                display_name: display_name.to_string(),
                roles: BTreeSet::new(),
                disabled: false,
                revision: recorded.revision,
            },
            (UserEvent::Registered { .. }, Some(_)) => {
                return Err("the user was already registered".into());
            }
            (_, None) => return Err("the user was never registered".into()),
            (UserEvent::RoleGranted { role, .. }, Some(mut doc)) => {
                doc.roles.insert(role.to_string());
                doc
            }
            (UserEvent::RoleRevoked { role, .. }, Some(mut doc)) => {
                doc.roles.remove(role.as_str());
                doc
            }
            (UserEvent::Disabled { .. }, Some(mut doc)) => {
                doc.disabled = true;
                doc
            }
        };
        doc.revision = recorded.revision;
        Ok(doc)
    }

    fn revision(&self) -> u64 {
        self.revision
    }
}

#[cfg(test)]
mod tests;
