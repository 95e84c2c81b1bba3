//! Users, their roles, and the reservations that keep emails unique. Pure: state is folded from
//! events and every decision is a function of that state and a validated command, so each rule
//! is tested here with given/when/then and no store.
//!
//! Why two aggregates: a user's stream cannot see other users, so "one account per email" is
//! its own consistency boundary, the `useremail-<key>` stream, whose first writer wins by
//! optimistic concurrency. No read model is trusted for uniqueness.

use std::collections::BTreeSet;

pub use super::values::{DisplayName, Email, InvalidValue, PasswordHash, Reason, Role, UserId};
use crate::kernel::{Aggregate, CommandError, decisions, ids::natural_key};

/// What happened to a user; the events of a `user-<id>` stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserEvent {
    /// The account was created; always the stream's first event.
    Registered {
        /// The new user.
        user_id: UserId,
        /// Its (reserved) email.
        email: Email,
        /// How it is shown to people.
        display_name: DisplayName,
        /// argon2id PHC string of its password.
        password_hash: PasswordHash,
    },
    /// The user may now act in `role`.
    RoleGranted {
        /// The user.
        user_id: UserId,
        /// The role granted.
        role: Role,
    },
    /// The user may no longer act in `role`.
    RoleRevoked {
        /// The user.
        user_id: UserId,
        /// The role revoked.
        role: Role,
    },
    /// The account may no longer be used; permanent.
    Disabled {
        /// The user.
        user_id: UserId,
        /// Why, for auditors (may be empty).
        reason: Reason,
    },
}

/// What happened to an email reservation; the events of a `useremail-<key>` stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmailEvent {
    /// The email now belongs to `user_id`; the stream's first and only event.
    Reserved {
        /// The reserved email.
        email: Email,
        /// Its owner.
        user_id: UserId,
    },
}

/// A user account, as far as decisions need it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct User {
    exists: bool,
    email: Option<Email>,
    display_name: Option<DisplayName>,
    password_hash: Option<PasswordHash>,
    roles: BTreeSet<Role>,
    disabled: bool,
}

impl User {
    /// Whether the user was registered.
    pub fn exists(&self) -> bool {
        self.exists
    }
    /// The user's email, once registered.
    pub fn email(&self) -> Option<&Email> {
        self.email.as_ref()
    }
    /// The user's display name, once registered.
    pub fn display_name(&self) -> Option<&DisplayName> {
        self.display_name.as_ref()
    }
    /// The stored password hash, for verifying a login.
    pub fn password_hash(&self) -> Option<&PasswordHash> {
        self.password_hash.as_ref()
    }
    /// Roles currently held.
    pub fn roles(&self) -> &BTreeSet<Role> {
        &self.roles
    }
    /// Whether the account was disabled.
    pub fn disabled(&self) -> bool {
        self.disabled
    }
}

impl Aggregate for User {
    const CATEGORY: &'static str = "user";
    type Event = UserEvent;

    fn apply(&mut self, event: &UserEvent) {
        match event {
            UserEvent::Registered {
                email,
                display_name,
                password_hash,
                ..
            } => {
                self.exists = true;
                self.email = Some(email.clone());
                self.display_name = Some(display_name.clone());
                self.password_hash = Some(password_hash.clone());
            }
            UserEvent::RoleGranted { role, .. } => {
                self.roles.insert(role.clone());
            }
            UserEvent::RoleRevoked { role, .. } => {
                self.roles.remove(role);
            }
            UserEvent::Disabled { .. } => self.disabled = true,
        }
    }
}

/// Who holds one email address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EmailReservation {
    held_by: Option<UserId>,
}

impl EmailReservation {
    /// The reservation stream's id for `email`: a hash, so that no address appears in a
    /// stream name and any address fits the store's naming rules.
    pub fn key(email: &Email) -> String {
        natural_key("email", email.as_str())
    }
    /// The user holding the email, if any.
    pub fn held_by(&self) -> Option<&UserId> {
        self.held_by.as_ref()
    }
}

impl Aggregate for EmailReservation {
    const CATEGORY: &'static str = "useremail";
    type Event = EmailEvent;

    fn apply(&mut self, event: &EmailEvent) {
        match event {
            EmailEvent::Reserved { user_id, .. } => self.held_by = Some(user_id.clone()),
        }
    }
}

/// Create an account (after its email was reserved for it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterUser {
    /// Derived from the command id, so a retry names the same user.
    pub user_id: UserId,
    /// The reserved email.
    pub email: Email,
    /// Display name.
    pub display_name: DisplayName,
    /// Hash of the chosen password; the password itself never reaches the domain.
    pub password_hash: PasswordHash,
}

/// Let a user act in a role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantRole {
    /// The user.
    pub user_id: UserId,
    /// The role.
    pub role: Role,
}

/// Take a role away from a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokeRole {
    /// The user.
    pub user_id: UserId,
    /// The role.
    pub role: Role,
}

/// Switch an account off for good.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisableUser {
    /// The user.
    pub user_id: UserId,
    /// Why, for auditors.
    pub reason: Reason,
}

/// Why the identity domain refused a command. Messages reach callers, so they never contain a
/// password, a hash or (for enumeration's sake) another user's email.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    /// No user has this id.
    #[error("user {0} not found")]
    UnknownUser(UserId),
    /// Another user already holds the email.
    #[error("email already registered")]
    EmailTaken,
    /// The user stream already holds a registration.
    #[error("user {0} is already registered")]
    AlreadyRegistered(UserId),
    /// Disabled users cannot gain roles.
    #[error("user {0} is disabled")]
    Disabled(UserId),
    /// Granting twice is a caller mistake worth surfacing.
    #[error("user {user_id} already has role {role}")]
    RoleAlreadyGranted {
        /// The user.
        user_id: UserId,
        /// The role.
        role: Role,
    },
    /// Revoking what was never granted is a caller mistake worth surfacing.
    #[error("user {user_id} does not have role {role}")]
    RoleNotGranted {
        /// The user.
        user_id: UserId,
        /// The role.
        role: Role,
    },
    /// Disabling is permanent and happens once.
    #[error("user {0} is already disabled")]
    AlreadyDisabled(UserId),
}

impl From<IdentityError> for CommandError {
    fn from(error: IdentityError) -> Self {
        match error {
            IdentityError::UnknownUser(id) => Self::NotFound(format!("user {id}")),
            rule => Self::Rejected(rule.to_string()),
        }
    }
}

decisions!(User, IdentityError;
    GrantRole => grant_role, user_id;
    RevokeRole => revoke_role, user_id;
    DisableUser => disable_user, user_id;
);

/// Reserve `email` for `user_id`. Held by the same user already: nothing to do, so a retried
/// registration (same command, same derived user id) proceeds to create the user.
pub fn reserve_email(
    state: &EmailReservation,
    email: &Email,
    user_id: &UserId,
) -> Result<Vec<EmailEvent>, IdentityError> {
    match &state.held_by {
        None => Ok(vec![EmailEvent::Reserved {
            email: email.clone(),
            user_id: user_id.clone(),
        }]),
        Some(holder) if holder == user_id => Ok(vec![]),
        Some(_) => Err(IdentityError::EmailTaken),
    }
}

/// Create the user.
pub fn register_user(state: &User, cmd: &RegisterUser) -> Result<Vec<UserEvent>, IdentityError> {
    if state.exists {
        return Err(IdentityError::AlreadyRegistered(cmd.user_id.clone()));
    }
    Ok(vec![UserEvent::Registered {
        user_id: cmd.user_id.clone(),
        email: cmd.email.clone(),
        display_name: cmd.display_name.clone(),
        password_hash: cmd.password_hash.clone(),
    }])
}

/// Grant a role to an active user who lacks it.
pub fn grant_role(state: &User, cmd: &GrantRole) -> Result<Vec<UserEvent>, IdentityError> {
    existing(state, &cmd.user_id)?;
    if state.disabled {
        return Err(IdentityError::Disabled(cmd.user_id.clone()));
    }
    if state.roles.contains(&cmd.role) {
        return Err(IdentityError::RoleAlreadyGranted {
            user_id: cmd.user_id.clone(),
            role: cmd.role.clone(),
        });
    }
    Ok(vec![UserEvent::RoleGranted {
        user_id: cmd.user_id.clone(),
        role: cmd.role.clone(),
    }])
}

/// Revoke a role the user holds. Allowed on disabled users: removing privileges is always safe.
pub fn revoke_role(state: &User, cmd: &RevokeRole) -> Result<Vec<UserEvent>, IdentityError> {
    existing(state, &cmd.user_id)?;
    if !state.roles.contains(&cmd.role) {
        return Err(IdentityError::RoleNotGranted {
            user_id: cmd.user_id.clone(),
            role: cmd.role.clone(),
        });
    }
    Ok(vec![UserEvent::RoleRevoked {
        user_id: cmd.user_id.clone(),
        role: cmd.role.clone(),
    }])
}

/// Disable an active user.
pub fn disable_user(state: &User, cmd: &DisableUser) -> Result<Vec<UserEvent>, IdentityError> {
    existing(state, &cmd.user_id)?;
    if state.disabled {
        return Err(IdentityError::AlreadyDisabled(cmd.user_id.clone()));
    }
    Ok(vec![UserEvent::Disabled {
        user_id: cmd.user_id.clone(),
        reason: cmd.reason.clone(),
    }])
}

fn existing(state: &User, user_id: &UserId) -> Result<(), IdentityError> {
    if state.exists {
        Ok(())
    } else {
        Err(IdentityError::UnknownUser(user_id.clone()))
    }
}

#[cfg(test)]
mod tests;
