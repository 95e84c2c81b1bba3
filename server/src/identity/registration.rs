//! RegisterUser, the identity context's one command that writes two streams:
//!
//! 0. a user stream already created by this command id means a retry: answer its ack;
//! 1. reserve the email on its `useremail-<key>` stream for the user id derived from the command
//!    id. Uniqueness rests on this stream's optimistic concurrency: of two commands racing for
//!    one email, exactly one append succeeds and the other, on reload, finds the email taken.
//! 2. hash the password (slow, so only once the email is known to be ours);
//! 3. create the user on its `user-<id>` stream.
//!
//! There is no transaction across the streams and none is needed: a crash between 1 and 3
//! leaves a reservation held by the derived user id, and the client's retry (same command id,
//! so same user id) finds it "already ours" and completes step 3.

use tracing::error;

use super::domain::{
    EmailReservation, IdentityError, RegisterUser, User, UserId, register_user, reserve_email,
};
use super::password::{HashingError, Password, PasswordHashing};
use super::values::{DisplayName, Email};
use crate::kernel::{Ack, Aggregate, CommandContext, CommandError, CommandHandler};

/// A validated RegisterUser request. The password is wrapped so it cannot be logged.
#[derive(Debug)]
pub struct NewUser {
    /// The email to reserve.
    pub email: Email,
    /// The display name.
    pub display_name: DisplayName,
    /// The chosen password, hashed before anything stores it.
    pub password: Password,
}

/// Why a registration failed.
#[derive(Debug, thiserror::Error)]
pub enum RegistrationError {
    /// A kernel or domain refusal (taken email, conflict, store failure...).
    #[error(transparent)]
    Command(#[from] CommandError),
    /// The password could not be hashed; an internal fault, not the caller's.
    #[error(transparent)]
    Hashing(#[from] HashingError),
}

impl From<RegistrationError> for tonic::Status {
    fn from(error: RegistrationError) -> Self {
        match error {
            RegistrationError::Command(e) => e.into(),
            RegistrationError::Hashing(e) => {
                error!(error = %e, "password hashing failed");
                tonic::Status::internal("the password could not be processed; retry later")
            }
        }
    }
}

/// The registration flow, over the command handler and the password hasher it needs.
#[derive(Clone)]
pub struct Registration {
    commands: CommandHandler,
    passwords: PasswordHashing,
}

impl Registration {
    /// A registration flow writing through `commands` and hashing with `passwords`.
    pub fn new(commands: CommandHandler, passwords: PasswordHashing) -> Self {
        Self {
            commands,
            passwords,
        }
    }

    /// Registers `user`; returns the new user's id and the ack of its `user-<id>` stream. A
    /// repeated command returns the same id and a deduplicated ack.
    pub async fn register(
        &self,
        ctx: &CommandContext,
        user: NewUser,
    ) -> Result<(UserId, Ack), RegistrationError> {
        if ctx.expected_revision.is_some() {
            // It would apply to both streams, and neither exists before the command.
            return Err(CommandError::invalid(
                "options.expectedRevision",
                "not supported by RegisterUser: the user does not exist yet",
            )
            .into());
        }
        let user_id = UserId::for_command(&ctx.command_id);
        let NewUser {
            email,
            display_name,
            password,
        } = user;

        // A retry of a completed registration must neither pay for a second argon2 hash nor,
        // should the client have changed the payload, reserve a second email. One read of the
        // user stream (cheap, usually empty) tells: only this command id derives this user id,
        // so an existing user was registered by this command, and the execute below answers
        // with the original ack by deduplication, without deciding.
        let stream = User::stream_id(user_id.as_str());
        let password_hash = if self.commands.load::<User>(&stream).await?.state.exists() {
            None
        } else {
            let (reserved, owner) = (email.clone(), user_id.clone());
            self.commands
                .execute::<EmailReservation, _>(&EmailReservation::key(&email), ctx, move |state| {
                    reserve_email(state, &reserved, &owner)
                })
                .await?;
            Some(self.passwords.hash(password).await?)
        };

        let ack = self
            .commands
            .execute::<User, _>(user_id.as_str(), ctx, {
                let user_id = user_id.clone();
                move |state| {
                    let Some(password_hash) = password_hash.clone() else {
                        return Err(IdentityError::AlreadyRegistered(user_id.clone()));
                    };
                    register_user(
                        state,
                        &RegisterUser {
                            user_id: user_id.clone(),
                            email: email.clone(),
                            display_name: display_name.clone(),
                            password_hash,
                        },
                    )
                }
            })
            .await?;
        Ok((user_id, ack))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::kernel::Upcasters;
    use crate::store::embedded::{Durability, EmbeddedEventStore};

    fn registration(dir: &tempfile::TempDir) -> Registration {
        let store = EmbeddedEventStore::open(dir.path(), Durability::Relaxed).unwrap();
        let commands = CommandHandler::new(Arc::new(store), Arc::new(Upcasters::default()));
        Registration::new(commands, PasswordHashing::insecure_fast_for_tests())
    }

    fn ada(email: &str) -> NewUser {
        NewUser {
            email: Email::parse(email).unwrap(),
            display_name: DisplayName::parse("Ada").unwrap(),
            password: Password::new("correct horse".into()).unwrap(),
        }
    }

    fn rejected(result: Result<(UserId, Ack), RegistrationError>) -> String {
        match result {
            Err(RegistrationError::Command(CommandError::Rejected(why))) => why,
            other => panic!("expected a rejection, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn registers_a_user_holding_its_email() {
        let dir = tempfile::tempdir().unwrap();
        let flow = registration(&dir);
        let ctx = CommandContext::new("cmd-1");
        let (user_id, ack) = flow.register(&ctx, ada("ada@example.com")).await.unwrap();
        assert_eq!(user_id, UserId::for_command("cmd-1"));
        assert_eq!(ack.stream_id, format!("user-{user_id}"));
        assert_eq!((ack.revision, ack.deduplicated), (0, false));
        let user = flow
            .commands
            .load::<User>(&ack.stream_id)
            .await
            .unwrap()
            .state;
        assert!(user.exists());
        assert!(
            user.password_hash()
                .unwrap()
                .as_phc()
                .starts_with("$argon2id$")
        );
        let key = EmailReservation::key(&Email::parse("ada@example.com").unwrap());
        let stream = EmailReservation::stream_id(&key);
        let reservation = flow
            .commands
            .load::<EmailReservation>(&stream)
            .await
            .unwrap();
        assert_eq!(reservation.state.held_by(), Some(&user_id));
    }

    #[tokio::test]
    async fn an_email_registered_by_another_command_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let flow = registration(&dir);
        flow.register(&CommandContext::new("cmd-1"), ada("ada@example.com"))
            .await
            .unwrap();
        let again = flow
            .register(&CommandContext::new("cmd-2"), ada("  ADA@example.com"))
            .await;
        assert_eq!(rejected(again), "email already registered");
        let loser = User::stream_id(UserId::for_command("cmd-2").as_str());
        let loser = flow.commands.load::<User>(&loser).await.unwrap();
        assert!(!loser.state.exists(), "no user stream for the loser");
    }

    #[tokio::test]
    async fn a_repeated_command_is_deduplicated_with_the_same_user_id() {
        let dir = tempfile::tempdir().unwrap();
        let flow = registration(&dir);
        let ctx = CommandContext::new("cmd-1");
        let (first_id, first) = flow.register(&ctx, ada("ada@example.com")).await.unwrap();
        let (again_id, again) = flow.register(&ctx, ada("ada@example.com")).await.unwrap();
        assert_eq!(again_id, first_id);
        assert!(again.deduplicated);
        assert_eq!(
            (again.stream_id, again.revision, again.position),
            (first.stream_id.clone(), first.revision, first.position)
        );
        let records = flow
            .commands
            .store()
            .read_stream(&first.stream_id, 0)
            .await
            .unwrap();
        assert_eq!(records.len(), 1, "nothing appended by the retry");
        // A retry that (wrongly) changed the email still only answers the original registration.
        let (changed_id, changed) = flow.register(&ctx, ada("bob@example.com")).await.unwrap();
        assert_eq!((changed_id, changed.deduplicated), (first_id, true));
        let key = EmailReservation::key(&Email::parse("bob@example.com").unwrap());
        let stream = EmailReservation::stream_id(&key);
        let other = flow.commands.store().read_stream(&stream, 0).await.unwrap();
        assert!(other.is_empty(), "no orphaned reservation");
    }

    #[tokio::test]
    async fn a_retry_after_a_crash_between_the_streams_completes_the_registration() {
        let dir = tempfile::tempdir().unwrap();
        let flow = registration(&dir);
        let ctx = CommandContext::new("cmd-1");
        let user_id = UserId::for_command(&ctx.command_id);
        let email = Email::parse("ada@example.com").unwrap();
        // Step 1 only, as if the process died before creating the user.
        flow.commands
            .execute::<EmailReservation, _>(&EmailReservation::key(&email), &ctx, {
                let (email, user_id) = (email.clone(), user_id.clone());
                move |s| reserve_email(s, &email, &user_id)
            })
            .await
            .unwrap();
        let (id, ack) = flow.register(&ctx, ada("ada@example.com")).await.unwrap();
        assert_eq!(id, user_id);
        assert!(!ack.deduplicated, "the user is created by the retry");
        let other = flow
            .register(&CommandContext::new("cmd-2"), ada("ada@example.com"))
            .await;
        assert_eq!(rejected(other), "email already registered");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn of_concurrent_registrations_of_one_email_exactly_one_wins() {
        let dir = tempfile::tempdir().unwrap();
        let flow = registration(&dir);
        let attempts = (0..6).map(|i| {
            let flow = flow.clone();
            tokio::spawn(async move {
                let ctx = CommandContext::new(format!("cmd-{i}"));
                flow.register(&ctx, ada("race@example.com")).await
            })
        });
        let results = futures::future::join_all(attempts).await;
        let (mut won, mut lost) = (0, 0);
        for result in results {
            match result.unwrap() {
                Ok(_) => won += 1,
                other => {
                    assert_eq!(rejected(other), "email already registered");
                    lost += 1;
                }
            }
        }
        assert_eq!((won, lost), (1, 5));
    }

    #[tokio::test]
    async fn an_expected_revision_is_refused_before_anything_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let flow = registration(&dir);
        let ctx = CommandContext {
            expected_revision: Some(0),
            ..CommandContext::new("cmd-1")
        };
        let result = flow.register(&ctx, ada("ada@example.com")).await;
        assert!(matches!(
            result,
            Err(RegistrationError::Command(CommandError::Invalid(v))) if v[0].field == "options.expectedRevision"
        ));
        assert_eq!(flow.commands.store().head_position().await.unwrap(), None);
    }
}
