//! Signing in: an email and a password become an access token, with Causeway as the issuer.
//!
//! The user is found through its email reservation (`useremail-<key>`) and loaded from its own
//! stream, so a login sees a role change or a disabled account as soon as it is written, not
//! when a read model catches up. Unknown email, wrong password and disabled account are one
//! refusal, and cost one argon2 computation each, so neither the answer nor its timing tells
//! which. Attempts are counted per email before they are checked, and a success forgets them:
//! past [`MAX_FAILURES`] within [`WINDOW`] the email is refused without checking until the
//! window ends, however many guesses arrive at once.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use super::domain::{EmailReservation, User};
use super::password::{HashingError, Password, PasswordHashing};
use super::values::Email;
use crate::auth::tokens::{MintError, Minted, TokenIssuer};
use crate::kernel::{Aggregate, CommandError, CommandHandler};

/// Failed logins for one email before it is refused for the rest of the window.
pub const MAX_FAILURES: u32 = 5;
/// How long failed logins are remembered.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Emails with failures tracked at once; beyond it the stalest are forgotten.
const MAX_TRACKED: usize = 100_000;

/// Why a login did not produce a token.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Unknown email, wrong password or disabled account (deliberately not told apart).
    #[error("wrong email or password, or the account is disabled")]
    Refused,
    /// Too many failed attempts for this email.
    #[error("too many failed logins for this email; retry in {} s", retry_after.as_secs().max(1))]
    Throttled {
        /// When the email is accepted again.
        retry_after: Duration,
    },
    /// The user could not be loaded.
    #[error(transparent)]
    Command(#[from] CommandError),
    /// The password could not be checked.
    #[error(transparent)]
    Hashing(#[from] HashingError),
    /// The token could not be signed.
    #[error(transparent)]
    Mint(#[from] MintError),
}

/// The login flow.
#[derive(Clone)]
pub struct Login {
    commands: CommandHandler,
    passwords: PasswordHashing,
    issuer: TokenIssuer,
    ttl: Duration,
    tenant: Option<String>,
    failures: Arc<Failures>,
}

impl Login {
    /// Logins that load users through `commands`, check with `passwords` and issue tokens of
    /// `ttl` (with `tenant`, when set) through `issuer`.
    pub fn new(
        commands: CommandHandler,
        passwords: PasswordHashing,
        issuer: TokenIssuer,
        ttl: Duration,
        tenant: Option<String>,
    ) -> Self {
        Self {
            commands,
            passwords,
            issuer,
            ttl,
            tenant,
            failures: Arc::default(),
        }
    }

    /// A token for the user with `email` if `password` is theirs.
    pub async fn login(&self, email: &Email, password: Password) -> Result<Minted, LoginError> {
        // Counted before checking: guesses sent at once cannot all pass a check made before
        // any of them failed. (An attempt that fails for an infrastructure reason counts too.)
        self.failures
            .attempt(email.as_str())
            .map_err(|retry_after| LoginError::Throttled { retry_after })?;
        let reservation = EmailReservation::stream_id(&EmailReservation::key(email));
        let holder = self
            .commands
            .load::<EmailReservation>(&reservation)
            .await?
            .state
            .held_by()
            .cloned();
        let user = match &holder {
            Some(user_id) => {
                let stream = User::stream_id(user_id.as_str());
                self.commands.load::<User>(&stream).await?.state
            }
            None => User::default(),
        };
        let verified = match (user.exists() && !user.disabled(), user.password_hash()) {
            (true, Some(hash)) => self.passwords.verify(password, hash).await?,
            // The same work as a real check, so timing does not tell an unknown email apart.
            _ => {
                self.passwords.hash(password).await?;
                false
            }
        };
        let (true, Some(user_id)) = (verified, holder) else {
            return Err(LoginError::Refused);
        };
        self.failures.forget(email.as_str());
        let roles = user.roles().iter().map(ToString::to_string).collect();
        Ok(self
            .issuer
            .mint(user_id.as_str(), roles, self.tenant.clone(), self.ttl)?)
    }
}

/// Unsuccessful logins per email within the window (counted when they start).
#[derive(Debug, Default)]
struct Failures {
    by_email: Mutex<HashMap<String, (u32, Instant)>>,
}

impl Failures {
    /// Counts an attempt for `email`, or says how long it is still refused instead.
    fn attempt(&self, email: &str) -> Result<(), Duration> {
        let mut by_email = self.by_email.lock().unwrap_or_else(|e| e.into_inner());
        if by_email.len() >= MAX_TRACKED {
            by_email.retain(|_, (_, since)| since.elapsed() < WINDOW);
        }
        if by_email.len() >= MAX_TRACKED {
            by_email.clear();
        }
        let entry = by_email
            .entry(email.to_owned())
            .or_insert((0, Instant::now()));
        let left = WINDOW.checked_sub(entry.1.elapsed());
        match left {
            None => *entry = (0, Instant::now()),
            Some(left) if entry.0 >= MAX_FAILURES => return Err(left),
            Some(_) => {}
        }
        entry.0 += 1;
        Ok(())
    }

    fn forget(&self, email: &str) {
        self.by_email
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(email);
    }
}

#[cfg(test)]
mod tests;
