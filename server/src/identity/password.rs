//! Turning passwords into argon2id hashes and checking them. Hashing is deliberately slow and
//! memory-hungry, so it runs on tokio's blocking pool behind a semaphore: a burst of
//! registrations queues instead of starving the async workers or exhausting memory.
//!
//! Secrets stay out of logs: [`Password`] and the domain's `PasswordHash` print as
//! `[redacted]`, and no error here carries either.

use std::{fmt, sync::Arc};

use argon2::{
    Algorithm, Argon2, Params, Version,
    password_hash::{
        self, PasswordHasher as _, PasswordVerifier as _, SaltString, rand_core::OsRng,
    },
};
use tokio::sync::Semaphore;

use super::values::{InvalidValue, PasswordHash};

/// Shortest accepted password (NIST SP 800-63B's minimum for user-chosen secrets).
pub const MIN_PASSWORD_LEN: usize = 8;
/// Longest accepted password: long enough for passphrases, short enough to bound hashing input.
pub const MAX_PASSWORD_LEN: usize = 1024;

/// A plaintext password on its way to the hasher. Not `Clone`, `Debug` is redacted, and there
/// is no `Display`, so it cannot be logged or copied by accident.
pub struct Password(String);

impl Password {
    /// Accepts 8 to 1024 characters, unmodified (no trimming: every character counts).
    pub fn new(raw: String) -> Result<Self, InvalidValue> {
        let len = raw.chars().count();
        if !(MIN_PASSWORD_LEN..=MAX_PASSWORD_LEN).contains(&len) {
            return Err(InvalidValue(format!(
                "must be {MIN_PASSWORD_LEN} to {MAX_PASSWORD_LEN} characters"
            )));
        }
        Ok(Self(raw))
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password([redacted])")
    }
}

/// Cost of one argon2id hash. Defaults are OWASP's recommendation (19 MiB, 2 passes, 1 lane);
/// tests may lower them, production should not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashCost {
    /// Memory per hash in KiB.
    pub memory_kib: u32,
    /// Passes over the memory.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl Default for HashCost {
    fn default() -> Self {
        Self {
            memory_kib: Params::DEFAULT_M_COST,
            iterations: Params::DEFAULT_T_COST,
            parallelism: Params::DEFAULT_P_COST,
        }
    }
}

/// Why hashing or verifying failed. Carries no secret.
#[derive(Debug, thiserror::Error)]
pub enum HashingError {
    /// The configured cost is outside what argon2 accepts.
    #[error("invalid argon2 parameters: {0}")]
    Params(String),
    /// The stored hash is not a PHC string this hasher can read.
    #[error("stored password hash is unreadable")]
    UnreadableHash,
    /// argon2 itself failed (e.g. could not allocate), or the blocking task was lost.
    #[error("password hashing failed: {0}")]
    Failed(String),
}

/// The password hashing service the identity context is given (argon2id, PHC strings).
#[derive(Clone)]
pub struct PasswordHashing {
    params: Params,
    permits: Arc<Semaphore>,
}

impl fmt::Debug for PasswordHashing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordHashing")
            .field("params", &self.params)
            .field("available_permits", &self.permits.available_permits())
            .finish()
    }
}

impl Default for PasswordHashing {
    fn default() -> Self {
        Self::new(HashCost::default()).expect("OWASP's argon2id parameters are valid")
    }
}

impl PasswordHashing {
    /// A hasher with `cost`, running at most as many hashes at once as there are CPUs.
    pub fn new(cost: HashCost) -> Result<Self, HashingError> {
        let params = Params::new(cost.memory_kib, cost.iterations, cost.parallelism, None)
            .map_err(|e| HashingError::Params(e.to_string()))?;
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        Ok(Self {
            params,
            permits: Arc::new(Semaphore::new(cpus)),
        })
    }

    /// The cheapest parameters argon2 accepts, for tests that hash many passwords. Never use
    /// it for real accounts.
    pub fn insecure_fast_for_tests() -> Self {
        Self::new(HashCost {
            memory_kib: Params::MIN_M_COST,
            iterations: Params::MIN_T_COST,
            parallelism: Params::MIN_P_COST,
        })
        .expect("argon2's minimum parameters are valid")
    }

    fn argon2(params: Params) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
    }

    /// An argon2id PHC hash of `password` with a fresh random salt.
    pub async fn hash(&self, password: Password) -> Result<PasswordHash, HashingError> {
        let params = self.params.clone();
        let phc = self
            .blocking(move || {
                let salt = SaltString::generate(&mut OsRng);
                Self::argon2(params)
                    .hash_password(password.0.as_bytes(), &salt)
                    .map(|hash| hash.to_string())
                    .map_err(|e| HashingError::Failed(e.to_string()))
            })
            .await?;
        PasswordHash::from_phc(phc).map_err(|e| HashingError::Failed(e.0))
    }

    /// Whether `password` matches `hash`, using the parameters recorded in the hash (so hashes
    /// made with older costs still verify). Constant-time comparison is argon2's.
    pub async fn verify(
        &self,
        password: Password,
        hash: &PasswordHash,
    ) -> Result<bool, HashingError> {
        let phc = hash.as_phc().to_owned();
        self.blocking(move || {
            let parsed =
                password_hash::PasswordHash::new(&phc).map_err(|_| HashingError::UnreadableHash)?;
            // A hash without salt or output would otherwise read as a mere mismatch.
            let argon2 = Algorithm::try_from(parsed.algorithm).is_ok();
            if !argon2 || parsed.salt.is_none() || parsed.hash.is_none() {
                return Err(HashingError::UnreadableHash);
            }
            match Argon2::default().verify_password(password.0.as_bytes(), &parsed) {
                Ok(()) => Ok(true),
                Err(password_hash::Error::Password) => Ok(false),
                Err(password_hash::Error::Algorithm | password_hash::Error::Version) => {
                    Err(HashingError::UnreadableHash)
                }
                Err(e) => Err(HashingError::Failed(e.to_string())),
            }
        })
        .await
    }

    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, HashingError> + Send + 'static,
    ) -> Result<T, HashingError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| HashingError::Failed("hasher shut down".into()))?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| HashingError::Failed(format!("hashing task lost: {e}")))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn password(raw: &str) -> Password {
        Password::new(raw.to_owned()).unwrap()
    }

    #[test]
    fn passwords_are_bounded_and_never_shown() {
        assert!(Password::new("1234567".into()).is_err());
        assert!(
            Password::new("ééééééé".into()).is_err(),
            "counts characters, not bytes"
        );
        assert!(Password::new("12345678".into()).is_ok());
        assert!(Password::new("x".repeat(1024)).is_ok());
        assert!(Password::new("x".repeat(1025)).is_err());
        let err = Password::new("hunter2".into()).unwrap_err().to_string();
        assert!(!err.contains("hunter2"), "{err}");
        assert_eq!(
            format!("{:?}", password("correct horse")),
            "Password([redacted])"
        );
    }

    #[test]
    fn defaults_are_owasp_argon2id() {
        let cost = HashCost::default();
        assert_eq!(
            (cost.memory_kib, cost.iterations, cost.parallelism),
            (19 * 1024, 2, 1)
        );
        assert!(
            PasswordHashing::new(HashCost {
                memory_kib: 1,
                ..cost
            })
            .is_err()
        );
    }

    #[tokio::test]
    async fn hashes_verify_and_salts_differ() {
        let hasher = PasswordHashing::default();
        let hash = hasher.hash(password("correct horse")).await.unwrap();
        assert!(hash.as_phc().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        let again = hasher.hash(password("correct horse")).await.unwrap();
        assert_ne!(hash, again, "a fresh salt per hash");
        assert!(
            hasher
                .verify(password("correct horse"), &hash)
                .await
                .unwrap()
        );
        assert!(
            !hasher
                .verify(password("battery staple"), &hash)
                .await
                .unwrap()
        );
        let fast = PasswordHashing::insecure_fast_for_tests();
        assert!(fast.verify(password("correct horse"), &hash).await.unwrap());
    }

    #[tokio::test]
    async fn an_unreadable_hash_is_an_error_not_a_mismatch() {
        let hasher = PasswordHashing::insecure_fast_for_tests();
        for phc in [
            "$nonsense",
            "$argon2id$v=19$m=8,t=1,p=1",
            "$md5$v=1$c2FsdHNhbHQ$aGFzaA",
        ] {
            let bogus = PasswordHash::from_phc(phc.into()).unwrap();
            assert!(
                matches!(
                    hasher.verify(password("correct horse"), &bogus).await,
                    Err(HashingError::UnreadableHash)
                ),
                "{phc}"
            );
        }
    }
}
