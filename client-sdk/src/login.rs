//! Signing in with an email and a password: `causeway.identity.v1.Sessions/Login` answers a
//! short-lived access token, which is kept and sent until shortly before it expires, then
//! replaced by signing in again.
//!
//! Refreshing ahead: a token is replaced once less than [`REFRESH_AHEAD`] (or half its life,
//! for short-lived tokens) is left, so no call carries a token about to expire. Its life is
//! counted from when the login was *sent*, one second short of `expires_in`: the server's
//! `exp` is in whole seconds, rounded down.
//!
//! One refresh at a time: callers that find the token due wait for the one login in flight
//! instead of each signing in; while the old token is still valid they do not wait at all. A
//! refresh that fails while the old token is still valid keeps it (the next call tries again).
//! A token the server refuses is dropped, so the next call signs in again.

use std::{
    fmt,
    sync::{Mutex, PoisonError},
    time::Duration,
};

use causeway_proto::identity::{LoginRequest, sessions_client::SessionsClient};
use tokio::time::Instant;

use crate::{Client, Error, call::Caller, retry::CallKind};

/// How long before its expiry a token is replaced (at most half its life).
pub(crate) const REFRESH_AHEAD: Duration = Duration::from_secs(60);

/// The granularity of the server's `exp`, taken off the token's life.
const EXP_GRANULARITY: Duration = Duration::from_secs(1);

/// An access token. Its `Debug` output never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken(String);

impl AccessToken {
    pub(crate) fn new(token: String) -> Self {
        Self(token)
    }

    /// The token itself, for an `Authorization: Bearer …` header of your own (the REST
    /// gateway, another service that trusts Causeway's tokens). Do not log it.
    pub fn secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AccessToken {
    /// Never prints the token.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken(..)")
    }
}

/// A password, kept only to sign in again. Its `Debug` output never shows it.
#[derive(Clone)]
pub(crate) struct Password(String);

impl Password {
    pub(crate) fn new(password: String) -> Self {
        Self(password)
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// A token and when it is due.
#[derive(Clone)]
struct Issued {
    token: AccessToken,
    refresh_at: Instant,
    expires_at: Instant,
}

impl Issued {
    /// A token from a login sent at `sent` that lives `expires_in`.
    fn new(token: AccessToken, sent: Instant, expires_in: Duration) -> Self {
        let life = expires_in.saturating_sub(EXP_GRANULARITY);
        let margin = REFRESH_AHEAD.min(life / 2);
        Self {
            token,
            refresh_at: sent + (life - margin),
            expires_at: sent + life,
        }
    }
}

/// Signs one user in, again whenever the token is due.
pub(crate) struct Login {
    /// The client logins go through, without a token of its own.
    client: Client,
    email: String,
    password: Password,
    issued: Mutex<Option<Issued>>,
    /// Held by the one refresh in flight.
    refreshing: tokio::sync::Mutex<()>,
}

impl Login {
    /// Signs in as `email` through `client` (whose own token provider is not used).
    pub(crate) fn new(client: &Client, email: String, password: Password) -> Self {
        Self {
            client: client.without_tokens(),
            email,
            password,
            issued: Mutex::new(None),
            refreshing: tokio::sync::Mutex::new(()),
        }
    }

    /// A token that is not due, signing in first if needed.
    pub(crate) async fn token(&self) -> Result<AccessToken, Error> {
        let current = self.current();
        if let Some(issued) = current.as_ref().filter(|i| Instant::now() < i.refresh_at) {
            return Ok(issued.token.clone());
        }
        let still_valid = current.filter(|i| Instant::now() < i.expires_at);
        let _refreshing = match (self.refreshing.try_lock(), &still_valid) {
            (Ok(guard), _) => guard,
            // Someone is refreshing and the old token still works: no need to wait.
            (Err(_), Some(issued)) => return Ok(issued.token.clone()),
            (Err(_), None) => self.refreshing.lock().await,
        };
        // The refresh we waited for may have just finished.
        if let Some(issued) = self.current().filter(|i| Instant::now() < i.refresh_at) {
            return Ok(issued.token);
        }
        // Boxed: a login is a call, and calls ask token providers (not this one, whose
        // client has none, but the types cannot tell).
        match Box::pin(self.sign_in()).await {
            Ok(issued) => {
                *self.lock() = Some(issued.clone());
                Ok(issued.token)
            }
            // The old token still works; the next call that finds it due tries again.
            Err(error) => match still_valid.filter(|i| Instant::now() < i.expires_at) {
                Some(issued) => Ok(issued.token),
                None => Err(error),
            },
        }
    }

    /// Forgets `token` if it is the one kept: the server refused it.
    pub(crate) fn refused(&self, token: &str) {
        let mut issued = self.lock();
        if issued.as_ref().is_some_and(|i| i.token.secret() == token) {
            *issued = None;
        }
    }

    fn current(&self) -> Option<Issued> {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Issued>> {
        self.issued.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// One login, with the client's deadline and retries.
    async fn sign_in(&self) -> Result<Issued, Error> {
        let request = LoginRequest {
            email: self.email.clone(),
            password: self.password.0.clone(),
        };
        let sent = Instant::now();
        let answer = Caller::new(self.client.clone(), None)
            .unary(CallKind::Query, request, |channel, request| async move {
                SessionsClient::new(channel).login(request).await
            })
            .await?;
        if answer.access_token.is_empty() {
            return Err(Error::protocol("Login answered without an access token"));
        }
        Ok(Issued::new(
            AccessToken(answer.access_token),
            sent,
            Duration::from_secs(answer.expires_in),
        ))
    }
}

impl fmt::Debug for Login {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Login")
            .field("email", &self.email)
            .field("password", &self.password)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(expires_in: u64) -> (Duration, Duration) {
        let sent = Instant::now();
        let issued = Issued::new(
            AccessToken("t".into()),
            sent,
            Duration::from_secs(expires_in),
        );
        (issued.refresh_at - sent, issued.expires_at - sent)
    }

    #[test]
    fn tokens_are_replaced_a_minute_early_or_half_way_through_a_short_life() {
        // 15 minutes: due a minute before the (whole-second) expiry.
        assert_eq!(
            schedule(900),
            (Duration::from_secs(839), Duration::from_secs(899))
        );
        // 5 seconds: 4 left after rounding, due after 2.
        assert_eq!(
            schedule(5),
            (Duration::from_secs(2), Duration::from_secs(4))
        );
        // Nothing left: due at once, never kept.
        assert_eq!(schedule(1), (Duration::ZERO, Duration::ZERO));
        assert_eq!(schedule(0), (Duration::ZERO, Duration::ZERO));
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        assert_eq!(
            format!("{:?}", AccessToken("eyJ.secret".into())),
            "AccessToken(..)"
        );
        assert_eq!(
            format!("{:?}", Password::new("hunter22".into())),
            "[redacted]"
        );
    }
}
