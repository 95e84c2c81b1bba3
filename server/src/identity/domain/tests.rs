//! Given past events, when a command is decided, then these events (or this refusal).

use super::*;

/// Given the history of a stream, when a decision runs on the folded state, then it yields
/// exactly these events or this refusal.
fn given<A: Aggregate>(history: &[A::Event]) -> A {
    A::fold(history)
}

#[track_caller]
fn then<E: std::fmt::Debug + PartialEq>(
    outcome: Result<Vec<E>, IdentityError>,
    expected: Result<Vec<E>, IdentityError>,
) {
    assert_eq!(outcome, expected);
}

fn ada() -> UserId {
    UserId::for_command("cmd-ada")
}
fn bob() -> UserId {
    UserId::for_command("cmd-bob")
}
fn email() -> Email {
    Email::parse("ada@example.com").unwrap()
}
fn role(name: &str) -> Role {
    Role::parse(name).unwrap()
}
fn registration() -> RegisterUser {
    RegisterUser {
        user_id: ada(),
        email: email(),
        display_name: DisplayName::parse("Ada").unwrap(),
        password_hash: PasswordHash::from_phc("$argon2id$v=19$x".into()).unwrap(),
    }
}
fn registered() -> UserEvent {
    let cmd = registration();
    UserEvent::Registered {
        user_id: cmd.user_id,
        email: cmd.email,
        display_name: cmd.display_name,
        password_hash: cmd.password_hash,
    }
}
fn granted(name: &str) -> UserEvent {
    UserEvent::RoleGranted {
        user_id: ada(),
        role: role(name),
    }
}
fn disabled() -> UserEvent {
    UserEvent::Disabled {
        user_id: ada(),
        reason: Reason::default(),
    }
}
fn grant(name: &str) -> GrantRole {
    GrantRole {
        user_id: ada(),
        role: role(name),
    }
}
fn revoke(name: &str) -> RevokeRole {
    RevokeRole {
        user_id: ada(),
        role: role(name),
    }
}
fn disable() -> DisableUser {
    DisableUser {
        user_id: ada(),
        reason: Reason::parse("left").unwrap(),
    }
}
fn reserved_by(user_id: UserId) -> EmailEvent {
    EmailEvent::Reserved {
        email: email(),
        user_id,
    }
}

#[test]
fn a_free_email_is_reserved() {
    let state = given::<EmailReservation>(&[]);
    then(
        reserve_email(&state, &email(), &ada()),
        Ok(vec![reserved_by(ada())]),
    );
}

#[test]
fn an_email_held_by_the_same_user_needs_nothing_so_a_retry_proceeds() {
    let state = given::<EmailReservation>(&[reserved_by(ada())]);
    then(reserve_email(&state, &email(), &ada()), Ok(vec![]));
}

#[test]
fn an_email_held_by_another_user_is_taken() {
    let state = given::<EmailReservation>(&[reserved_by(bob())]);
    then(
        reserve_email(&state, &email(), &ada()),
        Err(IdentityError::EmailTaken),
    );
    assert_eq!(state.held_by(), Some(&bob()));
}

#[test]
fn a_new_user_is_registered() {
    let state = given::<User>(&[]);
    then(
        register_user(&state, &registration()),
        Ok(vec![registered()]),
    );
    let user = given::<User>(&[registered()]);
    assert!(user.exists() && !user.disabled() && user.roles().is_empty());
    assert_eq!(user.email(), Some(&email()));
    assert_eq!(user.display_name().map(DisplayName::as_str), Some("Ada"));
    assert!(user.password_hash().is_some());
}

#[test]
fn a_user_is_registered_once() {
    let state = given::<User>(&[registered()]);
    then(
        register_user(&state, &registration()),
        Err(IdentityError::AlreadyRegistered(ada())),
    );
}

#[test]
fn a_role_is_granted_to_an_active_user() {
    let state = given::<User>(&[registered(), granted("reader")]);
    then(
        grant_role(&state, &grant("orders:admin")),
        Ok(vec![granted("orders:admin")]),
    );
}

#[test]
fn roles_of_unknown_users_are_not_found() {
    let state = given::<User>(&[]);
    then(
        grant_role(&state, &grant("a")),
        Err(IdentityError::UnknownUser(ada())),
    );
    then(
        revoke_role(&state, &revoke("a")),
        Err(IdentityError::UnknownUser(ada())),
    );
    then(
        disable_user(&state, &disable()),
        Err(IdentityError::UnknownUser(ada())),
    );
}

#[test]
fn a_disabled_user_gains_no_roles() {
    let state = given::<User>(&[registered(), disabled()]);
    then(
        grant_role(&state, &grant("a")),
        Err(IdentityError::Disabled(ada())),
    );
}

#[test]
fn a_held_role_is_not_granted_twice() {
    let state = given::<User>(&[registered(), granted("a")]);
    then(
        grant_role(&state, &grant("a")),
        Err(IdentityError::RoleAlreadyGranted {
            user_id: ada(),
            role: role("a"),
        }),
    );
}

#[test]
fn a_held_role_is_revoked_even_from_a_disabled_user() {
    let revoked = UserEvent::RoleRevoked {
        user_id: ada(),
        role: role("a"),
    };
    let state = given::<User>(&[registered(), granted("a"), disabled()]);
    then(revoke_role(&state, &revoke("a")), Ok(vec![revoked.clone()]));
    let state = given::<User>(&[registered(), granted("a"), revoked]);
    assert!(state.roles().is_empty());
}

#[test]
fn a_role_not_held_cannot_be_revoked() {
    let state = given::<User>(&[registered(), granted("a")]);
    then(
        revoke_role(&state, &revoke("b")),
        Err(IdentityError::RoleNotGranted {
            user_id: ada(),
            role: role("b"),
        }),
    );
}

#[test]
fn an_active_user_is_disabled_once() {
    let state = given::<User>(&[registered()]);
    let expected = UserEvent::Disabled {
        user_id: ada(),
        reason: disable().reason,
    };
    then(disable_user(&state, &disable()), Ok(vec![expected]));
    let state = given::<User>(&[registered(), disabled()]);
    then(
        disable_user(&state, &disable()),
        Err(IdentityError::AlreadyDisabled(ada())),
    );
}

#[test]
fn unknown_users_are_not_found_and_broken_rules_are_rejected() {
    assert!(matches!(
        CommandError::from(IdentityError::UnknownUser(ada())),
        CommandError::NotFound(_)
    ));
    let taken = CommandError::from(IdentityError::EmailTaken);
    assert!(matches!(&taken, CommandError::Rejected(m) if m == "email already registered"));
    assert!(matches!(
        CommandError::from(IdentityError::AlreadyDisabled(ada())),
        CommandError::Rejected(_)
    ));
}
