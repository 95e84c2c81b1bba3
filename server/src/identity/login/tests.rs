//! Logins against users registered, granted and disabled through the real command path.

use std::sync::Arc;

use super::*;
use crate::auth::{
    jwks::{KeyCache, KeySource, Refresh},
    keys::KeyRing,
    verify::{Trust, Verifier},
};
use crate::identity::{
    NewUser, Registration,
    domain::{DisableUser, GrantRole},
    values::{DisplayName, Reason, Role, UserId},
};
use crate::kernel::{CommandContext, Upcasters};
use crate::store::embedded::{Durability, EmbeddedEventStore};

struct Setup {
    _dir: tempfile::TempDir,
    commands: CommandHandler,
    login: Login,
    verifier: Verifier,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedEventStore::open(dir.path(), Durability::Relaxed).unwrap();
    let commands = CommandHandler::new(Arc::new(store), Arc::new(Upcasters::default()));
    let ring = KeyRing::new(dir.path().join("keys"));
    let issuer = TokenIssuer::new(ring.clone(), "causeway", "causeway");
    let login = Login::new(
        commands.clone(),
        PasswordHashing::insecure_fast_for_tests(),
        issuer,
        Duration::from_secs(900),
        Some("acme".into()),
    );
    let refresh = Refresh {
        min_interval: Duration::ZERO,
        max_age: Duration::from_secs(60),
    };
    let verifier = Verifier::new(vec![Trust {
        issuer: "causeway".into(),
        audiences: vec!["causeway".into()],
        keys: Arc::new(KeyCache::new(KeySource::Ring(ring), refresh)),
        roles_claim: "roles".into(),
    }]);
    Setup {
        _dir: dir,
        commands,
        login,
        verifier,
    }
}

async fn register(setup: &Setup, email: &str) -> UserId {
    let registration = Registration::new(
        setup.commands.clone(),
        PasswordHashing::insecure_fast_for_tests(),
    );
    let user = NewUser {
        email: Email::parse(email).unwrap(),
        display_name: DisplayName::parse("Ada").unwrap(),
        password: password("correct horse"),
    };
    let ctx = CommandContext::new(format!("register-{email}"));
    registration.register(&ctx, user).await.unwrap().0
}

fn password(raw: &str) -> Password {
    Password::new(raw.into()).unwrap()
}

fn email(raw: &str) -> Email {
    Email::parse(raw).unwrap()
}

#[tokio::test]
async fn the_right_password_gives_a_token_with_the_users_id_roles_and_tenant() {
    let setup = setup();
    let user_id = register(&setup, "ada@example.com").await;
    let grant = GrantRole {
        user_id: user_id.clone(),
        role: Role::parse("customer").unwrap(),
    };
    setup
        .commands
        .handle(&CommandContext::new("grant-1"), &grant)
        .await
        .unwrap();
    let minted = setup
        .login
        .login(&email(" ADA@example.com "), password("correct horse"))
        .await
        .unwrap();
    assert_eq!(minted.expires_in, Duration::from_secs(900));
    let principal = setup.verifier.verify(&minted.token).await.unwrap();
    assert_eq!(principal.subject, user_id.as_str());
    assert!(principal.roles.contains("customer"));
    assert_eq!(principal.tenant.as_deref(), Some("acme"));
}

#[tokio::test]
async fn a_wrong_password_an_unknown_email_and_a_disabled_user_are_one_refusal() {
    let setup = setup();
    let user_id = register(&setup, "ada@example.com").await;
    let wrong = setup
        .login
        .login(&email("ada@example.com"), password("wrong horse"))
        .await;
    assert!(matches!(wrong, Err(LoginError::Refused)), "{wrong:?}");
    let unknown = setup
        .login
        .login(&email("bob@example.com"), password("correct horse"))
        .await;
    assert!(matches!(unknown, Err(LoginError::Refused)), "{unknown:?}");
    let disable = DisableUser {
        user_id,
        reason: Reason::parse("left").unwrap(),
    };
    setup
        .commands
        .handle(&CommandContext::new("disable-1"), &disable)
        .await
        .unwrap();
    let disabled = setup
        .login
        .login(&email("ada@example.com"), password("correct horse"))
        .await;
    assert!(matches!(disabled, Err(LoginError::Refused)), "{disabled:?}");
}

#[tokio::test]
async fn repeated_failures_throttle_the_email_even_for_the_right_password() {
    let setup = setup();
    register(&setup, "ada@example.com").await;
    for _ in 0..MAX_FAILURES {
        let result = setup
            .login
            .login(&email("ada@example.com"), password("wrong horse"))
            .await;
        assert!(matches!(result, Err(LoginError::Refused)));
    }
    let throttled = setup
        .login
        .login(&email("ada@example.com"), password("correct horse"))
        .await;
    let Err(LoginError::Throttled { retry_after }) = throttled else {
        panic!("expected throttling, got {throttled:?}");
    };
    assert!(retry_after <= WINDOW);
    // Another email is not affected.
    register(&setup, "grace@example.com").await;
    assert!(
        setup
            .login
            .login(&email("grace@example.com"), password("correct horse"))
            .await
            .is_ok()
    );
}
